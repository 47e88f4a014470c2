"""Numbers formatted in the reader's locale, shared by templates and services."""

from __future__ import annotations

from flask_babel import format_percent


def signed_percent(value: float | None) -> str:
    """A signed share: "-22%" in English, "-22 %" in French; "—" when unknown."""
    if value is None:
        return "—"
    sign = "+" if value > 0 else "-" if value < 0 else ""
    return sign + format_percent(abs(value))
