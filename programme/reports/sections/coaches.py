"""Coaches: capacity and load of those covering a scope, and who works on its sites."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import and_, case, false, func, or_, select
from sqlalchemy.orm import Session

from programme.deployment.models import ACTIVE_STATUSES, Assignment, Coach, Wave, coach_region
from programme.network.access import Scope, restrict, scope_sites
from programme.network.models import Person


@dataclass(frozen=True)
class CoachCapacity:
    coaches: int  # seconded today
    sites_assigned: int  # site assignments running today in active waves
    capacity: int  # Σ capacity of those coaches
    over_capacity: int  # coaches with more sites than their capacity

    @property
    def load(self) -> float | None:
        return self.sites_assigned / self.capacity if self.capacity else None


def _active_coach_clause(today: date):
    return and_(
        Coach.secondment_start <= today,
        or_(Coach.secondment_end.is_(None), Coach.secondment_end >= today),
    )


def coach_capacity(session: Session, scope: Scope, today: date) -> CoachCapacity:
    """Coaches on secondment today (in a region scope: those covering the region), their
    sites in active deployment today and their capacity: two aggregate queries."""
    loads_stmt = (
        select(Assignment.coach_id.label("coach_id"), func.count().label("n"))
        .join(Wave, Wave.id == Assignment.wave_id)
        .where(
            Wave.status.in_(ACTIVE_STATUSES),
            Assignment.start_on <= today,
            Assignment.end_on >= today,
        )
        .group_by(Assignment.coach_id)
        .subquery()
    )
    coaches = select(Coach.id, Coach.capacity).where(_active_coach_clause(today))
    if not scope.whole_network:
        in_scope = or_(
            Coach.id.in_(
                select(Assignment.coach_id).where(Assignment.site_id.in_(scope_sites(scope)))
            ),
            Coach.id.in_(
                select(coach_region.c.coach_id).where(coach_region.c.region_id == scope.region_id)
            )
            if scope.region_id is not None
            else false(),
        )
        coaches = coaches.where(in_scope)
    coaches = coaches.subquery()
    load = func.coalesce(loads_stmt.c.n, 0)
    row = session.execute(
        select(
            func.count(coaches.c.id),
            func.coalesce(func.sum(load), 0),
            func.coalesce(func.sum(coaches.c.capacity), 0),
            func.coalesce(func.sum(case((load > coaches.c.capacity, 1), else_=0)), 0),
        ).select_from(coaches.outerjoin(loads_stmt, loads_stmt.c.coach_id == coaches.c.id))
    ).one()
    return CoachCapacity(*(int(v or 0) for v in row))


@dataclass(frozen=True)
class CoachRow:
    coach_id: int
    name: str
    capacity: int
    load_today: int
    sites_here: int  # assignments on the scope's sites (or this wave's) running today
    sites_assigned: int = 0  # assignments on the scope's sites (or this wave's), active waves


def coaches_working(
    session: Session, today: date, site_scope: Scope, wave_id: int | None = None
) -> list[CoachRow]:
    """Coaches with an assignment on the scope's sites (or in one wave) in an active wave,
    with their load today: one aggregate query."""
    running = and_(Assignment.start_on <= today, Assignment.end_on >= today)
    here = select(Assignment.coach_id.label("coach_id"), func.count().label("n_all"),
                  func.sum(case((running, 1), else_=0)).label("n_today"))  # fmt: skip
    here = here.join(Wave, Wave.id == Assignment.wave_id).where(Wave.status.in_(ACTIVE_STATUSES))
    if wave_id is not None:
        here = here.where(Assignment.wave_id == wave_id)
    here = restrict(here, Assignment.site_id, site_scope).group_by(Assignment.coach_id).subquery()
    loads = (
        select(Assignment.coach_id.label("coach_id"), func.count().label("n"))
        .join(Wave, Wave.id == Assignment.wave_id)
        .where(Wave.status.in_(ACTIVE_STATUSES), running)
        .group_by(Assignment.coach_id)
        .subquery()
    )
    rows = session.execute(
        select(
            Coach.id,
            Person.full_name,
            Coach.capacity,
            func.coalesce(loads.c.n, 0),
            func.coalesce(here.c.n_today, 0),
            func.coalesce(here.c.n_all, 0),
        )
        .join(here, here.c.coach_id == Coach.id)
        .join(Person, Person.id == Coach.person_id)
        .outerjoin(loads, loads.c.coach_id == Coach.id)
        .order_by(Person.full_name)
    ).all()
    return [
        CoachRow(cid, name, cap, int(load), int(today_n), int(all_n))
        for cid, name, cap, load, today_n, all_n in rows
    ]
