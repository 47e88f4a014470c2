"""Liveness and readiness endpoints (the role homes are `programme.home.views`)."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from programme.extensions import limiter
from programme.web.health import readiness

bp = Blueprint("web", __name__)


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
