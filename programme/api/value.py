"""/api/v1: what a package is worth (value drivers, stage gates, monthly value) and its
deployment impact."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import g, jsonify
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from programme.api import schemas as s
from programme.api.base import FORBIDDEN, bp, created, load
from programme.api.spec import error_response, json_body, operation, query_args
from programme.audit import acting_as
from programme.errors import Conflict, FieldError, Invalid
from programme.extensions import db
from programme.reports import impact as estimator
from programme.reports.value import effect_excludes_zero, monthly_value
from programme.value import services as value
from programme.value.access import get_package_or_403

# The service's field names for a driver's unit values → the body's
UNIT_FIELDS = {
    "unit_low": "unit_value.low",
    "unit_most_likely": "unit_value.most_likely",
    "unit_high": "unit_value.high",
}


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
    action="manage_value_drivers",
    refused=_l("Only the programme office and finance may set value drivers."),
)
def value_drivers_post():
    user = g.api_user
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
    except Conflict as conflict:
        db.session.rollback()
        return error_response(409, value.frozen_message(conflict.current))
    except Invalid as invalid:
        raise Invalid(
            FieldError(UNIT_FIELDS.get(e.field, e.field), e.message) for e in invalid.errors
        ) from None
    return created({"id": driver.id})


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
    user = g.api_user
    package = load(
        get_package_or_403,
        package_id,
        "move_gates",
        missing=_l("No such package."),
        refused=_l("Only the programme office and finance may move gates."),
    )
    body, _raw = json_body()
    clear = body.to == "L5" and effect_excludes_zero(db.session, package)
    with acting_as(user.email, user.id):
        move = value.move_gate(
            db.session, user, package, body.to, body.comment,
            reason=body.reason or "", evidence=body.evidence or "",
            effect_excludes_zero=clear,
        )  # fmt: skip
        db.session.commit()
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
    action="view_value",
    refused=_l("You may not see the value."),
)
def value_get():
    query = query_args()
    return jsonify(
        monthly_value(
            db.session,
            query.package,
            query.kpi,
            query.from_,
            query.to,
            query.window_weeks,
            region_id=query.region,
        )
    )


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
    action="view_impact",
    refused=_l("You may not see the deployment impact."),
)
def impact():
    query = query_args()
    kpi_code = query.kpi.strip()
    if not kpi_code:
        raise Invalid.on("kpi", _("Give the KPI code, e.g. ?kpi=WAIT."))
    result = estimator.compute_impact(
        db.session,
        kpi_code,
        query.package,
        query.window_weeks,
        with_regions=False,
        with_chart=False,
        stale_ok=True,  # after a write: the last figures at once, recomputed in the background
    )
    as_of = g.get("report_as_of")
    body = result.as_api()
    body["as_of"] = (
        datetime.fromtimestamp(as_of, UTC).isoformat(timespec="seconds") if as_of else None
    )
    return jsonify(body)
