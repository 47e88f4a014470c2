"""/api/v1: JSON for systems that push measurements and sync the network.

Bearer tokens only (no session cookie, no CSRF); the same permission rules as the
screens. Each route declares its contract with `@operation` (programme/api/spec.py):
bodies and query strings are validated against the pydantic models of
programme/api/schemas.py, which also make the OpenAPI document. Every error is JSON:
401 {"error"}, 403 {"error"[, "errors"]}, 400/404/413/415/429 {"error"},
422 {"errors": [{"index", "field", "message"}]} with nothing written. Each token, and
each address calling without a valid token, is rate limited (429 with Retry-After)."""

from __future__ import annotations

import time
from datetime import UTC, timedelta

from flask import Blueprint, current_app, g, jsonify, request, url_for
from flask_babel import gettext as _
from flask_limiter import RateLimitExceeded
from flask_limiter.util import get_remote_address
from sqlalchemy import or_, select, update
from sqlalchemy.orm import joinedload

from programme.api import schemas as s
from programme.api import tokens
from programme.api.models import ApiToken
from programme.api.openapi import openapi_document
from programme.api.spec import (
    ApiProblem,
    check_declared_length,
    error_response,
    invalid_response,
    json_body,
    operation,
    query_args,
)
from programme.audit import acting_as
from programme.auth.permissions import can
from programme.database import utcnow
from programme.errors import Invalid
from programme.extensions import db, limiter
from programme.kpis.intake import IntakeRejected, ingest, records_frame
from programme.kpis.models import Kpi, Measurement
from programme.network.access import filter_sites
from programme.network.models import Site
from programme.network.services import upsert_sites

bp = Blueprint("api", __name__, url_prefix="/api/v1")

MAX_ITEMS = s.MAX_ITEMS
PAGE_SIZE = s.PAGE_SIZE
MAX_PAGE_SIZE = s.MAX_PAGE_SIZE
DEFAULT_RATE_LIMIT = "600 per minute"
DEFAULT_ANONYMOUS_RATE_LIMIT = "60 per minute"

FORBIDDEN = (s.Error, "Authenticated, but the token's user may not do this.")


def _error(status: int, message: str, **extra):
    return error_response(status, message, **extra)


def _invalid(errors: list[dict] | Invalid):
    return invalid_response(errors)


# --- authentication and rate limits ------------------------------------------------------------


def _token_identity():
    """(user, token row) behind the request's bearer token, or (None, None); once a request."""
    identity = getattr(request, "api_identity", None)
    if identity is None:
        user = row = None
        scheme, _sep, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            user, row = tokens.user_for_token(db.session, token.strip())
        identity = request.api_identity = (user, row)
    return identity


def _token_key() -> str:
    _user, row = _token_identity()
    return f"token:{row.id}" if row is not None else "none"


def _without_valid_token() -> bool:
    return _token_identity()[0] is None


def _with_valid_token() -> bool:
    return _token_identity()[0] is not None


# One budget per token for the whole API, and one per address for calls without a valid
# token (so guessing tokens is throttled too). Storage: the shared limiter's (Redis when set).
limiter.shared_limit(
    lambda: current_app.config.get("API_RATE_LIMIT") or DEFAULT_RATE_LIMIT,
    scope="api-token",
    key_func=_token_key,
    exempt_when=_without_valid_token,
)(bp)
limiter.shared_limit(
    lambda: current_app.config.get("API_ANONYMOUS_RATE_LIMIT") or DEFAULT_ANONYMOUS_RATE_LIMIT,
    scope="api-address",
    key_func=get_remote_address,
    exempt_when=_with_valid_token,
)(bp)


@bp.errorhandler(RateLimitExceeded)
def _rate_limited(_error_raised):
    response = error_response(429, _("Too many requests: wait before calling the API again."))
    current = limiter.current_limit
    wait = int(current.reset_at - time.time()) if current is not None else 60
    response.headers["Retry-After"] = str(max(1, wait))
    return response


@bp.errorhandler(ApiProblem)
def _problem(problem: ApiProblem):
    return problem.response


@bp.errorhandler(Invalid)
def _refused(invalid: Invalid):
    """A service refused the request: nothing is written, 422 with the errors."""
    db.session.rollback()
    return invalid_response(invalid)


