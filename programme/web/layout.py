"""What every page's layout needs: formatting filters, the htmx flag, the language. The
navigation per role and the labels of roles and channels are `programme.home.navigation`."""

from __future__ import annotations

import os
import re
from datetime import date, datetime
from functools import lru_cache

from flask import Flask
from flask_babel import format_date, format_datetime, format_decimal, format_percent, get_locale
from jinja2 import FileSystemBytecodeCache

from programme.web.formatting import percent_spacing, signed_percent
from programme.web.htmx import is_htmx


# Babel formatting is slow (≈ 50 µs a call) and report pages format hundreds of dates and
# numbers; the same (value, format, locale) always gives the same text, so remember it.
@lru_cache(maxsize=8192)
def _format_day(value: date, fmt: str, locale: str) -> str:
    return format_date(value, fmt)


@lru_cache(maxsize=8192)
def _format_decimal(value, fmt, locale: str) -> str:
    return format_decimal(value, fmt)


@lru_cache(maxsize=8192)
def _format_percent(value, fmt, locale: str) -> str:
    return percent_spacing(format_percent(value, _percent_pattern(fmt, locale)), locale)


def _percent_pattern(fmt, locale: str):
    """A pattern's sign spacing follows the language, whatever the template wrote: "48.2%"
    in English, "48,2 %" (narrow no-break space) in French, never split across lines."""
    if fmt is None:
        return None
    bare = fmt.replace("\u202f%", "%").replace("\xa0%", "%").replace(" %", "%")
    return bare.replace("%", "\u202f%") if locale.startswith("fr") else bare


def _date_filter(value, fmt="medium") -> str:
    if not value:
        return ""
    if isinstance(value, date) and not isinstance(value, datetime):
        return _format_day(value, fmt, str(get_locale()))
    return format_date(value, fmt)


_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _stored_value(value):
    """A value as stored (the audit trail): an ISO day reads as a date of the user's locale."""
    if isinstance(value, str) and _ISO_DAY.match(value):
        try:
            return _date_filter(date.fromisoformat(value))
        except ValueError:
            return value
    return value


def register_layout(app: Flask) -> None:
    # Compiled templates are kept in instance/jinja-cache and shared by every worker: a
    # fresh gunicorn worker loads them instead of compiling (≈ 50–80 ms on its first pages).
    folder = app.config.get("JINJA_BYTECODE_CACHE", os.path.join(app.instance_path, "jinja-cache"))
    if folder:
        try:
            os.makedirs(folder, exist_ok=True)
            app.jinja_env.bytecode_cache = FileSystemBytecodeCache(folder)
        except OSError:  # a read-only instance folder: templates are compiled per worker
            pass

    @app.context_processor
    def _layout():
        return {"is_htmx": is_htmx, "current_locale": lambda: str(get_locale() or "fr")}

    app.jinja_env.filters["date"] = _date_filter
    app.jinja_env.filters["stored_value"] = _stored_value
    app.jinja_env.filters["datetime"] = lambda value, fmt="medium": (
        format_datetime(value, fmt) if value else ""
    )
    app.jinja_env.filters["number"] = lambda value, fmt=None: (
        _format_decimal(value, fmt, str(get_locale())) if value is not None else "—"
    )
    app.jinja_env.filters["signed_percent"] = signed_percent
    app.jinja_env.filters["percent"] = lambda value, fmt=None: (
        _format_percent(value, fmt, str(get_locale())) if value is not None else "—"
    )
