"""Read side of the KPI screens: aggregated in SQL (rollups), never raw rows in Python."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from programme.auth.models import User
from programme.auth.permissions import ADMIN, WHOLE_NETWORK
from programme.auth.roles import PILOT_TEAM
from programme.kpis.access import writable_site_ids
from programme.kpis.completeness import CompletenessRow, by_site
from programme.kpis.models import (
    Kpi,
    KpiWeekRollup,
    Measurement,
    MeasurementRevision,
    PilotSiteAssignment,
)
from programme.kpis.stamps import kpi_page_stamp
from programme.network.access import filter_sites
from programme.network.models import Site
from programme.reports import cache as report_cache
from programme.web.paging import page_window
from programme.weeks import week_start


def catalogue(session: Session, active_only: bool = False) -> list[Kpi]:
    stmt = select(Kpi).order_by(Kpi.code)
    if active_only:
        stmt = stmt.where(Kpi.active.is_(True))
    return list(session.scalars(stmt))


def weekly_series(
    session: Session, user, kpi: Kpi, weeks: int = 52, site_id: int | None = None
) -> list[dict]:
    """One point per ISO week up to the current one; value None where nothing was measured.

    Mean KPIs: Σ value·n / Σ n (weighted by sample size); rates: successes / trials;
    counts (volumes): Σ value, the week's total."""
    last = week_start(date.today())
    first = last - timedelta(weeks=weeks - 1)
    visible = filter_sites(select(Site.id), user)
    if site_id is not None:
        visible = visible.where(Site.id == site_id)
    rows = session.execute(
        select(
            KpiWeekRollup.week_start,
            func.sum(KpiWeekRollup.sum_vn),
            func.sum(KpiWeekRollup.sum_n),
            func.sum(KpiWeekRollup.count),
            func.count(func.distinct(KpiWeekRollup.site_id)),
            func.sum(KpiWeekRollup.sum_v),
        )
        .where(
            KpiWeekRollup.kpi_id == kpi.id,
            KpiWeekRollup.week_start >= first,
            KpiWeekRollup.count > 0,
            KpiWeekRollup.site_id.in_(visible.scalar_subquery()),
        )
        .group_by(KpiWeekRollup.week_start)
    ).all()
    by_week = {row[0]: row for row in rows}
    points = []
    for i in range(weeks):
        week = first + timedelta(weeks=i)
        row = by_week.get(week)
        n = int(row[2]) if row else 0
        if kpi.kind == "count":
            value = float(row[5]) if row else None
        else:
            value = (row[1] / n) if row and n else None
        points.append(
            {
                "week": week.isoformat(),
                "week_end": (week + timedelta(days=7)).isoformat(),
                "value": value,
                "n": n,
                "count": int(row[3]) if row else 0,
                "sites": int(row[4]) if row else 0,
            }
        )
    return points


@dataclass(frozen=True)
class Perimeter:
    """What `filter_sites` reads of a person: enough to compute their KPI figures in a
    background refresh, away from the request's session."""

    role: str
    site_id: int | None
    region_id: int | None

    @classmethod
    def of(cls, user) -> Perimeter:
        if user.role in WHOLE_NETWORK:
            return cls(ADMIN, None, None)  # every whole-network role sees the same sites
        return cls(user.role, user.site_id, user.region_id)

    @property
    def key(self) -> tuple:
        return (self.role, self.site_id, self.region_id)


def kpi_page_figures(
    session: Session, user, kpi: Kpi, weeks: int
) -> tuple[list[dict], tuple[list[CompletenessRow], list[CompletenessRow], date, date]]:
    """The KPI page's weekly series and completeness, kept in the shared report cache
    (Redis when configured) per KPI, period, perimeter and day against the KPI data and
    the sites (`kpis.stamps.kpi_page_stamp`): at network scale they read hundreds of thousands of rollup rows, so a
    reader gets the last result (its "as of" time noted) while one background refresh
    recomputes them after a write (`programme.reports.cache.cached`)."""
    perimeter = Perimeter.of(user)
    kpi_id = kpi.id
    key = ("kpi-page", str(session.get_bind().url), kpi_id, weeks, perimeter.key, date.today())

    def compute(s: Session):
        current = s.get(Kpi, kpi_id)
        return weekly_series(s, perimeter, current, weeks), by_site(s, perimeter, current)

    return report_cache.cached(session, key, compute, kpi_page_stamp)


