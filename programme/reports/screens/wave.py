"""The wave report: progress and RAG, S-curve, alerts, engagement, the KPIs of its sites
around go-live, coaches."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from programme.deployment import services as deployment
from programme.deployment.access import get_wave_in_scope_or_403
from programme.deployment.models import Wave
from programme.network.access import Scope
from programme.reports import cache
from programme.reports.sections.alerts import AlertRow, scoped_alerts
from programme.reports.sections.coaches import CoachRow, coaches_working
from programme.reports.sections.sites import (
    EngagementSummary,
    SiteRow,
    engagement_summary,
    wave_site_rows,
)
from programme.reports.sections.trends import EventTimeTrend, event_time_trends
from programme.reports.sections.waves import WaveStatus, wave_statuses
from programme.reports.stamps import data_stamp, programme_stamp
from programme.weeks import week_start


@dataclass
class WaveReport:
    wave: Wave
    scope: Scope
    today: date
    status: WaveStatus | None
    s_curve: list[dict] | None  # whole wave; None for a restricted scope
    alerts: list[AlertRow]
    engagement: EngagementSummary
    sites: list[SiteRow]
    trends: list[EventTimeTrend]
    coaches: list[CoachRow]


def wave_report(session: Session, wave_id: int, scope: Scope, today: date) -> WaveReport:
    """One wave: progress and RAG, S-curve (whole network scope), alerts, engagement, KPI
    trend before/after go-live for its sites, coaches. For a restricted scope only the
    scope's sites of the wave count: 403 when the wave has none, 404 for an unknown wave."""
    wave, site_ids = get_wave_in_scope_or_403(session, wave_id, scope)
    wave_scope = Scope(f"wave:{wave.id}", wave.name, scope.region_id, frozenset(site_ids))
    key = ("wave_report", wave.id, scope.key, scope.site_ids, today)

    def compute(session: Session) -> dict:
        wave = session.get(Wave, wave_id)  # the request's instance is not this session's
        # The whole network also sees the alerts about the wave's coaches (over capacity).
        alert_scope = scope if scope.whole_network else wave_scope
        alerts = scoped_alerts(session, alert_scope, today, wave.id)
        statuses = wave_statuses(session, wave_scope, today, {wave.id: len(alerts)}, [wave.id])
        sites = wave_site_rows(session, wave, site_ids, alerts)
        return {
            "status": statuses[0] if statuses else None,
            "s_curve": deployment.s_curve(session, wave, today) if scope.whole_network else None,
            "alerts": alerts,
            "engagement": engagement_summary(sites),
            "sites": sites,
            # Read from the rollups: kept in a KPI-stamped cache.
            "trends": cache.cached(
                session,
                ("event_time", wave.go_live, frozenset(site_ids), week_start(today)),
                lambda s: event_time_trends(s, wave, site_ids, today),
                data_stamp,
            ),
            "coaches": coaches_working(session, today, wave_scope, wave.id),
        }

    # Plain data only (the wave itself is read per request): cached against the programme
    # stamp and the day (words are applied when rendered).
    sections = cache.cached(session, key, compute, programme_stamp)
    return WaveReport(wave=wave, scope=scope, today=today, **sections)
