"""/api/v1: pilots, their design and their results."""

from __future__ import annotations

from flask import g, jsonify, url_for
from flask_babel import lazy_gettext as _l

from programme.api import schemas as s
from programme.api.base import FORBIDDEN, bp, codes, created, load
from programme.api.spec import json_body, operation
from programme.audit import acting_as
from programme.extensions import db
from programme.pilots import services as pilots
from programme.pilots.access import get_pilot_or_403

NO_PILOT = _l("No such pilot.")
PILOT_REFUSED = _l("You may not see this pilot.")


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
        **pilots.randomization_dict(pilot),
    }


def pilot_results_body(pilot, results) -> dict:
    """GET /pilots/<id>/results: the one place where a pilot's results become JSON.

    Each result's fields are declared in schemas.PilotResult; add new ones to both."""
    return {"pilot": pilot.id, "results": [r.as_api() for r in results]}


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
    action="create_pilots",
    refused=_l("Your role may not create pilots."),
)
def pilots_post():
    user = g.api_user
    body, _raw = json_body()
    design = pilots.Design(
        name=body.name,
        pilot_sites=codes(body.pilot_sites),
        control_sites=codes(body.control_sites),
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
    return created(_pilot_dict(pilot), url_for("api.pilot_get", pilot_id=pilot.id))


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
    pilot = load(get_pilot_or_403, pilot_id, "view_pilots", missing=NO_PILOT, refused=PILOT_REFUSED)
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
    pilot = load(get_pilot_or_403, pilot_id, "view_pilots", missing=NO_PILOT, refused=PILOT_REFUSED)
    return jsonify(pilot_results_body(pilot, pilots.pilot_results(db.session, pilot)))
