"""Read-side queries for the network screens."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session, joinedload

from programme.network.access import filter_sites
from programme.network.models import Person, Region, Site
from programme.web.paging import page_window


@dataclass
class SiteFilters:
    q: str = ""
    region_id: int | None = None
    type: str = ""
    operator: str = ""
    page: int = 1


@dataclass
class SitePage:
    sites: list[Site]
    total: int
    page: int
    pages: int


def site_page(session: Session, user, filters: SiteFilters, page_size: int = 50) -> SitePage:
    stmt = select(Site)
    if filters.q:
        like = f"%{filters.q.strip().lower()}%"
        stmt = stmt.where(
            or_(
                func.lower(Site.code).like(like),
                func.lower(Site.name).like(like),
                func.lower(func.coalesce(Site.city, "")).like(like),
            )
        )
    if filters.region_id:
        stmt = stmt.where(Site.region_id == filters.region_id)
    if filters.type:
        stmt = stmt.where(Site.type == filters.type)
    if filters.operator:
        stmt = stmt.where(Site.operator == filters.operator)
    stmt = filter_sites(stmt, user)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    page, pages = page_window(total, filters.page, page_size)
    sites = list(
        session.scalars(
            stmt.options(joinedload(Site.region))
            .order_by(Site.code)
            .offset((page - 1) * page_size)
            .limit(page_size)
        )
    )
    return SitePage(sites=sites, total=total, page=page, pages=pages)


def regions_with_counts(session: Session, user) -> list[tuple[Region, int, int]]:
    """Each visible region with its number of sites and of outsourced sites."""
    visible = filter_sites(select(Site.id, Site.region_id, Site.operator), user).subquery()
    rows = session.execute(
        select(
            Region,
            func.count(visible.c.id),
            func.coalesce(func.sum(case((visible.c.operator == "outsourced", 1), else_=0)), 0),
        )
        .outerjoin(visible, visible.c.region_id == Region.id)
        .group_by(Region.id)
        .order_by(Region.name)
    ).all()
    if user.role == "site_manager":
        rows = [row for row in rows if row[1] > 0]
    return [(region, count, outsourced) for region, count, outsourced in rows]


def network_summary(session: Session, user) -> dict:
    """Counts for a home page: sites by type, regions, outsourced share."""
    visible = filter_sites(select(Site.id, Site.type, Site.region_id, Site.operator), user)
    sub = visible.subquery()
    by_type = dict(session.execute(select(sub.c.type, func.count()).group_by(sub.c.type)).all())
    totals = session.execute(
        select(
            func.count(),
            func.count(func.distinct(sub.c.region_id)),
            func.coalesce(func.sum(case((sub.c.operator == "outsourced", 1), else_=0)), 0),
        )
    ).one()
    return {
        "sites": totals[0],
        "regions": totals[1],
        "outsourced": totals[2],
        "by_type": by_type,
    }


def visible_sites(session: Session, user, limit: int = 20) -> list[Site]:
    stmt = filter_sites(select(Site).options(joinedload(Site.region)), user)
    return list(session.scalars(stmt.order_by(Site.code).limit(limit)))


def all_regions(session: Session) -> list[Region]:
    return list(session.scalars(select(Region).order_by(Region.name)))


def site_staff(session: Session, site_id: int) -> list[Person]:
    """The people working at a site, by name."""
    stmt = select(Person).where(Person.site_id == site_id).order_by(Person.full_name)
    return list(session.scalars(stmt))
