"""The digest preferences (the account page's e-mail section and its own page). The role
homes themselves are served by `programme.web.views.home` (endpoint `web.home`)."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from programme.errors import Invalid
from programme.extensions import db
from programme.home import digests
from programme.home.models import FREQUENCIES
from programme.web.htmx import render

bp = Blueprint("home", __name__)

# Offered in the time zone field (any IANA name is accepted).
COMMON_TIME_ZONES = (
    "Europe/Paris",
    "Europe/Brussels",
    "Europe/Luxembourg",
    "Europe/Zurich",
    "Europe/London",
    "Africa/Casablanca",
    "Africa/Tunis",
    "Africa/Algiers",
    "Africa/Dakar",
    "Africa/Abidjan",
    "America/Martinique",
    "America/Guadeloupe",
    "America/Cayenne",
    "America/Montreal",
    "Indian/Reunion",
    "Indian/Mayotte",
    "Pacific/Noumea",
    "Pacific/Tahiti",
    "UTC",
)


def digest_context(values: dict | None = None, errors: dict | None = None) -> dict:
    """What the digest section shows: the saved preference (or the values just posted),
    whether SMTP is configured, and the choices."""
    pref = digests.preference_for(db.session, current_user)
    if values is None:
        values = {
            "frequency": pref.frequency if pref else digests.OFF,
            "hour": pref.hour if pref else 7,
            "time_zone": pref.time_zone if pref else current_app.config["BABEL_DEFAULT_TIMEZONE"],
        }
    return {
        "digest": {
            "pref": pref,
            "form": values,
            "errors": errors or {},
            "mail_configured": digests.mail_configured(current_app),
            "frequencies": FREQUENCIES,
            "time_zones": COMMON_TIME_ZONES,
        }
    }


@bp.app_context_processor
def _digest_section():
    # The account page (auth/account.html) includes home/_digest_preferences.html, which
    # calls this to read the person's preference only when it is shown.
    return {"digest_section": lambda: digest_context()["digest"]}


@bp.get("/account/digest")
@login_required
def digest_settings():
    return render("home/digest_settings.html", **digest_context())


@bp.post("/account/digest")
@login_required
def digest_save():
    values = {
        "frequency": request.form.get("frequency", ""),
        "hour": request.form.get("hour", ""),
        "time_zone": request.form.get("time_zone", ""),
    }
    try:
        pref = digests.save_preference(
            db.session, current_user, values["frequency"], values["hour"], values["time_zone"]
        )
    except Invalid as invalid:
        db.session.rollback()
        errors = {e.field: e.message for e in invalid.errors}
        return render("home/digest_settings.html", status=422, **digest_context(values, errors))
    db.session.commit()
    if pref is None:
        flash(_("You will no longer receive the e-mail digest."), "info")
    else:
        flash(
            _(
                "Digest saved: %(frequency)s at %(hour)d:00 (%(zone)s).",
                frequency=pref.frequency_phrase,
                hour=pref.hour,
                zone=pref.time_zone,
            ),
            "info",
        )
    return redirect(url_for("home.digest_settings"))
