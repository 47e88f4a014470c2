"""The sites of a scope at one funnel stage, a page at a time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from programme.network.access import Scope, scope_clause
from programme.network.models import Region, Site
from programme.reports.sections.funnel import FUNNEL_STAGES, FunnelStage, stage_site_ids
from programme.web.paging import page_window


@dataclass
class StagePage:
    stage: FunnelStage
    sites: list[tuple[int, str, str, str]]  # id, code, name, region
    total: int
    page: int
    pages: int


def stage_sites(
    session: Session, scope: Scope, stage: str, today: date, page: int = 1, page_size: int = 50
) -> StagePage:
    """The sites of the scope at one funnel stage, by code, one page at a time."""
    ids = stage_site_ids(stage, today)
    where = and_(scope_clause(scope), Site.id.in_(ids))
    total = session.scalar(select(func.count(Site.id)).where(where)) or 0
    page, pages = page_window(total, page, page_size)
    rows = session.execute(
        select(Site.id, Site.code, Site.name, Region.name)
        .join(Region, Region.id == Site.region_id)
        .where(where)
        .order_by(Site.code)
        .offset((page - 1) * page_size)
        .limit(page_size)
    ).all()
    all_sites = session.scalar(select(func.count(Site.id)).where(scope_clause(scope))) or 0
    label, definition = next((lb, d) for k, lb, d in FUNNEL_STAGES if k == stage)
    return StagePage(
        FunnelStage(stage, str(label), str(definition), total, all_sites),
        [tuple(r) for r in rows],
        total,
        page,
        pages,
    )
