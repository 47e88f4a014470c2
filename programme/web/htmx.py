"""Request-aware rendering: the full page normally, only the fragment for htmx."""

from __future__ import annotations

from flask import render_template, request


def is_htmx() -> bool:
    return request.headers.get("HX-Request") == "true" and not request.headers.get("HX-Boosted")


def render(template: str, fragment: str | None = None, status: int = 200, **context):
    """Render `fragment` alone for an htmx request, else the full `template` (which
    includes the fragment, so each piece of markup has one source)."""
    chosen = fragment if fragment and is_htmx() else template
    return render_template(chosen, **context), status
