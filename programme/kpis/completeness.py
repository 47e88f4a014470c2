"""Data completeness: the share of the expected measurements that arrived.

One definition, read by the KPI page (one KPI, per site and region, the last 91 days), the
leadership reports (a scope, every active KPI, the last 4 full weeks) and the pilots'
results (their sites over the baseline and pilot periods):

- a period is a day for a daily KPI, an ISO week touched for a weekly KPI
  (`expected_periods`);
- a site is expected to report a KPI once it has reported it (the reports look back
  `EXPECTED_LOOKBACK_WEEKS`): a site that never measured a KPI is not missing it;
- a period counts once however many values it holds, so `share` never exceeds 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import and_, case, func, literal, select, true
from sqlalchemy.orm import Session

from programme.kpis.models import Kpi, KpiWeekRollup, Measurement
from programme.network.access import filter_sites
from programme.network.models import Region, Site
from programme.weeks import week_start

RECENT_WEEKS = 4  # the reports' window: the last 4 full ISO weeks
EXPECTED_LOOKBACK_WEEKS = 16  # the reports' "has reported": in the window or the 12 weeks before
KPI_PAGE_DAYS = 91


def expected_periods(kpi_period: str, start: date, end: date) -> int:
    """Days (daily KPI) or ISO weeks touched (weekly KPI) in [start, end]."""
    if end < start:
        return 0
    if kpi_period == "week":
        return (week_start(end) - week_start(start)).days // 7 + 1
    return (end - start).days + 1


def share(present: int, expected: int) -> float | None:
    """Present periods over expected ones (at most 1); None when nothing was expected."""
    return min(1.0, present / expected) if expected else None


@dataclass(frozen=True)
class Completeness:
    start: date
    end: date
    present: int  # site-days (site-weeks for weekly KPIs) measured
    expected: int

    @property
    def share(self) -> float | None:
        return share(self.present, self.expected)


@dataclass
class CompletenessRow:
    label: str
    expected: int
    present: int
    site_id: int | None = None

    @property
    def share(self) -> float | None:
        return share(self.present, self.expected)


def _least(session: Session, a, b):
    """The smaller of two values (SQLite spells it min(a, b), PostgreSQL least(a, b))."""
    if session.get_bind().dialect.name == "sqlite":
        return func.min(a, b)
    return func.least(a, b)


def recent(session: Session, sites_clause, today: date) -> Completeness:
    """Completeness of the sites matching `sites_clause` (a WHERE clause on `Site`) over
    every active KPI and the last 4 full ISO weeks, from the rollups. One query, driven by
    site × KPI so that each rollup lookup uses the rollup's primary key (site, KPI, week)."""
    last_monday = week_start(today) - timedelta(weeks=1)
    first = last_monday - timedelta(weeks=RECENT_WEEKS - 1)
    last_day = last_monday + timedelta(days=6)
    lookback = last_monday - timedelta(weeks=EXPECTED_LOOKBACK_WEEKS - 1)
    per_week = case((Kpi.period == "day", 7), else_=1)
    expected = case(
        (Kpi.period == "day", expected_periods("day", first, last_day)),
        else_=expected_periods("week", first, last_day),
    )
    same_pair = and_(KpiWeekRollup.site_id == Site.id, KpiWeekRollup.kpi_id == Kpi.id)
    present = (
        select(func.coalesce(func.sum(_least(session, KpiWeekRollup.count, per_week)), 0))
        .where(
            same_pair,
            KpiWeekRollup.week_start >= first,
            KpiWeekRollup.week_start <= last_monday,
            KpiWeekRollup.count > 0,
        )
        .correlate(Site, Kpi)
        .scalar_subquery()
    )
    # Probed pair by pair through the rollups' primary key: a scalar subquery with LIMIT 1,
    # not EXISTS, which PostgreSQL turns into a semi-join that aggregates every rollup of
    # the 16 weeks (800,000 rows at 10,000 sites) to answer for a region's 4,000 pairs.
    reported = (
        select(literal(1))
        .where(
            same_pair,
            KpiWeekRollup.week_start >= lookback,
            KpiWeekRollup.week_start <= last_monday,
            KpiWeekRollup.count > 0,
        )
        .correlate(Site, Kpi)
        .limit(1)
        .scalar_subquery()
        .is_not(None)
    )
    pairs = (
        select(present.label("present"), expected.label("expected"))
        .select_from(Site)
        .join(Kpi, true())
        .where(Kpi.active.is_(True), sites_clause, reported)
        .subquery()
    )
    row = session.execute(
        select(
            func.coalesce(func.sum(pairs.c.present), 0),
            func.coalesce(func.sum(pairs.c.expected), 0),
        )
    ).one()
    return Completeness(first, last_day, int(row[0]), int(row[1]))


def by_site(
    session: Session, user, kpi: Kpi, days: int = KPI_PAGE_DAYS
) -> tuple[list[CompletenessRow], list[CompletenessRow], date, date]:
    """Completeness of one KPI at each site `user` sees that ever reported it, and per
    region, over the last `days` days: (regions, sites, start, end)."""
    end = date.today() - timedelta(days=1)
    start = end - timedelta(days=days - 1)
    periods = expected_periods(kpi.period, start, end)
    # Site by site through the rollups' primary key (site, KPI, week): the first week with
    # a measurement answers, never the KPI's whole history.
    reporting = (
        select(KpiWeekRollup.site_id)
        .where(
            KpiWeekRollup.site_id == Site.id,
            KpiWeekRollup.kpi_id == kpi.id,
            KpiWeekRollup.count > 0,
        )
        .exists()
    )
    visible = filter_sites(select(Site.id), user)
    # Present periods per site: the whole ISO weeks of the window from the weekly rollups
    # (their `count` is the number of days measured: one value per site, KPI and date),
    # read through the (KPI, week) index that carries the counts; the days of the partial
    # weeks at either edge from the measurement table, site by site through its unique key
    # (site, KPI, date).
    whole, partial = _whole_weeks(start, end + timedelta(days=1))
    r = KpiWeekRollup
    in_weeks = (
        select(r.site_id.label("site_id"), func.sum(r.count).label("present"))
        .where(r.kpi_id == kpi.id, r.week_start >= whole[0], r.week_start < whole[1])
        .group_by(r.site_id)
        .subquery("in_weeks")
    )
    present = func.coalesce(in_weeks.c.present, 0)
    for lo, hi in partial:  # one range per edge: a plain range on the unique key
        in_days = (
            select(func.count())
            .where(
                Measurement.site_id == Site.id,
                Measurement.kpi_id == kpi.id,
                Measurement.period_date >= lo,
                Measurement.period_date < hi,
            )
            .scalar_subquery()
        )
        present = present + in_days
    present = present.label("present")
    rows = session.execute(
        select(Site.id, Site.code, Site.name, Region.name, present)
        .join(Region, Region.id == Site.region_id)
        .outerjoin(in_weeks, in_weeks.c.site_id == Site.id)
        .where(Site.id.in_(visible.scalar_subquery()), reporting)
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


def _whole_weeks(first: date, end: date) -> tuple[tuple[date, date], list[tuple[date, date]]]:
    """Split the days [first, end) into whole ISO weeks [monday, monday') (possibly empty)
    and the partial ranges left at either edge."""
    monday = week_start(first)
    if monday < first:
        monday += timedelta(weeks=1)
    last = week_start(end)
    if monday >= last:
        return (first, first), [(first, end)]
    partial = [(lo, hi) for lo, hi in ((first, monday), (last, end)) if lo < hi]
    return (monday, last), partial
