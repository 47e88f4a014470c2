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


def _json_object():
    """The body as one JSON object, or a 4xx response."""
    data = request.get_json(silent=True)
    if data is None:
        return None, _error(400, _("The body is not valid JSON."))
    if not isinstance(data, dict):
        return None, _invalid(
            [{"index": None, "field": "body", "message": _("The body must be a JSON object.")}]
        )
    return data, None


def _body_dates(data: dict, names: tuple[str, ...], field_error) -> dict[str, date | None]:
    """ISO dates of an object body; a present but unreadable one is a field error."""
    dates: dict[str, date | None] = {}
    for name in names:
        raw = data.get(name)
        try:
            dates[name] = date.fromisoformat(raw) if isinstance(raw, str) else None
        except ValueError:
            dates[name] = None
        if dates[name] is None and raw is not None:
            field_error(name, _("Use a date like 2026-01-31."))
    return dates


def _site_codes(data: dict, name: str, field_error) -> list[str]:
    value = data.get(name) or []
    if not isinstance(value, list) or not all(isinstance(c, str) for c in value):
        field_error(name, _("A list of site codes."))
        return []
    return [c.strip().upper() for c in value if c.strip()]


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


# --- pilots ---------------------------------------------------------------------------------------


def _pilot_dict(pilot) -> dict:
    return {
        "id": pilot.id,
        "name": pilot.name,
        "stage": pilot.stage,
        "baseline_start": pilot.baseline_start.isoformat(),
        "baseline_end": pilot.baseline_end.isoformat(),
        "pilot_start": pilot.pilot_start.isoformat(),
        "pilot_end": pilot.pilot_end.isoformat(),
        "pilot_sites": [ps.site.code for ps in pilot.sites if ps.arm == "pilot"],
        "control_sites": [ps.site.code for ps in pilot.sites if ps.arm == "control"],
        "kpis": [{"kpi": pk.kpi.code, "target_relative": pk.target_relative} for pk in pilot.kpis],
        "improvements": [
            {"title": i.title, "description": i.description} for i in pilot.improvements
        ],
        "supporting_functions": list(pilot.supporting_functions),
        "decision": (
            {
                "decision": pilot.decision.decision,
                "reason": pilot.decision.reason,
                "decided_on": pilot.decision.decided_on.isoformat(),
                "decided_by": pilot.decision.decided_by,
            }
            if pilot.decision
            else None
        ),
        "package": pilot.package.id if pilot.package else None,
        **_pilots_randomization(pilot),
    }


def _pilots_randomization(pilot) -> dict:
    from programme.pilots.services import randomization_dict

    return randomization_dict(pilot)


def _pilot_or_error(pilot_id: int):
    from programme.auth.permissions import may_see_pilot
    from programme.pilots.models import Pilot

    pilot = db.session.get(Pilot, pilot_id)
    if pilot is None:
        return None, _error(404, _("No such pilot."))
    if not can(g.api_user, "view_pilots") or not may_see_pilot(g.api_user, pilot):
        return None, _error(403, _("You may not see this pilot."))
    return pilot, None


