"""Language and time zone of the person looking at the screen."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import current_app, has_request_context, request, session
from flask_login import current_user


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():  # a CLI command, a job: the default language
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    if current_user and current_user.is_authenticated and current_user.language in languages:
        return current_user.language
    chosen = session.get("language")
    if chosen in languages:
        return chosen
    return (
        request.accept_languages.best_match(languages) or current_app.config["BABEL_DEFAULT_LOCALE"]
    )


def select_timezone() -> str:
    return current_app.config["BABEL_DEFAULT_TIMEZONE"]


def reader_zone() -> ZoneInfo:
    """The reader's time zone as a `ZoneInfo`, to turn the reader's days into instants.

    Flask-Babel's `get_timezone()` gives a pytz zone when pytz is installed, and
    `datetime.combine(day, time(), pytz_zone)` takes that zone's first offset in
    history (Paris: +00:09, local mean time), which moves every day's start by
    51 minutes. A `ZoneInfo` gives the offset in force on that day.
    """
    return ZoneInfo(select_timezone())
