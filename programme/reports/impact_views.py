"""Deployment impact screen: the estimate for one KPI and package, per wave and per region,
with the event-time chart. Thin: parse the query string, compute (programme.reports.impact),
render the page, or only the result region for htmx."""

from __future__ import annotations

from flask import Blueprint, request
from flask_babel import gettext as _

from programme.auth.permissions import require
from programme.errors import Invalid
from programme.extensions import db
from programme.kpis import queries as kpi_queries
from programme.network import queries as network_queries
from programme.reports import impact
from programme.web.htmx import render

bp = Blueprint("impact", __name__, url_prefix="/reports/impact")


def _optional_int(name: str, errors: dict[str, str], message: str) -> int | None:
    raw = (request.args.get(name) or "").strip()
    if not raw:
        return None
    if not (raw.isascii() and raw.isdigit()):
        errors[name] = message
        return None
    return int(raw)


@bp.get("/")
@require("view_impact")
def impact_page():
    kpis = kpi_queries.active_kpis(db.session)
    packages = impact.packages_with_waves(db.session)
    regions = sorted(network_queries.all_regions(db.session), key=lambda r: impact.sort_key(r.name))
    errors: dict[str, str] = {}
    codes = [k.code for k in kpis]
    kpi_code = (request.args.get("kpi") or "").strip().upper() or (
        "WAIT" if "WAIT" in codes else (codes[0] if codes else "")
    )
    try:
        window = impact.parse_window(request.args.get("window_weeks"))
    except Invalid as invalid:
        errors.update((e.field, e.message) for e in invalid.errors)
        window = impact.DEFAULT_WINDOW_WEEKS
    package_id = _optional_int("package", errors, _("Choose a package from the list."))
    if package_id is None and "package" not in errors and packages:
        package_id = packages[0].id
    region_id = _optional_int("region", errors, _("Choose a region from the list."))
    chosen = {
        "kpi": kpi_code,
        "package": package_id,
        "window_weeks": request.args.get("window_weeks") or window,
        "region": region_id,
    }
    result = chart = None
    if not errors and kpi_code:
        try:
            # After a change: the previous result "as of" its time while it is recomputed.
            result = impact.compute_impact(
                db.session, kpi_code, package_id, window, region_id, stale_ok=True
            )
        except Invalid as invalid:
            errors.update((e.field, e.message) for e in invalid.errors)
    summary = []
    if result is not None:
        chart = impact.impact_chart(result)
        # Every KPI at a glance (default window, whole network): cached, so no new bootstrap.
        # When the data just changed: the previous figures, labelled "as of …, updating…".
        summary = impact.headline_impacts(db.session).filtered(
            lambda r: r.package_id == result.package_id
        )
    return render(
        "reports/impact.html",
        "reports/_impact_result.html",
        status=400 if errors else 200,
        kpis=kpis,
        packages=packages,
        regions=regions,
        chosen=chosen,
        errors=errors,
        result=result,
        chart=chart,
        summary=summary,
        min_comparison=impact.MIN_COMPARISON_SITES,
        max_window=impact.MAX_WINDOW_WEEKS,
        resamples=impact.RESAMPLES,
    )


@bp.get("/headline")
@require("view_impact")
def headline():
    """The "what deployed sites are achieving" block of the at-a-glance section, alone: the
    executive home loads it with htmx while the figures are being computed (pending) or
    updated (stale), until they are ready."""
    kpis = kpi_queries.active_kpis(db.session)
    return render(
        "reports/_impact_headline.html",
        impacts=impact.headline_impacts(db.session),
        impact_kpis={k.code: k for k in kpis},
    )