@bp.post("/pilots")
def pilots_post():
    from programme.pilots import services as pilots

    user = g.api_user
    if not can(user, "create_pilots"):
        return _error(403, _("Your role may not create pilots."))
    data, problem = _json_object()
    if problem is not None:
        return problem
    errors: list[dict] = []

    def field_error(name: str, message: str) -> None:
        errors.append({"index": None, "field": name, "message": message})

    dates = _body_dates(
        data, ("baseline_start", "baseline_end", "pilot_start", "pilot_end"), field_error
    )

    kpis: list[tuple[str, float | None]] = []
    raw_kpis = data.get("kpis") or []
    if not isinstance(raw_kpis, list):
        field_error("kpis", _("A list of {kpi, target_relative} objects."))
        raw_kpis = []
    for entry in raw_kpis:
        target = entry.get("target_relative") if isinstance(entry, dict) else None
        if (
            not isinstance(entry, dict)
            or not isinstance(entry.get("kpi"), str)
            or (target is not None and not isinstance(target, int | float))
        ):
            field_error("kpis", _("A list of {kpi, target_relative} objects."))
            continue
        kpis.append((entry["kpi"].strip().upper(), float(target) if target is not None else None))
    design = pilots.Design(
        name=data.get("name") if isinstance(data.get("name"), str) else "",
        pilot_sites=_site_codes(data, "pilot_sites", field_error),
        control_sites=_site_codes(data, "control_sites", field_error),
        kpis=kpis,
        description=data.get("description") if isinstance(data.get("description"), str) else None,
        **dates,
    )
    drawn = True
    if data.get("randomize") is True:  # arms drawn by matched pairs from candidate_sites
        try:
            pilots.randomize_design(
                db.session, design, data.get("candidate_sites"), data.get("seed")
            )
        except pilots.PilotInvalid as invalid:
            drawn = False
            for name, messages in invalid.errors.items():
                for message in messages:
                    field_error(name, message)
    try:
        pilots.validate(db.session, design)
    except pilots.PilotInvalid as invalid:
        for name, messages in invalid.errors.items():
            for message in messages:
                if not (name in dates and dates[name] is None and data.get(name) is not None) and (
                    drawn or name not in ("pilot_sites", "control_sites")
                ):
                    field_error(name, message)
    if errors:
        return _invalid(errors)
    with acting_as(user.email, user.id):
        pilot = pilots.save_pilot(db.session, design, user=user)
        db.session.commit()
    response = jsonify(_pilot_dict(pilot))
    response.status_code = 201
    response.headers["Location"] = url_for("api.pilot_get", pilot_id=pilot.id)
    return response


@bp.get("/pilots/<int:pilot_id>")
def pilot_get(pilot_id: int):
    pilot, problem = _pilot_or_error(pilot_id)
    if problem is not None:
        return problem
    return jsonify(_pilot_dict(pilot))


@bp.get("/pilots/<int:pilot_id>/results")
def pilot_results(pilot_id: int):
    from programme.pilots import services as pilots

    pilot, problem = _pilot_or_error(pilot_id)
    if problem is not None:
        return problem
    results = pilots.pilot_results(db.session, pilot)
    return jsonify({"pilot": pilot.id, "results": [r.as_api() for r in results]})


# --- deployment (issue 7) -----------------------------------------------------------------------


def _wave_dict(wave, progress: float, user) -> dict:
    from programme.auth.permissions import may_see_site

    return {
        "id": wave.id,
        "name": wave.name,
        "package": wave.package_id,
        "start": wave.start.isoformat(),
        "go_live": wave.go_live.isoformat(),
        "status": wave.status,
        "sites": sorted(ws.site.code for ws in wave.sites if may_see_site(user, ws.site)),
        "progress": progress,
    }


@bp.get("/packages")
def packages():
    from programme.pilots.models import Package

    if not can(g.api_user, "view_deployment"):
        return _error(403, _("You may not see the packages."))
    rows = db.session.scalars(
        select(Package).options(joinedload(Package.elements)).order_by(Package.name)
    ).unique()
    return jsonify(
        [
            {
                "id": p.id,
                "name": p.name,
                "elements": [{"id": e.id, "name": e.title, "kind": e.kind} for e in p.elements],
            }
            for p in rows
        ]
    )


@bp.get("/waves")
def waves():
    from programme.deployment import services as deployment
    from programme.deployment.models import Wave

    if not can(g.api_user, "view_deployment"):
        return _error(403, _("You may not see the waves."))
    rows = list(db.session.scalars(select(Wave).order_by(Wave.start, Wave.id)))
    progress = deployment.wave_progress(db.session)
    return jsonify([_wave_dict(w, progress.get(w.id, 0.0), g.api_user) for w in rows])


@bp.get("/waves/<int:wave_id>")
def wave_get(wave_id: int):
    from programme.deployment import services as deployment
    from programme.deployment.models import Wave

    wave = db.session.get(Wave, wave_id)
    if wave is None:
        return _error(404, _("No such wave."))
    if not can(g.api_user, "view_deployment"):
        return _error(403, _("You may not see the waves."))
    progress = deployment.wave_progress(db.session, [wave.id]).get(wave.id, 0.0)
    return jsonify(_wave_dict(wave, progress, g.api_user))


