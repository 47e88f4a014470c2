"""Programme at a glance (the /reports/ page, the executive home, the exports and the
monthly snapshots): funnel, waves and RAG, alerts, coaches, completeness, regions, the
pilots behind the packages and the deployment impact."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from programme.auth.permissions import can
from programme.deployment.models import ACTIVE_STATUSES, Wave, WaveSite
from programme.kpis.completeness import Completeness
from programme.kpis.models import Kpi
from programme.network.access import Scope, scope_clause, scope_sites
from programme.network.models import Region, Site
from programme.pilots.models import Pilot, PilotDecision, PilotSite
from programme.pilots.services import pilot_results
from programme.reports import cache
from programme.reports.impact import headline_impacts
from programme.reports.sections.alerts import TOP_ALERTS, AlertRow, alerts_per_wave, scoped_alerts
from programme.reports.sections.coaches import CoachCapacity, coach_capacity
from programme.reports.sections.completeness import completeness
from programme.reports.sections.funnel import FunnelStage, funnel, funnel_counts
from programme.reports.sections.waves import (
    WaveStatus,
    mean_active_progress,
    per_site_share,
    rag_rule_text,
    wave_statuses,
)
from programme.reports.stamps import data_stamp, programme_stamp
from programme.web import words

log = logging.getLogger(__name__)


@dataclass
class PilotImpact:
    pilot_id: int
    pilot_name: str
    decided_on: date | None
    package_names: list[str]
    results: list[Any]  # programme.pilots.results.KpiResult


def go_pilots(session: Session, scope: Scope | None = None) -> list[PilotImpact]:
    """Pilots whose latest decision is 'go', with their KPI results (effect, interval, target
    reached) computed by the pilots domain, cached against the KPI data and the pilots' own
    state (decisions, edits), since the statistics read each pilot's rollups."""
    pilots_state = tuple(
        session.execute(
            select(
                select(func.max(PilotDecision.id)).scalar_subquery(),
                select(func.max(Pilot.updated_at)).scalar_subquery(),
                select(func.count(PilotSite.id)).scalar_subquery(),
            )
        ).one()
    )
    key = (
        "go_pilots",
        scope.key if scope else None,
        scope.site_ids if scope else None,
        pilots_state,
    )
    return cache.cached(session, key, lambda s: compute_go_pilots(s, scope), data_stamp)


def compute_go_pilots(session: Session, scope: Scope | None = None) -> list[PilotImpact]:
    latest = (
        select(PilotDecision.pilot_id, func.max(PilotDecision.id).label("id"))
        .group_by(PilotDecision.pilot_id)
        .subquery()
    )
    stmt = (
        select(Pilot, PilotDecision.decided_on)
        .join(latest, latest.c.pilot_id == Pilot.id)
        .join(PilotDecision, PilotDecision.id == latest.c.id)
        .where(PilotDecision.decision == "go")
        .order_by(PilotDecision.decided_on, Pilot.name)
    )
    if scope is not None and not scope.whole_network:
        stmt = stmt.where(
            Pilot.id.in_(
                select(PilotSite.pilot_id).where(PilotSite.site_id.in_(scope_sites(scope)))
            )
        )
    result = []
    for pilot, decided_on in session.execute(stmt):
        result.append(
            PilotImpact(
                pilot.id,
                pilot.name,
                decided_on,
                [p.name for p in pilot.packages],
                pilot_results(session, pilot),
            )
        )
    return result


def deployed_impacts(session: Session, fresh: bool | str = False) -> list | None:
    """What deployed sites achieve (deployment impact, computed and cached by
    `programme.reports.impact`: an `impact.HeadlineImpacts` list, possibly the previous
    figures marked stale while they are recomputed, unless `fresh`); None when it fails."""
    try:
        return headline_impacts(session, fresh=fresh)
    except Exception:  # noqa: BLE001 - the dashboard must show even if impact fails
        log.exception("headline impacts failed")
        return None


@dataclass(frozen=True)
class RegionRow:
    region_id: int
    name: str
    sites: int
    in_wave: int
    live: int
    progress: float | None  # mean progress of the region's sites in active waves


def region_rows(session: Session, scope: Scope, today: date) -> list[RegionRow]:
    """Per region of the scope: sites, sites in a wave, live sites and mean progress in
    active waves (two aggregate queries)."""
    in_wave = select(WaveSite.site_id)
    live = (
        select(WaveSite.site_id)
        .join(Wave, Wave.id == WaveSite.wave_id)
        .where(Wave.go_live <= today)
    )
    counts = session.execute(
        select(
            Region.id,
            Region.name,
            func.count(Site.id),
            func.sum(case((Site.id.in_(in_wave), 1), else_=0)),
            func.sum(case((Site.id.in_(live), 1), else_=0)),
        )
        .join(Site, Site.region_id == Region.id)
        .where(scope_clause(scope))
        .group_by(Region.id, Region.name)
        .order_by(Region.name)
    ).all()
    per_site = per_site_share(scope)
    active = select(Wave.id).where(Wave.status.in_(ACTIVE_STATUSES))
    progress = dict(
        session.execute(
            select(Site.region_id, func.avg(per_site.c.share))
            .join(Site, Site.id == per_site.c.site_id)
            .where(per_site.c.wave_id.in_(active))
            .group_by(Site.region_id)
        ).all()
    )
    return [
        RegionRow(
            rid,
            name,
            int(n),
            int(w or 0),
            int(lv or 0),
            float(progress[rid]) if progress.get(rid) is not None else None,
        )
        for rid, name, n, w, lv in counts
    ]


