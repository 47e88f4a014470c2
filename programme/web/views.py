"""Each role's home page and the health check."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, current_app, jsonify
from flask_login import current_user

from programme.auth.permissions import require
from programme.extensions import db, limiter
from programme.network import queries as network_queries
from programme.network.models import SITE_TYPES
from programme.web.health import readiness
from programme.web.htmx import render

bp = Blueprint("web", __name__)

HOME_CAMPAIGNS = 5  # the latest diagnostic campaigns a home lists


@bp.get("/")
@require("view_home")
def home():
    """The role's home: what needs the person today (programme/home), then the network."""
    from programme.home import services as home_services

    if current_user.role == "executive":
        # Whole network: the summary and campaigns come cached (plain data).
        from programme.reports.screens.home import home_sections

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
        from programme.reports.dashboard import dashboard

        glance = dashboard(db.session, current_user, None, date.today())
    today = home_services.today(db.session, current_user, date.today())
    return render(
        f"home/{current_user.role}.html",
        summary=summary,
        site_types=SITE_TYPES,
        my_sites=my_sites,
        home_campaigns=campaigns,
        **today,
        **glance,
    )


@bp.get("/healthz")
@limiter.exempt
def healthz():
    """The process answers (no database access: a database outage must not get every
    app server restarted; /readyz reports it)."""
    return jsonify({"status": "ok"})


@bp.get("/readyz")
@limiter.exempt
def readyz():
    """200 when the database, its migrations and Redis (when configured) are fine, else
    503 naming what failed."""
    result = readiness(current_app)
    return jsonify(result), 200 if result["status"] == "ok" else 503