@bp.post("/waves")
def waves_post():
    from programme.deployment import services as deployment

    user = g.api_user
    if not can(user, "plan_waves"):
        return _error(403, _("Only the programme office may plan waves."))
    data, problem = _json_object()
    if problem is not None:
        return problem
    errors: list[dict] = []

    def field_error(name: str, message: str) -> None:
        errors.append({"index": None, "field": name, "message": message})

    dates = _body_dates(data, ("start", "go_live"), field_error)
    codes = _site_codes(data, "sites", field_error)
    package = data.get("package")
    if package is not None and (not isinstance(package, int) or isinstance(package, bool)):
        field_error("package", _("The package's id (an integer)."))
        package = None
    plan = deployment.WavePlan(
        name=data.get("name") if isinstance(data.get("name"), str) else "",
        package_id=package,
        site_codes=codes,
        **dates,
    )
    try:
        deployment.validate_wave(db.session, plan)
    except deployment.DeploymentInvalid as invalid:
        for name, messages in invalid.errors.items():
            for message in messages:
                if not (name in dates and dates[name] is None and data.get(name) is not None):
                    field_error(name, message)
    if errors:
        return _invalid(errors)
    with acting_as(user.email, user.id):
        wave = deployment.save_wave(db.session, plan)
        db.session.commit()
    response = jsonify(_wave_dict(wave, 0.0, user))
    response.status_code = 201
    response.headers["Location"] = url_for("api.wave_get", wave_id=wave.id)
    return response


@bp.get("/sites/<code>/progress")
def site_progress(code: str):
    from programme.auth.permissions import may_see_site
    from programme.deployment import services as deployment

    site = db.session.scalar(select(Site).where(Site.code == code.strip().upper()))
    if site is None:
        return _error(404, _("No such site."))
    if not can(g.api_user, "view_deployment") or not may_see_site(g.api_user, site):
        return _error(403, _("You may not see this site."))
    wave = deployment.active_wave_of_site(db.session, site.id)
    items = deployment.site_items(db.session, wave.id, site.id) if wave is not None else []
    return jsonify(
        {
            "site": site.code,
            "wave": wave.id if wave is not None else None,
            "progress": (
                deployment.site_progress(db.session, wave.id).get(site.id, 0.0)
                if wave is not None
                else None
            ),
            "items": [
                {
                    "element": i.element_id,
                    "name": i.element.title,
                    "kind": i.element.kind,
                    "state": i.state,
                    "state_on": i.state_on.isoformat() if i.state_on else None,
                    "updated_by": i.updated_by,
                    "evidence": i.evidence,
                }
                for i in items
            ],
        }
    )


# --- deployment impact (issue 8) ----------------------------------------------------------------


@bp.get("/impact")
def impact():
    """The package's deployment impact on one KPI (see programme/reports/impact.py)."""
    from programme.reports import impact as estimator

    if not can(g.api_user, "view_impact"):
        return _error(403, _("You may not see the deployment impact."))
    errors: list[dict] = []

    def field_error(name: str, message: str) -> None:
        errors.append({"index": None, "field": name, "message": message})

    kpi_code = (request.args.get("kpi") or "").strip()
    if not kpi_code:
        field_error("kpi", _("Give the KPI code, e.g. ?kpi=WAIT."))
    window = estimator.DEFAULT_WINDOW_WEEKS
    try:
        window = estimator.parse_window(request.args.get("window_weeks"))
    except estimator.ImpactInvalid as invalid:
        for name, message in invalid.errors.items():
            field_error(name, message)
    package_id = None
    raw_package = (request.args.get("package") or "").strip()
    if raw_package:
        if raw_package.isdigit():
            package_id = int(raw_package)
        else:
            field_error("package", _("The package's id (an integer)."))
    if errors:
        return _invalid(errors)
    try:
        result = estimator.compute_impact(
            db.session, kpi_code, package_id, window, with_regions=False, with_chart=False
        )
    except estimator.ImpactInvalid as invalid:
        return _invalid(
            [{"index": None, "field": name, "message": m} for name, m in invalid.errors.items()]
        )
    return jsonify(result.as_api())
