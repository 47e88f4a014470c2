"""The story of one site: diagnostic findings, pilot role, waves and checklist, visits,
engagement and a KPI summary."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session, selectinload

from programme.auth.permissions import can
from programme.deployment.models import (
    DONE_STATES,
    ChecklistItem,
    Coach,
    Engagement,
    Visit,
    Wave,
    WaveSite,
)
from programme.diagnostics.models import Campaign, Finding, Irritant, ObservationSession, step_label
from programme.kpis.models import Kpi, KpiWeekRollup
from programme.network.access import get_site_or_404
from programme.network.models import Site
from programme.pilots.models import DECISIONS, Pilot, PilotDecision, PilotSite
from programme.reports.sections.trends import TREND_WEEKS
from programme.weeks import week_start

RECENT_WEEKS = 4


@dataclass(frozen=True)
class FindingRow:
    campaign_id: int
    campaign_name: str
    session_id: int
    observed_on: date
    journey_step: str
    description: str | None  # None when the reader may not see finding details
    severity: int
    irritant_id: int | None
    irritant_name: str | None


@dataclass(frozen=True)
class PilotRole:
    pilot_id: int
    pilot_name: str
    arm: str
    decision: str | None
    decision_label: str | None
    decided_on: date | None


@dataclass
class WaveStep:
    wave: Wave
    progress: float | None
    items: list[ChecklistItem]


@dataclass(frozen=True)
class KpiSummary:
    kpi_id: int
    code: str
    name: str
    kind: str
    unit: str
    last_4_weeks: float | None
    before_go_live: float | None  # 8 weeks before the go-live of the site's latest wave
    after_go_live: float | None  # 8 weeks from go-live (full weeks up to today)
    weeks_measured: int  # in the last 26 weeks


@dataclass
class SiteStory:
    site: Site
    today: date
    show_finding_details: bool
    sessions: int
    findings: list[FindingRow]
    pilots: list[PilotRole]
    waves: list[WaveStep]
    visits: list[Visit]
    engagement: list[Engagement]
    kpis: list[KpiSummary]


def site_story(session: Session, site_id: int, user, today: date) -> SiteStory:
    """The whole story of one site: diagnostic findings, pilot role, waves and checklist,
    visits, engagement and a KPI summary (each one query). Permission (may_see_site) is
    checked by the caller; an unknown site is a 404. Finding details (descriptions, links
    to sessions) are shown to roles that may read diagnostics; others see the journey step,
    severity and irritant only."""
    site = get_site_or_404(session, site_id)
    details = can(user, "view_diagnostics")
    sessions = session.scalar(
        select(func.count(ObservationSession.id)).where(ObservationSession.site_id == site.id)
    )
    findings = [
        FindingRow(
            cid, cname, sid, observed, step_label(step), desc if details else None, sev, iid, iname
        )
        for cid, cname, sid, observed, step, desc, sev, iid, iname in session.execute(
            select(
                Campaign.id,
                Campaign.name,
                ObservationSession.id,
                ObservationSession.observed_on,
                Finding.journey_step,
                Finding.description,
                Finding.severity,
                Irritant.id,
                Irritant.name,
            )
            .join(ObservationSession, ObservationSession.id == Finding.session_id)
            .join(Campaign, Campaign.id == ObservationSession.campaign_id)
            .outerjoin(Irritant, Irritant.id == Finding.irritant_id)
            .where(ObservationSession.site_id == site.id)
            .order_by(Finding.severity.desc(), ObservationSession.observed_on.desc(), Finding.id)
            .limit(50)
        )
    ]
    latest = (
        select(PilotDecision.pilot_id, func.max(PilotDecision.id).label("id"))
        .group_by(PilotDecision.pilot_id)
        .subquery()
    )
    pilots = [
        PilotRole(
            pid,
            pname,
            arm,
            decision,
            str(DECISIONS[decision]) if decision in DECISIONS else None,
            decided_on,
        )
        for pid, pname, arm, decision, decided_on in session.execute(
            select(
                Pilot.id,
                Pilot.name,
                PilotSite.arm,
                PilotDecision.decision,
                PilotDecision.decided_on,
            )  # fmt: skip
            .join(PilotSite, PilotSite.pilot_id == Pilot.id)
            .outerjoin(latest, latest.c.pilot_id == Pilot.id)
            .outerjoin(PilotDecision, PilotDecision.id == latest.c.id)
            .where(PilotSite.site_id == site.id)
            .order_by(Pilot.pilot_start)
        )
    ]
    waves = list(
        session.scalars(
            select(Wave)
            .join(WaveSite, WaveSite.wave_id == Wave.id)
            .where(WaveSite.site_id == site.id)
            .order_by(Wave.go_live.desc())
        )
    )
    items_by_wave: dict[int, list[ChecklistItem]] = defaultdict(list)
    for item in session.scalars(
        select(ChecklistItem)
        .options(selectinload(ChecklistItem.element))
        .where(ChecklistItem.site_id == site.id)
        .order_by(ChecklistItem.wave_id, ChecklistItem.element_id)
    ):
        items_by_wave[item.wave_id].append(item)
    steps = []
    for wave in waves:
        items = items_by_wave.get(wave.id, [])
        done = sum(1 for i in items if i.state in DONE_STATES)
        steps.append(WaveStep(wave, done / len(items) if items else None, items))
    visits = list(
        session.scalars(
            select(Visit)
            .options(selectinload(Visit.coach).selectinload(Coach.person))
            .where(Visit.site_id == site.id)
            .order_by(Visit.visited_on.desc(), Visit.id.desc())
            .limit(20)
        )
    )
    engagement = list(
        session.scalars(
            select(Engagement)
            .where(Engagement.site_id == site.id)
            .order_by(Engagement.recorded_on.desc(), Engagement.id.desc())
            .limit(10)
        )
    )
    go_live = waves[0].go_live if waves else None
    return SiteStory(
        site=site,
        today=today,
        show_finding_details=details,
        sessions=int(sessions or 0),
        findings=findings,
        pilots=pilots,
        waves=steps,
        visits=visits,
        engagement=engagement,
        kpis=kpi_summaries(session, site.id, today, go_live),
    )


def kpi_summaries(
    session: Session, site_id: int, today: date, go_live: date | None, window: int = 8
) -> list[KpiSummary]:
    """Per KPI measured at the site: mean of the last 4 full weeks, and around the go-live
    of its latest wave (8 weeks before, 8 weeks from go-live): one GROUP BY over the
    site's rollups."""
    last = week_start(today) - timedelta(weeks=1)
    recent = last - timedelta(weeks=RECENT_WEEKS - 1)
    trend_first = last - timedelta(weeks=TREND_WEEKS - 1)
    week = KpiWeekRollup.week_start

    def phase(condition):
        return (
            func.sum(case((condition, KpiWeekRollup.sum_vn), else_=0.0)),
            func.sum(case((condition, KpiWeekRollup.sum_n), else_=0)),
        )

    cols = [*phase(and_(week >= recent, week <= last))]
    if go_live is not None:
        g = week_start(go_live)
        cols += [
            *phase(and_(week >= g - timedelta(weeks=window), week < g)),
            *phase(and_(week >= g, week < g + timedelta(weeks=window), week <= last)),
        ]
    cols.append(func.sum(case((and_(week >= trend_first, week <= last), 1), else_=0)))
    rows = session.execute(
        select(Kpi.id, Kpi.code, Kpi.kind, Kpi.unit, *cols)
        .join(KpiWeekRollup, KpiWeekRollup.kpi_id == Kpi.id)
        .where(KpiWeekRollup.site_id == site_id, KpiWeekRollup.count > 0)
        .group_by(Kpi.id, Kpi.code, Kpi.kind, Kpi.unit)
        .order_by(Kpi.code)
    ).all()
    kpis = {k.id: k for k in session.scalars(select(Kpi))}

    def ratio(vn, n):
        return float(vn) / float(n) if n else None

    result = []
    for row in rows:
        kid, code, kind, unit = row[:4]
        values = list(row[4:])
        before = after = None
        if go_live is not None:
            before, after = ratio(values[2], values[3]), ratio(values[4], values[5])
        result.append(
            KpiSummary(
                kid,
                code,
                kpis[kid].name,
                kind,
                unit,
                ratio(values[0], values[1]),
                before,
                after,
                int(values[-1] or 0),
            )
        )
    return result
