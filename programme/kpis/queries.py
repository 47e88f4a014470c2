"""Read side of the KPI screens: aggregated in SQL (rollups), never raw rows in Python."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from programme.auth.permissions import filter_sites
from programme.kpis.models import Kpi, KpiWeekRollup, Measurement, MeasurementRevision
from programme.network.models import Region, Site
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


@dataclass
class CompletenessRow:
    label: str
    expected: int
    present: int
    site_id: int | None = None

    @property
    def share(self) -> float | None:
        return self.present / self.expected if self.expected else None


def completeness(
    session: Session, user, kpi: Kpi, days: int = 91
) -> tuple[list[CompletenessRow], list[CompletenessRow], date, date]:
    """Expected vs present site-days (site-weeks for a weekly KPI) over the last `days`.

    A site is expected to report a KPI once it has reported it at least once (PICKUP is
    not expected from a branch that never had a phone line measured)."""
    end = date.today() - timedelta(days=1)
    start = end - timedelta(days=days - 1)
    periods = (
        days
        if kpi.period == "day"
        else len({week_start(start + timedelta(days=i)) for i in range(days)})
    )
    reporting = (
        select(KpiWeekRollup.site_id)
        .where(KpiWeekRollup.kpi_id == kpi.id, KpiWeekRollup.count > 0)
        .distinct()
    )
    visible = filter_sites(select(Site.id), user).where(Site.id.in_(reporting))
    # Site by site through the measurement table's unique key (site, KPI, date):
    # one range per site, never a scan of the KPI's whole history.
    present = func.count(func.distinct(Measurement.period_date))
    rows = session.execute(
        select(Site.id, Site.code, Site.name, Region.name, present)
        .join(Region, Region.id == Site.region_id)
        .outerjoin(
            Measurement,
            and_(
                Measurement.site_id == Site.id,
                Measurement.kpi_id == kpi.id,
                Measurement.period_date >= start,
                Measurement.period_date <= end,
            ),
        )
        .where(Site.id.in_(visible.scalar_subquery()))
        .group_by(Site.id, Site.code, Site.name, Region.name)
        .order_by(present, Site.code)
    ).all()
    sites = [
        CompletenessRow(f"{code} – {name}", periods, min(periods, int(p)), site_id)
        for site_id, code, name, _region, p in rows
    ]
    regions: dict[str, CompletenessRow] = {}
    for (_id, _code, _name, region, p), _row in zip(rows, sites, strict=True):
        agg = regions.setdefault(region, CompletenessRow(region, 0, 0))
        agg.expected += periods
        agg.present += min(periods, int(p))
    return sorted(regions.values(), key=lambda r: r.label), sites, start, end


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