def site_kpis(session: Session, site_id: int) -> list[Kpi]:
    """KPIs with at least one measurement at the site."""
    ids = select(KpiWeekRollup.kpi_id).where(KpiWeekRollup.site_id == site_id).distinct()
    return list(session.scalars(select(Kpi).where(Kpi.id.in_(ids)).order_by(Kpi.code)))


def recent_measurements(session: Session, site_id: int, limit: int = 30) -> list[Measurement]:
    return list(
        session.scalars(
            select(Measurement)
            .where(Measurement.site_id == site_id)
            .order_by(Measurement.period_date.desc(), Measurement.kpi_id, Measurement.source)
            .limit(limit)
        )
    )


def revisions(session: Session, measurement_id: int) -> list[MeasurementRevision]:
    return list(
        session.scalars(
            select(MeasurementRevision)
            .where(MeasurementRevision.measurement_id == measurement_id)
            .order_by(MeasurementRevision.revision.desc())
        )
    )


def grid_values(
    session: Session, kpi_id: int, site_ids: list[int], first: date, last: date
) -> dict[tuple[int, str], Measurement]:
    """The current value of each (site, day) of the grid, whatever its source."""
    rows = session.scalars(
        select(Measurement).where(
            and_(
                Measurement.kpi_id == kpi_id,
                Measurement.site_id.in_(site_ids),
                Measurement.period_date >= first,
                Measurement.period_date <= last,
            )
        )
    )
    return {(m.site_id, m.period_date.isoformat()): m for m in rows}


def day_values(
    session: Session, site_id: int, first: date, last: date
) -> dict[tuple[int, str], Measurement]:
    """The current value of each (KPI, date) of one site between two dates (the day form)."""
    rows = session.scalars(
        select(Measurement).where(
            Measurement.site_id == site_id,
            Measurement.period_date >= first,
            Measurement.period_date <= last,
        )
    )
    return {(m.kpi_id, m.period_date.isoformat()): m for m in rows}


def cell_value(session: Session, site_id: int, kpi_id: int, day: date) -> Measurement | None:
    return session.scalar(
        select(Measurement).where(
            Measurement.site_id == site_id,
            Measurement.kpi_id == kpi_id,
            Measurement.period_date == day,
        )
    )


def _writable(session: Session, user):
    """Sites `user` may enter measurements for, as a statement over `Site` by code."""
    writable = writable_site_ids(session, user)
    stmt = select(Site).order_by(Site.code)
    if writable is not None:
        stmt = filter_sites(stmt.where(Site.id.in_(writable or [-1])), user)
    return stmt


def grid_sites(
    session: Session, user, search: str, page: int, page_size: int
) -> tuple[list[Site], int, int]:
    """One page of the sites of the entry grid (those `user` writes for, matching `search`
    in their code or name): (sites, the page shown, the number of pages)."""
    stmt = _writable(session, user)
    if search:
        like = f"%{search.lower()}%"
        stmt = stmt.where(or_(func.lower(Site.code).like(like), func.lower(Site.name).like(like)))
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    page, pages = page_window(total, page, page_size)
    sites = list(session.scalars(stmt.offset((page - 1) * page_size).limit(page_size)))
    return sites, page, pages


def writable_sites(session: Session, user, limit: int = 500) -> list[Site]:
    """The sites the day form offers: those `user` writes for (the first hundreds)."""
    return list(session.scalars(_writable(session, user).limit(limit)))


def pilot_team_members(session: Session) -> list[User]:
    return list(session.scalars(select(User).where(User.role == PILOT_TEAM).order_by(User.email)))


def assignment_rows(session: Session) -> list:
    """(assignment, user, site) of every pilot site assignment."""
    return session.execute(
        select(PilotSiteAssignment, User, Site)
        .join(User, User.id == PilotSiteAssignment.user_id)
        .join(Site, Site.id == PilotSiteAssignment.site_id)
        .order_by(User.email, Site.code)
    ).all()


def active_kpis(session: Session) -> list[Kpi]:
    """The active KPIs, by code (the pickers of the report screens)."""
    return list(session.scalars(select(Kpi).where(Kpi.active.is_(True)).order_by(Kpi.code)))
