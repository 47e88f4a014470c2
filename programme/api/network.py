"""/api/v1: the KPI catalogue, the sites, and the measurements (the one intake pipeline)."""

from __future__ import annotations

from flask import g, jsonify, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from programme.api import schemas as s
from programme.api.base import FORBIDDEN, MAX_ITEMS, bp, created
from programme.api.spec import error_response, json_body, operation, query_args
from programme.audit import acting_as
from programme.errors import FieldError, Invalid
from programme.extensions import db
from programme.kpis.intake import IntakeRejected, ingest, records_frame
from programme.kpis.models import Kpi, Measurement
from programme.network.access import filter_sites
from programme.network.models import Site
from programme.network.services import upsert_sites


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
    action="sync_sites_api",
    refused=_l("Only the programme office may change the network."),
)
def sites_upsert():
    _items, raw = json_body()
    with acting_as(f"api:{g.api_user.email}", g.api_user.id):
        result = upsert_sites(db.session, list(enumerate(raw)), source=f"api:{g.api_client}")
        db.session.commit()
    return created(result.as_dict())


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
    action="write_measurements",
    refused=_l("Your role may not enter measurements."),
)
def measurements_post():
    user = g.api_user
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
            if not rejected.permission_only:
                raise
            db.session.rollback()
            denied = [e.as_dict("index") for e in rejected.errors if e.permission]
            return error_response(
                403, _("You may not enter measurements for some of these sites."), errors=denied
            )
    return created(
        {"created": result.created, "unchanged": result.unchanged, "corrected": result.corrected}
    )


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
    errors: list[FieldError] = []
    stmt = (
        select(Measurement, Site.code, Kpi.code)
        .join(Site, Site.id == Measurement.site_id)
        .join(Kpi, Kpi.id == Measurement.kpi_id)
    )
    if query.site is not None:
        site = db.session.scalar(select(Site).where(Site.code == query.site.strip().upper()))
        if site is None:
            errors.append(FieldError("site", _("Unknown site code.")))
        else:
            stmt = stmt.where(Measurement.site_id == site.id)
    if query.kpi is not None:
        kpi = db.session.scalar(select(Kpi).where(Kpi.code == query.kpi.strip().upper()))
        if kpi is None:
            errors.append(FieldError("kpi", _("Unknown KPI code.")))
        else:
            stmt = stmt.where(Measurement.kpi_id == kpi.id)
    if errors:
        raise Invalid(errors)
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
