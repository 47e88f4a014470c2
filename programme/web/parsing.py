"""Reading numbers and dates typed in forms or carried in query strings: one definition,
used by every view. Anything unreadable is None (the view decides what that means)."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import request

INT32_MAX = 2**31 - 1  # the database's integer columns


def parse_int(text: Any) -> int | None:
    """A whole number (surrounding spaces allowed) in the database's integer range."""
    try:
        value = int(str(text).strip())
    except (TypeError, ValueError):
        return None
    return value if -INT32_MAX - 1 <= value <= INT32_MAX else None


def int_arg(name: str) -> int | None:
    """An id carried in the query string: a positive whole number, else None."""
    value = parse_int(request.args.get(name))
    return value if value is not None and value > 0 else None


def parse_date(text: Any, years: tuple[int, int] | None = None) -> date | None:
    """An ISO date (2026-03-02); with `years`, only one between those years (inclusive)."""
    try:
        value = date.fromisoformat(str(text or "").strip())
    except ValueError:
        return None
    if years is not None and not years[0] <= value.year <= years[1]:
        return None
    return value


def date_arg(name: str, years: tuple[int, int] | None = None) -> date | None:
    """An ISO date carried in the query string, else None."""
    return parse_date(request.args.get(name), years)
