"""Each role's home page (`/`, endpoint `home.index`) and the digest preferences (the
account page's e-mail section and its own page)."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from programme.auth.permissions import require
from programme.errors import Invalid
from programme.extensions import db
from programme.home import digests
from programme.home import services as home_services
from programme.home.models import FREQUENCIES
from programme.network import queries as network_queries
from programme.network.models import SITE_TYPES
from programme.reports import value_screens
from programme.reports.dashboard import dashboard
from programme.reports.impact import sort_key
from programme.reports.screens.home import home_sections
from programme.value import queries as value_queries
from programme.value import services as value_services
from programme.web import page_cache
from programme.web.htmx import render

bp = Blueprint("home", __name__)

HOME_CAMPAIGNS = 5  # the latest diagnostic campaigns a home lists


@bp.get("/")
@require("view_home")
def index():
    """The role's home: what needs the person today (`home.services.today`), then the
    network. Kept a few seconds per person; their own writes show at once (`page_cache`)."""
    return page_cache.page(current_user, _home_page)


def _home_page() -> str:
    if current_user.role == "executive":
        # Whole network: the summary and campaigns come cached (plain data).
        cached = home_sections(db.session, current_user)
        summary = cached["summary"]
        campaigns = cached["campaigns"][:HOME_CAMPAIGNS]
    else:
        summary = network_queries.network_summary(db.session, current_user)
        campaigns = home_services.visible_campaigns(db.session, current_user, HOME_CAMPAIGNS)
    my_sites = []
    if current_user.role == "site_manager":
        my_sites = network_queries.visible_sites(db.session, current_user, limit=50)
    glance = {}
    if current_user.role == "executive":
        # The executive's home is the programme at a glance (the same partials as /reports/).
        glance = dashboard(db.session, current_user, None, date.today())
    today = home_services.today(db.session, current_user, date.today())
    return render_template(
        f"home/{current_user.role}.html",
        summary=summary,
        site_types=SITE_TYPES,
        my_sites=my_sites,
        home_campaigns=campaigns,
        value_to_date=_value_to_date,
        value_gates=_value_gates,
        **today,
        **glance,
    )


# Computed only when the role's template shows them (value/_to_date.html, value/_gates.html).
def _value_to_date() -> dict | None:
    """The value line of the executive and finance homes (None before any value driver)."""
    if not value_screens.has_drivers(db.session):
        return None
    return value_screens.to_date(db.session, today=date.today())


def _value_gates() -> list:
    """Finance's home: every package with its current stage gate."""
    packages = sorted(value_queries.packages(db.session), key=lambda p: sort_key(p.name))
    return [(p, value_services.current_gate(db.session, p.id)) for p in packages]


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
