"""Read-side queries and choice lists of the deployment screens."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from programme.auth.models import User
from programme.auth.roles import COACH
from programme.deployment.models import Assignment, Coach, Engagement, Visit, Wave
from programme.network.access import filter_sites
from programme.network.models import SITE_TYPES, Person, Region, Site
from programme.pilots.models import Package

PICKER_LIMIT = 200


def waves(session: Session) -> list[Wave]:
    return list(session.scalars(select(Wave).order_by(Wave.start, Wave.name)))


def visible_site_ids(session: Session, user) -> list[int]:
    return list(session.scalars(filter_sites(select(Site.id), user)))


def package_choices(session: Session) -> list[tuple[int, str]]:
    return [(p.id, p.name) for p in session.scalars(select(Package).order_by(Package.name))]


def site_picker(
    session: Session, chosen: list[str], region_id: int | None, site_type: str | None
) -> dict:
    """The sites offered by the wave's site picker: the chosen ones first, then those
    matching the filters (at most `PICKER_LIMIT`)."""
    chosen_sites = list(
        session.scalars(select(Site).where(Site.code.in_(chosen)).order_by(Site.code))
    )
    matching: list[Site] = []
    if region_id or site_type:
        stmt = select(Site).order_by(Site.code)
        if region_id:
            stmt = stmt.where(Site.region_id == region_id)
        if site_type:
            stmt = stmt.where(Site.type == site_type)
        taken = set(chosen)
        matching = [s for s in session.scalars(stmt.limit(PICKER_LIMIT)) if s.code not in taken]
    return {
        "chosen_sites": chosen_sites,
        "matching": matching,
        "regions": list(session.scalars(select(Region).order_by(Region.name))),
        "site_types": SITE_TYPES,
        "region_id": region_id,
        "site_type": site_type or "",
    }


def coach_choices(session: Session) -> list[tuple[int, str]]:
    return [(c.id, c.name) for c in session.scalars(select(Coach).join(Coach.person))]


def assignments_by_site(session: Session, wave_id: int) -> dict[int, list[Assignment]]:
    stmt = select(Assignment).where(Assignment.wave_id == wave_id).order_by(Assignment.start_on)
    by_site: dict[int, list[Assignment]] = {}
    for assignment in session.scalars(stmt):
        by_site.setdefault(assignment.site_id, []).append(assignment)
    return by_site


def recent_visits(session: Session, wave_id: int, site_id: int, limit: int = 20) -> list[Visit]:
    return list(
        session.scalars(
            select(Visit)
            .where(Visit.wave_id == wave_id, Visit.site_id == site_id)
            .order_by(Visit.visited_on.desc(), Visit.id.desc())
            .limit(limit)
        )
    )


def engagement_history(session: Session, site_id: int, limit: int = 20) -> list[Engagement]:
    return list(
        session.scalars(
            select(Engagement)
            .where(Engagement.site_id == site_id)
            .order_by(Engagement.recorded_on.desc(), Engagement.id.desc())
            .limit(limit)
        )
    )


def coaches(session: Session) -> list[Coach]:
    return list(session.scalars(select(Coach).join(Coach.person).order_by(Person.full_name)))


def coach_user_choices(session: Session) -> list[tuple[int, str]]:
    """The accounts a coach may be linked to: those with the coach role."""
    users = session.scalars(select(User).where(User.role == COACH).order_by(User.email))
    return [(u.id, f"{u.display_name} <{u.email}>") for u in users]


def region_choices(session: Session) -> list[tuple[int, str]]:
    return [(r.id, r.name) for r in session.scalars(select(Region).order_by(Region.name))]