@bp.before_request
def _authenticate():
    if request.endpoint == "api.openapi":
        return None
    view = current_app.view_functions.get(request.endpoint)
    if getattr(getattr(view, "api_operation", None), "body", None) is not None:
        check_declared_length()  # a body too large is 413 before the token is looked up
    user, row = _token_identity()
    if user is None:
        scheme, _sep, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return _error(401, _("Send a valid API token: Authorization: Bearer <token>."))
        return _error(401, _("This API token is not valid (unknown, revoked or disabled)."))
    _note_use(row)
    g.api_user, g.api_client = user, row.name
    return None


# "Last used" is shown to the minute: written at most once a minute per token, so that an
# integration calling all the time does not commit a write (and take the token row's lock)
# on every call.
LAST_USED_EVERY = timedelta(seconds=60)


def _note_use(row: ApiToken) -> None:
    now = utcnow()
    last = row.last_used_at
    if last is not None and last.tzinfo is None:
        last = last.replace(tzinfo=UTC)  # SQLite gives naive UTC back
    if last is not None and now - last < LAST_USED_EVERY:
        return
    db.session.execute(
        update(ApiToken)
        .where(
            ApiToken.id == row.id,
            or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at < now - LAST_USED_EVERY),
        )
        .values(last_used_at=now),
        # no evaluation against the loaded row in Python (SQLite gives naive datetimes)
        execution_options={"synchronize_session": False},
    )
    db.session.commit()


def _codes(values: list[str]) -> list[str]:
    return [c.strip().upper() for c in values if c.strip()]


# --- KPIs and sites ---------------------------------------------------------------------------


@bp.get("/kpis")
@operation(
    summary="The KPI catalogue",
    operation_id="listKpis",
    responses={200: (list[s.Kpi], "The KPIs.")},
)
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
@operation(
    summary="The sites the token's user may see",
    operation_id="listSites",
    responses={200: (list[s.Site], "The sites.")},
)
def sites():
    stmt = filter_sites(select(Site).options(joinedload(Site.region)), g.api_user)
    return jsonify([_site_dict(site) for site in db.session.scalars(stmt.order_by(Site.code))])


@bp.post("/sites")
@operation(
    summary="Create or update sites by code (programme office only)",
    operation_id="upsertSites",
    body=s.SiteBatch,
    max_items=MAX_ITEMS,
    responses={201: (s.SiteCounts, "Sites written."), 403: FORBIDDEN},
)
def sites_upsert():
    if not can(g.api_user, "sync_sites_api"):
        return _error(403, _("Only the programme office may change the network."))
    _items, raw = json_body()
    with acting_as(f"api:{g.api_user.email}", g.api_user.id):
        result = upsert_sites(db.session, list(enumerate(raw)), source=f"api:{g.api_client}")
        db.session.commit()
    response = jsonify(result.as_dict())
    response.status_code = 201
    return response


# --- measurements -------------------------------------------------------------------------------


@bp.post("/measurements")
@operation(
    summary="Add measurements (same value again: unchanged; new value: correction)",
    operation_id="postMeasurements",
    body=s.MeasurementBatch,
    max_items=MAX_ITEMS,
    responses={
        201: (s.MeasurementCounts, "All items written."),
        403: (
            s.Forbidden,
            "The user may not write one of the sites (or may not write at all).",
        ),
    },
)
def measurements_post():
    user = g.api_user
    if not can(user, "write_measurements"):
        return _error(403, _("Your role may not enter measurements."))
    _items, raw = json_body()
    with acting_as(user.email, user.id):
        try:
            result = ingest(
                db.session,
                user,
                [records_frame(raw)],
                default_source=g.api_client,
                label=f"api:{g.api_client}",
            )
            db.session.commit()
        except IntakeRejected as rejected:
            db.session.rollback()
            if rejected.permission_only:
                denied = [e.as_dict("index") for e in rejected.errors if e.permission]
                return _error(
                    403, _("You may not enter measurements for some of these sites."), errors=denied
                )
            return _invalid(rejected)
    response = jsonify(
        {"created": result.created, "unchanged": result.unchanged, "corrected": result.corrected}
    )
    response.status_code = 201
    return response


