"""The table of sites of a region or a wave: latest wave, progress, engagement, alerts."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from programme.deployment import services as deployment
from programme.deployment.models import DONE_STATES, ChecklistItem, Engagement, Wave, WaveSite
from programme.network.access import Scope, scope_clause, scope_sites
from programme.network.models import Site
from programme.reports.sections.alerts import AlertRow


@dataclass(frozen=True)
class SiteRow:
    site_id: int
    code: str
    name: str
    wave_id: int | None
    wave_name: str | None
    go_live: date | None
    progress: float | None
    engagement: int | None
    asked_earlier: bool
    alerts: int


@dataclass(frozen=True)
class EngagementSummary:
    sites: int  # sites with an engagement recorded
    mean_score: float | None
    asked_earlier: int


def latest_wave_per_site(session: Session, scope: Scope):
    """Per site of the scope, its most recent wave (by go-live): one query."""
    ranked = (
        select(
            WaveSite.site_id.label("site_id"),
            Wave.id.label("wave_id"),
            Wave.name.label("wave_name"),
            Wave.go_live.label("go_live"),
            func.row_number()
            .over(partition_by=WaveSite.site_id, order_by=(Wave.go_live.desc(), Wave.id.desc()))
            .label("rank"),
        )
        .join(Wave, Wave.id == WaveSite.wave_id)
        .where(WaveSite.site_id.in_(scope_sites(scope)))
        .subquery()
    )
    return select(ranked).where(ranked.c.rank == 1).subquery()


def latest_engagement_per_site(session: Session, scope: Scope):
    """Per site of the scope, its latest engagement (score, asked earlier): one query."""
    ranked = (
        select(
            Engagement.site_id.label("site_id"),
            Engagement.score.label("score"),
            Engagement.asked_earlier.label("asked_earlier"),
            func.row_number()
            .over(
                partition_by=Engagement.site_id,
                order_by=(Engagement.recorded_on.desc(), Engagement.id.desc()),
            )
            .label("rank"),
        )
        .where(Engagement.site_id.in_(scope_sites(scope)))
        .subquery()
    )
    return select(ranked).where(ranked.c.rank == 1).subquery()


def site_rows(session: Session, scope: Scope, alerts: list[AlertRow]) -> list[SiteRow]:
    """Every site of the scope with its latest wave, progress there and latest engagement:
    one query (window functions for the latest wave and engagement)."""
    latest_wave = latest_wave_per_site(session, scope)
    engagement = latest_engagement_per_site(session, scope)
    share = func.avg(case((ChecklistItem.state.in_(DONE_STATES), 1.0), else_=0.0))
    progress = (
        select(
            ChecklistItem.wave_id.label("wave_id"),
            ChecklistItem.site_id.label("site_id"),
            share.label("share"),
        )
        .where(ChecklistItem.site_id.in_(scope_sites(scope)))
        .group_by(ChecklistItem.wave_id, ChecklistItem.site_id)
        .subquery()
    )
    rows = session.execute(
        select(
            Site.id,
            Site.code,
            Site.name,
            latest_wave.c.wave_id,
            latest_wave.c.wave_name,
            latest_wave.c.go_live,
            progress.c.share,
            engagement.c.score,
            engagement.c.asked_earlier,
        )
        .outerjoin(latest_wave, latest_wave.c.site_id == Site.id)
        .outerjoin(
            progress,
            and_(progress.c.site_id == Site.id, progress.c.wave_id == latest_wave.c.wave_id),
        )
        .outerjoin(engagement, engagement.c.site_id == Site.id)
        .where(scope_clause(scope))
        .order_by(Site.code)
    ).all()
    per_site: dict[int, int] = defaultdict(int)
    for alert in alerts:
        if alert.site_id is not None:
            per_site[alert.site_id] += 1
    return [
        SiteRow(
            sid,
            code,
            name,
            wid,
            wname,
            go_live,
            float(share) if share is not None else None,
            score,
            bool(asked),
            per_site.get(sid, 0),
        )
        for sid, code, name, wid, wname, go_live, share, score, asked in rows
    ]


def engagement_summary(rows: list[SiteRow]) -> EngagementSummary:
    scores = [r.engagement for r in rows if r.engagement is not None]
    return EngagementSummary(
        len(scores),
        sum(scores) / len(scores) if scores else None,
        sum(1 for r in rows if r.engagement is not None and r.asked_earlier),
    )


def wave_site_rows(
    session: Session, wave: Wave, site_ids: list[int], alerts: list[AlertRow]
) -> list[SiteRow]:
    if not site_ids:
        return []
    progress = deployment.site_progress(session, wave.id)
    latest = deployment.latest_engagement(session, site_ids)
    per_site: dict[int, int] = defaultdict(int)
    for alert in alerts:
        if alert.site_id is not None:
            per_site[alert.site_id] += 1
    rows = session.execute(
        select(Site.id, Site.code, Site.name).where(Site.id.in_(site_ids)).order_by(Site.code)
    ).all()
    return [
        SiteRow(
            sid,
            code,
            name,
            wave.id,
            wave.name,
            wave.go_live,
            progress.get(sid),
            latest[sid].score if sid in latest else None,
            bool(latest[sid].asked_earlier) if sid in latest else False,
            per_site.get(sid, 0),
        )
        for sid, code, name in rows
    ]
