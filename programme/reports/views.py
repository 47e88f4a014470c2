"""Programme at a glance, region and wave reports, the site story. Thin: parse the request,
load and check (`network.access`: scope_for, get_site_or_403), read the screen's model
(`reports.screens`), render."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, flash, request
from flask_babel import gettext as _
from flask_login import current_user, login_required

from programme.auth.permissions import require
from programme.extensions import db
from programme.network.access import get_site_or_403, may_open_region, scope_for
from programme.reports import charts, freshness
from programme.reports.dashboard import dashboard
from programme.reports.screens import region as region_screen
from programme.reports.screens import site as site_screen
from programme.reports.screens import stage as stage_screen
from programme.reports.screens import wave as wave_screen
from programme.reports.sections.funnel import STAGE_KEYS
from programme.reports.sections.waves import rag_rule_text
from programme.web.htmx import render
from programme.web.page_cache import kept_page
from programme.web.parsing import int_arg

bp = Blueprint("reports", __name__, url_prefix="/reports")
# After writes to measurements, waves or checklists the headline impacts are recomputed.
bp.record_once(lambda state: freshness.install())


@bp.app_context_processor
def report_freshness() -> dict:
    """`report_as_of`: when the oldest cached section the page shows was computed, while a
    newer one is being computed (None when everything shown is up to date)."""
    return {"report_as_of": report_as_of}


def report_as_of() -> str:
    from datetime import UTC, datetime

    from flask import g
    from flask_babel import format_datetime, format_time, to_user_timezone

    at = g.get("report_as_of")
    if at is None:
        return ""
    moment = datetime.fromtimestamp(at, UTC)
    if to_user_timezone(moment).date() == to_user_timezone(datetime.now(UTC)).date():
        return format_time(moment, "HH:mm")
    return format_datetime(moment, "short")


def _flagged_int_arg(name: str) -> int | None:
    """An optional positive whole-number query parameter. Anything else is ignored, and the
    page says so (a hand-edited link should still show the report, not an error page)."""
    raw = request.args.get(name, "").strip()
    value = int_arg(name)
    if raw and value is None:
        flash(
            _("“%(value)s” is not a valid %(name)s: it was ignored.", value=raw[:40], name=name),
            "error",
        )
    return value


@bp.get("/")
@require("view_reports")
@kept_page
def glance():
    context = dashboard(db.session, current_user, _flagged_int_arg("region"), date.today())
    return render("reports/glance.html", **context)


@bp.get("/stages/<stage>")
@require("view_reports")
def stage(stage: str):
    if stage not in STAGE_KEYS:
        abort(404)
    region_id = _flagged_int_arg("region")
    scope = scope_for(db.session, current_user, region_id)
    result = stage_screen.stage_sites(
        db.session, scope, stage, date.today(), _flagged_int_arg("page") or 1
    )
    return render("reports/stage.html", result=result, scope=scope, region_id=region_id)


@bp.get("/regions/<int:region_id>")
@require("view_reports")
@kept_page
def region(region_id: int):
    scope_for(db.session, current_user, region_id)  # 404 / 403
    report = region_screen.region_report(db.session, region_id, date.today())
    return render(
        "reports/region.html",
        report=report,
        funnel_spec=charts.funnel_spec(report.funnel),
        waves_spec=charts.waves_timeline_spec(report.waves, report.today) if report.waves else None,
        trend_specs=[charts.kpi_trend_spec(t) for t in report.trends],
        rag_rule=rag_rule_text(),
    )


@bp.get("/waves/<int:wave_id>")
@require("view_reports")
@kept_page
def wave(wave_id: int):
    scope = scope_for(db.session, current_user)
    report = wave_screen.wave_report(db.session, wave_id, scope, date.today())
    curve_spec = None
    if report.s_curve:
        from programme.deployment.charts import s_curve_spec

        curve_spec = s_curve_spec(report.wave, report.s_curve)
    return render(
        "reports/wave.html",
        report=report,
        curve_spec=curve_spec,
        trend_specs=[charts.event_time_spec(t, report.wave.name) for t in report.trends],
        rag_rule=rag_rule_text(),
    )


@bp.get("/sites/<int:site_id>")
@login_required
def site(site_id: int):
    site = get_site_or_403(site_id, "view_site_story")
    story = site_screen.site_story(db.session, site.id, current_user, date.today())
    return render(
        "reports/site.html",
        story=story,
        may_open_region=may_open_region(current_user, site.region_id),
    )
