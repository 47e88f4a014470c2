"""Numbers formatted in the reader's locale, shared by templates and services."""

from __future__ import annotations

from flask_babel import format_percent, get_locale


def signed_percent(value: float | None) -> str:
    """A signed share: "-22%" in English, "-22 %" in French; "—" when unknown."""
    if value is None:
        return "—"
    sign = "+" if value > 0 else "-" if value < 0 else ""
    return sign + percent_spacing(format_percent(abs(value)), str(get_locale() or ""))


def percent_spacing(text: str, locale: str) -> str:
    """French typography: a narrow no-break space before "%" (CLDR may give a wide one)."""
    if locale.startswith("fr"):
        return text.replace("\xa0%", "\u202f%").replace(" %", "\u202f%")
    return text
