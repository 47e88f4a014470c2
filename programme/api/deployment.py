"""/api/v1: deployment packages, waves and each site's checklist."""

from __future__ import annotations

from flask import g, jsonify, url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from programme.api import schemas as s
from programme.api.base import FORBIDDEN, bp, codes, created, load
from programme.api.spec import json_body, operation
from programme.audit import acting_as
from programme.deployment import services as deployment
from programme.deployment.access import get_wave_or_403
from programme.deployment.models import Wave
from programme.extensions import db
from programme.network.access import get_site_or_403, may_see_site
from programme.network.models import Site
from programme.pilots.models import Package

WAVES_REFUSED = _l("You may not see the waves.")


def _wave_dict(wave, progress: float, user) -> dict:
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
    action="view_deployment",
    refused=_l("You may not see the packages."),
)
def packages():
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
    action="view_deployment",
    refused=WAVES_REFUSED,
)
def waves():
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
    wave = load(
        get_wave_or_403,
        wave_id,
        "view_deployment",
        missing=_l("No such wave."),
        refused=WAVES_REFUSED,
    )
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
    action="plan_waves",
    refused=_l("Only the programme office may plan waves."),
)
def waves_post():
    user = g.api_user
    body, _raw = json_body()
    plan = deployment.WavePlan(
        name=body.name,
        package_id=body.package,
        site_codes=codes(body.sites),
        start=body.start,
        go_live=body.go_live,
    )
    deployment.validate_wave(db.session, plan)
    with acting_as(user.email, user.id):
        wave = deployment.save_wave(db.session, plan)
        db.session.commit()
    return created(_wave_dict(wave, 0.0, user), url_for("api.wave_get", wave_id=wave.id))


def _site_id(code: str) -> int:
    """The id of the site a path's code names (0 for none: the loader answers 404)."""
    code = code.strip().upper()
    valid = 0 < len(code) <= 40 and "\x00" not in code and code.isprintable()
    found = db.session.scalar(select(Site.id).where(Site.code == code)) if valid else None
    return found or 0


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
    site = load(
        get_site_or_403,
        _site_id(code),
        "view_deployment",
        missing=_l("No such site."),
        refused=_l("You may not see this site."),
    )
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