@bp.get("/measurements")
@operation(
    summary="Measurements of the sites the token's user may see",
    operation_id="listMeasurements",
    query=s.MeasurementQuery,
    responses={
        200: (s.MeasurementPage, "One page, oldest id first."),
        422: (s.ValidationErrors, "An invalid or empty filter, or an unknown site or KPI."),
    },
)
def measurements_get():
    query = query_args()
    errors: list[dict] = []
    stmt = (
        select(Measurement, Site.code, Kpi.code)
        .join(Site, Site.id == Measurement.site_id)
        .join(Kpi, Kpi.id == Measurement.kpi_id)
    )
    if query.site is not None:
        site = db.session.scalar(select(Site).where(Site.code == query.site.strip().upper()))
        if site is None:
            errors.append({"index": None, "field": "site", "message": _("Unknown site code.")})
        else:
            stmt = stmt.where(Measurement.site_id == site.id)
    if query.kpi is not None:
        kpi = db.session.scalar(select(Kpi).where(Kpi.code == query.kpi.strip().upper()))
        if kpi is None:
            errors.append({"index": None, "field": "kpi", "message": _("Unknown KPI code.")})
        else:
            stmt = stmt.where(Measurement.kpi_id == kpi.id)
    if errors:
        return _invalid(errors)
    if query.from_:
        stmt = stmt.where(Measurement.period_date >= query.from_)
    if query.to:
        stmt = stmt.where(Measurement.period_date <= query.to)
    visible = filter_sites(select(Site.id), g.api_user)
    if visible is not None:
        stmt = stmt.where(Measurement.site_id.in_(visible.scalar_subquery()))
    limit = query.limit
    rows = db.session.execute(
        stmt.where(Measurement.id > query.after).order_by(Measurement.id).limit(limit + 1)
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
@operation(
    summary="This document",
    operation_id="openapi",
    authenticated=False,
    responses={200: (None, "The OpenAPI 3.1 document of this API.")},
)
def openapi():
    return jsonify(openapi_document(current_app))


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


def pilot_results_body(pilot, results) -> dict:
    """GET /pilots/<id>/results: the one place where a pilot's results become JSON.

    Each result's fields are declared in schemas.PilotResult; add new ones to both."""
    return {"pilot": pilot.id, "results": [r.as_api() for r in results]}


def _pilots_randomization(pilot) -> dict:
    from programme.pilots.services import randomization_dict

    return randomization_dict(pilot)


def _pilot_or_error(pilot_id: int):
    from programme.pilots.access import may_see_pilot
    from programme.pilots.models import Pilot

    pilot = db.session.get(Pilot, pilot_id) if 0 < pilot_id <= s.INT32_MAX else None
    if pilot is None:
        return None, _error(404, _("No such pilot."))
    if not can(g.api_user, "view_pilots") or not may_see_pilot(g.api_user, pilot):
        return None, _error(403, _("You may not see this pilot."))
    return pilot, None


@bp.post("/pilots")
@operation(
    summary="Create a pilot (programme office only)",
    operation_id="createPilot",
    body=s.PilotInput,
    responses={
        201: (s.Pilot, "The pilot, created at the design stage."),
        403: FORBIDDEN,
        422: (
            s.ValidationErrors,
            "Per-field errors (overlapping periods, a site in both arms, unknown codes, a "
            "target of the wrong sign): nothing was written.",
        ),
    },
)
def pilots_post():
    from programme.pilots import services as pilots

    user = g.api_user
    if not can(user, "create_pilots"):
        return _error(403, _("Your role may not create pilots."))
    body, _raw = json_body()
    design = pilots.Design(
        name=body.name,
        pilot_sites=_codes(body.pilot_sites),
        control_sites=_codes(body.control_sites),
        kpis=[(k.kpi.strip().upper(), k.target_relative) for k in body.kpis],
        description=body.description,
        baseline_start=body.baseline_start,
        baseline_end=body.baseline_end,
        pilot_start=body.pilot_start,
        pilot_end=body.pilot_end,
    )
    if body.randomize:  # arms drawn by matched pairs from candidate_sites
        pilots.randomize_design(db.session, design, body.candidate_sites, body.seed)
    pilots.validate(db.session, design)
    with acting_as(user.email, user.id):
        pilot = pilots.save_pilot(db.session, design, user=user)
        db.session.commit()
    response = jsonify(_pilot_dict(pilot))
    response.status_code = 201
    response.headers["Location"] = url_for("api.pilot_get", pilot_id=pilot.id)
    return response


@bp.get("/pilots/<int:pilot_id>")
@operation(
    summary="One pilot's design and decision",
    operation_id="getPilot",
    responses={
        200: (s.Pilot, "The pilot."),
        403: FORBIDDEN,
        404: (s.Error, "No such pilot."),
    },
)
def pilot_get(pilot_id: int):
    pilot, problem = _pilot_or_error(pilot_id)
    if problem is not None:
        return problem
    return jsonify(_pilot_dict(pilot))


@bp.get("/pilots/<int:pilot_id>/results")
@operation(
    summary="The pilot's results per KPI",
    description=(
        "Per site and phase, the n-weighted mean; per site Δ = pilot-phase mean − baseline "
        "mean; effect = mean Δ of the pilot sites − mean Δ of the control sites (one-sample "
        "without control); 95 % CI and p-value from Welch's t-test (one-sample t-test "
        "without control). Numbers are null where not computable; `reading` says why."
    ),
    operation_id="getPilotResults",
    responses={
        200: (s.PilotResults, "One result per KPI of the pilot."),
        403: FORBIDDEN,
        404: (s.Error, "No such pilot."),
    },
)
def pilot_results(pilot_id: int):
    from programme.pilots import services as pilots

    pilot, problem = _pilot_or_error(pilot_id)
    if problem is not None:
        return problem
    return jsonify(pilot_results_body(pilot, pilots.pilot_results(db.session, pilot)))


# --- deployment (issue 7) -----------------------------------------------------------------------


def _wave_dict(wave, progress: float, user) -> dict:
    from programme.network.access import may_see_site

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
@operation(
    summary="The deployment packages and their elements",
    operation_id="listPackages",
    responses={200: (list[s.Package], "The packages."), 403: FORBIDDEN},
)
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
@operation(
    summary="The deployment waves with their progress",
    operation_id="listWaves",
    responses={200: (list[s.Wave], "The waves."), 403: FORBIDDEN},
)
def waves():
    from programme.deployment import services as deployment
    from programme.deployment.models import Wave

    if not can(g.api_user, "view_deployment"):
        return _error(403, _("You may not see the waves."))
    rows = list(db.session.scalars(select(Wave).order_by(Wave.start, Wave.id)))
    progress = deployment.wave_progress(db.session)
    return jsonify([_wave_dict(w, progress.get(w.id, 0.0), g.api_user) for w in rows])


@bp.get("/waves/<int:wave_id>")
@operation(
    summary="One wave",
    operation_id="getWave",
    responses={
        200: (s.Wave, "The wave."),
        403: FORBIDDEN,
        404: (s.Error, "No such wave."),
    },
)
def wave_get(wave_id: int):
    from programme.deployment import services as deployment
    from programme.deployment.models import Wave

    wave = db.session.get(Wave, wave_id) if 0 < wave_id <= s.INT32_MAX else None
    if wave is None:
        return _error(404, _("No such wave."))
    if not can(g.api_user, "view_deployment"):
        return _error(403, _("You may not see the waves."))
    progress = deployment.wave_progress(db.session, [wave.id]).get(wave.id, 0.0)
    return jsonify(_wave_dict(wave, progress, g.api_user))


@bp.post("/waves")
@operation(
    summary="Plan a wave (programme office only)",
    operation_id="createWave",
    body=s.WaveInput,
    responses={
        201: (s.Wave, "The wave, with one checklist per site."),
        403: FORBIDDEN,
        422: (
            s.ValidationErrors,
            "Per-field errors (go-live before start, a site already in another active wave "
            "of the same package, unknown codes): nothing was written.",
        ),
    },
)
def waves_post():
    from programme.deployment import services as deployment

    user = g.api_user
    if not can(user, "plan_waves"):
        return _error(403, _("Only the programme office may plan waves."))
    body, _raw = json_body()
    plan = deployment.WavePlan(
        name=body.name,
        package_id=body.package,
        site_codes=_codes(body.sites),
        start=body.start,
        go_live=body.go_live,
    )
    deployment.validate_wave(db.session, plan)
    with acting_as(user.email, user.id):
        wave = deployment.save_wave(db.session, plan)
        db.session.commit()
    response = jsonify(_wave_dict(wave, 0.0, user))
    response.status_code = 201
    response.headers["Location"] = url_for("api.wave_get", wave_id=wave.id)
    return response


def _refusals(refused) -> list[dict]:
    return [{"index": None, "field": name, "message": message} for name, message in refused.items()]


@bp.post("/value-drivers")
@operation(
    summary="Set how a package's effect on a KPI becomes euros (programme office, finance)",
    operation_id="createValueDriver",
    body=s.ValueDriverInput,
    responses={
        201: (s.CreatedId, "The value driver, created."),
        403: FORBIDDEN,
        422: (
            s.ValidationErrors,
            "Per-field errors (low > most likely > high, a volume KPI that is not a count, "
            "an unknown package or KPI, a driver already set, an attribution share that "
            "makes the shares of a site claimed by several packages for this KPI sum over 1 "
            "— by default a second package on the same sites is refused until the shares "
            "are set): nothing was written.",
        ),
        409: (
            s.Error,
            "The package passed gate L3: its planned value is frozen, no driver can be "
            "added or changed. Nothing was written.",
        ),
    },
)
def value_drivers_post():
    from programme.value import services as value

    user = g.api_user
    if not can(user, "manage_value_drivers"):
        return _error(403, _("Only the programme office and finance may set value drivers."))
    body, _raw = json_body()
    values = {
        "package": body.package,
        "kpi": body.kpi,
        "volume_kpi": body.volume_kpi,
        "lever": body.lever,
        "unit_low": body.unit_value.low,
        "unit_most_likely": body.unit_value.most_likely,
        "unit_high": body.unit_value.high,
        "source": body.source,
        "owner": body.owner or "",
        "explanation": body.explanation or "",
        "attribution": body.attribution,
    }
    try:
        with acting_as(user.email, user.id):
            driver = value.save_driver(db.session, values)
            db.session.commit()
    except value.ValueRefused as refused:
        db.session.rollback()
        if refused.status == 409:
            return _error(409, " ".join(refused.errors.values()))
        fields = {"unit_low": "unit_value.low", "unit_most_likely": "unit_value.most_likely",
                  "unit_high": "unit_value.high"}  # fmt: skip
        return _invalid(_refusals({fields.get(k, k): v for k, v in refused.errors.items()}))
    response = jsonify({"id": driver.id})
    response.status_code = 201
    return response


@bp.post("/packages/<int:package_id>/gate")
@operation(
    summary="Move a package's stage gate (programme office; L5 by finance)",
    operation_id="movePackageGate",
    body=s.GateInput,
    responses={
        200: (s.GateMoved, "The gate moved; the move is in the package's history."),
        403: FORBIDDEN,
        404: (s.Error, "No such package."),
        422: (
            s.ValidationErrors,
            "A gate skipped or moved backwards without a reason, L5 without evidence or "
            "without a clear effect or a reason, L5 by another role: nothing was written.",
        ),
    },
)
def package_gate_post(package_id: int):
    from programme.pilots.models import Package
    from programme.reports.value import effect_excludes_zero
    from programme.value import services as value

    user = g.api_user
    if not can(user, "move_gates"):
        return _error(403, _("Only the programme office and finance may move gates."))
    package = db.session.get(Package, package_id) if 0 < package_id <= s.INT32_MAX else None
    if package is None:
        return _error(404, _("No such package."))
    body, _raw = json_body()
    clear = body.to == "L5" and effect_excludes_zero(db.session, package)
    try:
        with acting_as(user.email, user.id):
            move = value.move_gate(
                db.session, user, package, body.to, body.comment,
                reason=body.reason or "", evidence=body.evidence or "",
                effect_excludes_zero=clear,
            )  # fmt: skip
            db.session.commit()
    except value.ValueRefused as refused:
        db.session.rollback()
        return _invalid(_refusals(refused.errors))
    return jsonify({"package": package.id, "from_gate": move.from_gate, "gate": move.to_gate})


@bp.get("/value")
@operation(
    summary="What a package is worth on one KPI, by month",
    description=(
        "Actual per ended month = Δ·d·Q·u (Δ the deployment impact, d = +1 higher is "
        "better / −1 lower is better, Q the volume KPI's sum at deployed sites from their "
        "go-live, u the most likely unit value); actual_low/actual_high from the effect's "
        "95 % interval. Forecast: the current wave calendar (actual go-lives where live, "
        "planned for the rest) × the sites' volumes a year earlier, Δ the deployment impact "
        "once a wave has a result, else the pilot's effect (effect.source). Planned: the "
        "pilot's effect on the waves' go-lives, frozen when the package passes gate L3. "
        "Estimate: actual, else forecast, else planned. P10/P50/P90 of the estimate from "
        "10,000 seeded draws (totals add draws). At sites shared with other packages the "
        "value counts the attribution share. Unrounded euros; null when not computable, "
        "the reading says why. `region` restricts to the package's sites in one region. "
        "Roles: admin, executive, finance."
    ),
    operation_id="getValue",
    query=s.ValueQuery,
    responses={
        200: (s.Value, "Monthly figures, their total, the effect behind them."),
        403: FORBIDDEN,
        422: (
            s.ValidationErrors,
            "Unknown package, KPI or region, no value driver, bad months.",
        ),
    },
)
def value_get():
    from programme.reports.value import monthly_value
    from programme.value.services import ValueRefused

    if not can(g.api_user, "view_value"):
        return _error(403, _("You may not see the value."))
    query = query_args()
    try:
        body = monthly_value(
            db.session,
            query.package,
            query.kpi,
            query.from_,
            query.to,
            query.window_weeks,
            region_id=query.region,
        )
    except ValueRefused as refused:
        return _invalid(_refusals(refused.errors))
    return jsonify(body)


@bp.get("/sites/<code>/progress")
@operation(
    summary="A site's checklist in its current wave",
    description=(
        "The checklist of the site's active wave (else its latest wave): one item per "
        "package element with its state and date. `progress` = share of elements in place "
        "or sustained."
    ),
    operation_id="getSiteProgress",
    responses={
        200: (s.SiteProgress, "The site's checklist."),
        403: FORBIDDEN,
        404: (s.Error, "No such site."),
    },
)
def site_progress(code: str):
    from programme.deployment import services as deployment
    from programme.network.access import may_see_site

    code = code.strip().upper()
    valid = 0 < len(code) <= 40 and "\x00" not in code and code.isprintable()
    site = db.session.scalar(select(Site).where(Site.code == code)) if valid else None
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
@operation(
    summary="Deployment impact of a package on one KPI",
    description=(
        "For each wave with go-live g: per site, Δ = n-weighted mean over [g, g + W weeks) "
        "− n-weighted mean over [g − W weeks, g). ATT of the wave = mean Δ of its sites − "
        "mean Δ of the comparison sites (sites not in the wave whose own go-live in the "
        "package is not before the end of the post window, never-deployed sites included). "
        "The estimate is the mean of the ATTs weighted by each wave's sites used, with a "
        "95 % interval from a site-level bootstrap (1,000 resamples, fixed seed). A wave "
        "with fewer than 5 comparison sites with data, or not live for a whole week, is "
        "left out; a wave still within its post window is computed on the whole weeks "
        "elapsed. Numbers are null where not computable; `reading` says why. Roles: admin, "
        "executive, pilot team."
    ),
    operation_id="getImpact",
    query=s.ImpactQuery,
    responses={
        200: (s.Impact, "The estimate, per wave."),
        403: FORBIDDEN,
        422: (
            s.ValidationErrors,
            "Unknown KPI or package, a window outside 1–52 weeks, an empty parameter, or "
            "no package given while several packages have waves.",
        ),
    },
)
def impact():
    """The package's deployment impact on one KPI (see programme/reports/impact/)."""
    from programme.reports import impact as estimator

    if not can(g.api_user, "view_impact"):
        return _error(403, _("You may not see the deployment impact."))
    query = query_args()
    kpi_code = query.kpi.strip()
    if not kpi_code:
        return _invalid(
            [{"index": None, "field": "kpi", "message": _("Give the KPI code, e.g. ?kpi=WAIT.")}]
        )
    try:
        result = estimator.compute_impact(
            db.session,
            kpi_code,
            query.package,
            query.window_weeks,
            with_regions=False,
            with_chart=False,
        )
    except Invalid as invalid:
        return _invalid(invalid)
    return jsonify(result.as_api())


# --- customer feedback and cases (issue 19): routes on this blueprint --------------------------
from programme.api import feedback as _feedback_routes  # noqa: E402,F401