@dataclass
class Overview:
    scope: Scope
    today: date
    funnel: list[FunnelStage]
    waves: list[WaveStatus]
    alerts: list[AlertRow]  # all of them, most important first
    coaches: CoachCapacity
    completeness: Completeness
    regions: list[RegionRow]
    pilots: list[PilotImpact]
    impacts: list | None  # ImpactResult list, or None (not allowed / not available)
    headline: dict[str, int | float | None]
    kpis: dict[str, KpiUnit] | None = None  # the catalogue by code (units of impact figures)

    @property
    def top_alerts(self) -> list[AlertRow]:
        return self.alerts[:TOP_ALERTS]

    @property
    def sites_total(self) -> int:
        return self.funnel[0].total if self.funnel else 0

    @property
    def rag_rule(self) -> str:
        return rag_rule_text()


def headline(
    counts: dict[str, int],
    waves: list[WaveStatus],
    alerts: list[AlertRow],
    coaches: CoachCapacity,
    filled: Completeness,
    impacts: list | None,
) -> dict[str, int | float | None]:
    progress = mean_active_progress(waves)
    figures: dict[str, int | float | None] = {
        "sites_total": counts["total"],
        "sites_diagnosed": counts["diagnosed"],
        "sites_piloted": counts["piloted"],
        "sites_in_wave": counts["in_wave"],
        "sites_live": counts["live"],
        "sites_sustained": counts["sustained"],
        "wave_progress_pct": round(progress * 100, 1) if progress is not None else None,
        "waves_red": sum(1 for w in waves if w.rag == "red" and w.status in ACTIVE_STATUSES),
        "open_alerts": len(alerts),
        "coaches": coaches.coaches,
        "coach_load_pct": round(coaches.load * 100, 1) if coaches.load is not None else None,
        "coaches_over_capacity": coaches.over_capacity,
        "completeness_pct": round(filled.share * 100, 1) if filled.share is not None else None,
    }
    for result in impacts or []:
        estimate = getattr(result, "estimate", None)
        figures[f"impact_{result.kpi_code}"] = float(estimate) if estimate is not None else None
    return figures


@dataclass(frozen=True)
class Sections:
    """The overview's sections that read waves, checklists, coaches, diagnostics and pilots
    (plain data, cached against `programme_stamp`)."""

    counts: dict[str, int]
    alerts: list[AlertRow]
    waves: list[WaveStatus]
    coaches: CoachCapacity
    completeness: Completeness
    regions: list[RegionRow]
    pilots: list[PilotImpact]
    kpis: dict[str, KpiUnit]


@dataclass(frozen=True)
class KpiUnit:
    """What the glance needs of a catalogue KPI to print an impact figure (plain data)."""

    code: str
    name: str
    kind: str
    unit: str


def sections(session: Session, scope: Scope, today: date) -> Sections:
    """The overview's sections, cached against the programme stamp and the day. No language
    in the key: alert messages, RAG reasons and pilot readings are `Words`, worded in the
    reader's language when the page is rendered (programme.web.words)."""
    key = ("overview", scope.key, scope.site_ids, today)

    def compute(session: Session) -> Sections:
        alerts = scoped_alerts(session, scope, today)
        return Sections(
            counts=funnel_counts(session, scope, today),
            alerts=alerts,
            waves=wave_statuses(session, scope, today, alerts_per_wave(alerts)),
            coaches=coach_capacity(session, scope, today),
            # Read from the rollups: kept in their own KPI-stamped caches, so that a write
            # elsewhere (a checklist tick, a visit) does not recompute them.
            completeness=completeness(session, scope, today),
            regions=region_rows(session, scope, today),
            pilots=go_pilots(session, scope),
            kpis={
                k.code: KpiUnit(k.code, words.kpi_name(k), k.kind, k.unit)
                for k in session.scalars(select(Kpi))
            },
        )

    return cache.cached(session, key, compute, programme_stamp)


def headline_figures(session: Session, scope: Scope, today: date) -> dict[str, int | float | None]:
    """The flat figures monthly snapshots store and compare (stable keys; see `headline`).
    Deployment impact (network-wide) is added for the whole-network scope only."""
    parts = sections(session, scope, today)
    impacts = deployed_impacts(session, fresh=True) if scope.whole_network else None
    return headline(
        parts.counts, parts.waves, parts.alerts, parts.coaches, parts.completeness, impacts
    )


def overview(
    session: Session, scope: Scope, user, today: date, fresh_impacts: bool | str = False
) -> Overview:
    """Everything the programme-at-a-glance screen (and the executive home) shows.
    `fresh_impacts`: wait for up-to-date deployment impact figures (exports) rather than
    show the previous ones, marked stale, while they are recomputed (screens)."""
    parts = sections(session, scope, today)
    impacts = deployed_impacts(session, fresh_impacts) if can(user, "view_impact") else None
    network_impacts = impacts if scope.whole_network else None
    return Overview(
        scope=scope,
        today=today,
        funnel=funnel(parts.counts),
        waves=parts.waves,
        alerts=parts.alerts,
        coaches=parts.coaches,
        completeness=parts.completeness,
        regions=parts.regions,
        pilots=parts.pilots,
        impacts=impacts,
        headline=headline(
            parts.counts,
            parts.waves,
            parts.alerts,
            parts.coaches,
            parts.completeness,
            network_impacts,
        ),
        kpis=parts.kpis if impacts else None,
    )
