"""Cache stamps of what the leadership sections and the deployment impact read
(`reports.cache.stamp`)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from programme.audit import AuditEvent
from programme.database import newest_value
from programme.deployment.models import (
    Assignment,
    ChecklistItem,
    Engagement,
    Visit,
    Wave,
    WaveSite,
    coach_region,
)
from programme.diagnostics.models import ObservationSession
from programme.kpis.stamps import (
    IGNORED_AUDIT,
    audit_columns,
    data_stamp,
    kpi_columns,
    measurement_columns,
)
from programme.network.models import Site
from programme.pilots.models import PilotDecision, PilotSite
from programme.reports import cache

IMPACT_AUDITED = ("wave", "wave_site", "site", "region", "kpi", "package")

__all__ = ["data_stamp", "impact_stamp", "programme_stamp"]


def _top(column):
    return select(func.max(column)).scalar_subquery()


def programme_stamp(session: Session) -> tuple:
    """Everything the leadership sections read: the KPI data plus the latest audit event
    (every ORM write to waves, wave sites, checklists, milestones, coaches, assignments,
    visits, engagement, diagnostics, pilots, sites and regions adds one in the same
    transaction), the highest id of the tables the sections count (rows written without
    the ORM, e.g. bulk seeding) and the coach ↔ region links (a relationship change adds no
    audit event)."""
    links = select(
        func.count(),
        func.coalesce(func.sum(coach_region.c.coach_id * 1000 + coach_region.c.region_id), 0),
    ).subquery()
    return cache.stamp(
        session,
        "programme",
        [
            *kpi_columns(),
            *audit_columns(AuditEvent.entity.notin_(IGNORED_AUDIT)),
            _top(WaveSite.id),
            _top(ChecklistItem.id),
            _top(Assignment.id),
            _top(Visit.id),
            _top(Engagement.id),
            _top(ObservationSession.id),
            _top(PilotSite.id),
            _top(PilotDecision.id),
            _top(Site.id),
            select(links.c[0]).scalar_subquery(),
            select(links.c[1]).scalar_subquery(),
        ],
    )


def impact_stamp(session: Session) -> tuple:
    """What the deployment-impact estimate reads: measurements, waves and their sites, and
    the audited records it reads (waves, their sites, sites, regions, KPIs, packages)."""
    return cache.stamp(
        session,
        "impact",
        [
            *measurement_columns(),
            *audit_columns(AuditEvent.entity.in_(IMPACT_AUDITED)),
            newest_value(Wave.id, Wave.id),
            newest_value(Wave.updated_at, Wave.id),
            newest_value(WaveSite.id, WaveSite.id),
        ],
    )
