"""The region report: funnel, waves and RAG, alerts, engagement, weekly KPI trend, coaches
working there and the table of its sites."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from programme.kpis.completeness import Completeness
from programme.network.access import Scope, get_region_or_404, region_scope
from programme.network.models import Region
from programme.reports import cache
from programme.reports.sections.alerts import AlertRow, alerts_per_wave, scoped_alerts
from programme.reports.sections.coaches import CoachRow, coaches_working
from programme.reports.sections.completeness import completeness
from programme.reports.sections.funnel import FunnelStage, funnel, funnel_counts
from programme.reports.sections.sites import (
    EngagementSummary,
    SiteRow,
    engagement_summary,
    site_rows,
)
from programme.reports.sections.trends import KpiTrend, kpi_trends
from programme.reports.sections.waves import WaveStatus, wave_statuses
from programme.reports.stamps import data_stamp, programme_stamp
from programme.weeks import week_start


@dataclass
class RegionReport:
    region: Region
    scope: Scope
    today: date
    funnel: list[FunnelStage]
    waves: list[WaveStatus]
    alerts: list[AlertRow]
    engagement: EngagementSummary
    trends: list[KpiTrend]
    coaches: list[CoachRow]
    completeness: Completeness
    sites: list[SiteRow]


def region_report(session: Session, region_id: int, today: date) -> RegionReport:
    """The region report: funnel, waves with RAG, alerts, engagement, weekly KPI trend,
    coaches working there and the table of its sites. Permission is checked by the caller
    (`scope_for`); an unknown region is a 404."""
    region = get_region_or_404(session, region_id)
    scope = region_scope(region)
    key = ("region_report", region.id, today)

    def compute(session: Session) -> dict:
        alerts = scoped_alerts(session, scope, today)
        sites = site_rows(session, scope, alerts)
        return {
            "funnel": funnel(funnel_counts(session, scope, today)),
            "waves": wave_statuses(session, scope, today, alerts_per_wave(alerts)),
            "alerts": alerts,
            "engagement": engagement_summary(sites),
            # Read from the rollups: kept in their own KPI-stamped cache.
            "trends": cache.cached(
                session,
                ("trends", scope.key, week_start(today)),
                lambda s: kpi_trends(s, today, scope=scope),
                data_stamp,
            ),
            "coaches": coaches_working(session, today, scope),
            "completeness": completeness(session, scope, today),
            "sites": sites,
        }

    # Plain data only (the region itself is read per request): cached against the
    # programme stamp and the day (words are applied when rendered).
    sections = cache.cached(session, key, compute, programme_stamp)
    return RegionReport(region=region, scope=scope, today=today, **sections)
