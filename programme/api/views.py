"""/api/v1: JSON for systems that push measurements and sync the network.

Bearer tokens only (no session cookie, no CSRF); the same permission rules as the
screens; every error is JSON: 401 {"error"}, 403 {"error"[, "errors"]}, 413 {"error"},
422 {"errors": [{"index", "field", "message"}]} with nothing written."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, current_app, g, jsonify, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.orm import joinedload

from programme.api import tokens
from programme.api.models import ApiToken
from programme.api.openapi import openapi_document
from programme.audit import acting_as
from programme.auth.permissions import can, filter_sites
from programme.database import utcnow
from programme.extensions import db
from programme.kpis.intake import IntakeRejected, ingest, records_frame
from programme.kpis.models import Kpi, Measurement
from programme.network.models import Site
from programme.network.services import ValidationFailed, upsert_sites

bp = Blueprint("api", __name__, url_prefix="/api/v1")

MAX_ITEMS = 10_000
PAGE_SIZE = 500
MAX_PAGE_SIZE = 5000


def _error(status: int, message: str, **extra):
    response = jsonify({"error": message, **extra})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="programme"'
    return response


def _invalid(errors: list[dict]):
    response = jsonify({"errors": errors})
    response.status_code = 422
    return response


@bp.before_request
def _authenticate():
    if request.endpoint == "api.openapi":
        return None
    limit = current_app.config.get("API_MAX_BODY_BYTES", 5 * 1024 * 1024)
    if (request.content_length or 0) > limit:
        return _error(413, _("The body is larger than %(mb)s MB.", mb=limit // (1024 * 1024)))
    request.max_content_length = limit
    scheme, _sep, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return _error(401, _("Send a valid API token: Authorization: Bearer <token>."))
    user, row = tokens.user_for_token(db.session, token.strip())
    if user is None:
        return _error(401, _("This API token is not valid (unknown, revoked or disabled)."))
    db.session.execute(update(ApiToken).where(ApiToken.id == row.id).values(last_used_at=utcnow()))
    db.session.commit()
    g.api_user, g.api_client = user, row.name
    return None


def _json_list(max_items: int = MAX_ITEMS):
    """The body as a list of objects, or a 4xx response."""
    data = request.get_json(silent=True)
    if data is None:
        return None, _error(400, _("The body is not valid JSON."))
    if not isinstance(data, list):
        return None, _invalid(
            [{"index": None, "field": "body", "message": _("The body must be a JSON list.")}]
        )
    if len(data) > max_items:
        return None, _error(
            413, _("At most %(n)d items per request; split the batch.", n=max_items)
        )
    bad = [
        {"index": i, "field": "item", "message": _("Each item must be a JSON object.")}
        for i, item in enumerate(data)
        if not isinstance(item, dict)
    ]
    if bad:
        return None, _invalid(bad)
    return data, None


# --- KPIs and sites ---------------------------------------------------------------------------


@bp.get("/kpis")
def kpis():
    rows = db.session.scalars(select(Kpi).order_by(Kpi.code))
    return jsonify([k.as_dict() for k in rows])


def _site_dict(site: Site) -> dict:
    return {
        "code": site.code,
        "name": site.name,
        "region": site.region.name,
        "type": site.type,
        "country": site.country,
        "city": site.city,
        "operator": site.operator,
        "provider": site.provider,
    }


@bp.get("/sites")
def sites():
    stmt = filter_sites(select(Site).options(joinedload(Site.region)), g.api_user)
    return jsonify([_site_dict(s) for s in db.session.scalars(stmt.order_by(Site.code))])


@bp.post("/sites")
def sites_upsert():
    if not can(g.api_user, "sync_sites_api"):
        return _error(403, _("Only the programme office may change the network."))
    items, problem = _json_list()
    if problem is not None:
        return problem
    with acting_as(f"api:{g.api_user.email}", g.api_user.id):
        try:
            result = upsert_sites(db.session, list(enumerate(items)), source=f"api:{g.api_client}")
            db.session.commit()
        except ValidationFailed as failure:
            db.session.rollback()
            return _invalid(
                [{"index": e.row, "field": e.field, "message": e.message} for e in failure.errors]
            )
    response = jsonify(result.as_dict())
    response.status_code = 201
    return response


# --- measurements -------------------------------------------------------------------------------


@bp.post("/measurements")
def measurements_post():
    user = g.api_user
    if not can(user, "write_measurements"):
        return _error(403, _("Your role may not enter measurements."))
    items, problem = _json_list()
    if problem is not None:
        return problem
    with acting_as(user.email, user.id):
        try:
            result = ingest(
                db.session,
                user,
                [records_frame(items)],
                default_source=g.api_client,
                label=f"api:{g.api_client}",
            )
            db.session.commit()
        except IntakeRejected as rejected:
            db.session.rollback()
            errors = [e.as_dict("index") for e in rejected.errors]
            if rejected.permission_only:
                denied = [e.as_dict("index") for e in rejected.errors if e.permission]
                return _error(
                    403, _("You may not enter measurements for some of these sites."), errors=denied
                )
            return _invalid(errors)
    response = jsonify(
        {"created": result.created, "unchanged": result.unchanged, "corrected": result.corrected}
    )
    response.status_code = 201
    return response


def _date_arg(name: str, errors: list) -> date | None:
    raw = request.args.get(name)
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        errors.append({"index": None, "field": name, "message": _("Use YYYY-MM-DD.")})
        return None


@bp.get("/measurements")
def measurements_get():
    errors: list[dict] = []
    start, end = _date_arg("from", errors), _date_arg("to", errors)
    try:
        limit = int(request.args.get("limit", PAGE_SIZE))
        after = int(request.args.get("after", 0))
        if not 1 <= limit <= MAX_PAGE_SIZE or after < 0:
            raise ValueError
    except ValueError:
        errors.append(
            {
                "index": None,
                "field": "limit",
                "message": _("limit: 1 to %(max)d; after: a measurement id.", max=MAX_PAGE_SIZE),
            }
        )
        limit, after = PAGE_SIZE, 0
    stmt = (
        select(Measurement, Site.code, Kpi.code)
        .join(Site, Site.id == Measurement.site_id)
        .join(Kpi, Kpi.id == Measurement.kpi_id)
    )
    site_code = request.args.get("site")
    if site_code:
        site = db.session.scalar(select(Site).where(Site.code == site_code.strip().upper()))
        if site is None:
            errors.append({"index": None, "field": "site", "message": _("Unknown site code.")})
        else:
            stmt = stmt.where(Measurement.site_id == site.id)
    kpi_code = request.args.get("kpi")
    if kpi_code:
        kpi = db.session.scalar(select(Kpi).where(Kpi.code == kpi_code.strip().upper()))
        if kpi is None:
            errors.append({"index": None, "field": "kpi", "message": _("Unknown KPI code.")})
        else:
            stmt = stmt.where(Measurement.kpi_id == kpi.id)
    if errors:
        return _invalid(errors)
    if start:
        stmt = stmt.where(Measurement.period_date >= start)
    if end:
        stmt = stmt.where(Measurement.period_date <= end)
    visible = filter_sites(select(Site.id), g.api_user)
    if visible is not None:
        stmt = stmt.where(Measurement.site_id.in_(visible.scalar_subquery()))
    rows = db.session.execute(
        stmt.where(Measurement.id > after).order_by(Measurement.id).limit(limit + 1)
    ).all()
    items = [
        {
            "id": m.id,
            "site": site,
            "kpi": kpi,
            "date": m.period_date.isoformat(),
            "value": m.value,
            "n": m.n,
            "source": m.source,
            "revision": m.revision,
            "entered_at": m.entered_at.isoformat() if m.entered_at else None,
        }
        for m, site, kpi in rows[:limit]
    ]
    next_url = None
    if len(rows) > limit:
        args = {k: v for k, v in request.args.items() if k != "after"}
        next_url = url_for("api.measurements_get", after=items[-1]["id"], _external=True, **args)
    return jsonify({"items": items, "next": next_url})


@bp.get("/openapi.json")
def openapi():
    return jsonify(
        openapi_document(MAX_ITEMS, current_app.config.get("API_MAX_BODY_BYTES", 5 * 1024 * 1024))
    )
