"""The impact's SQL: the parameters checked against the database, the data stamp, and the
sums the estimator needs, aggregated in the database.

`read_sums`: one aggregate query per KPI over the weekly rollups, joined once with the
waves' weeks and grouped twice — by wave, phase and site (the estimator) and by wave, week
since go-live and arm (the chart) — so the rollup rows are read once. A window edge that is
not a Monday adds the partial days from the measurement table, site by site through its
unique key.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Date, Integer, and_, case, func, literal, or_, select, true, union_all
from sqlalchemy.orm import Session

from programme.deployment.models import Wave, WaveSite
from programme.errors import FieldError, Invalid
from programme.kpis.models import Kpi, KpiWeekRollup, Measurement
from programme.network.models import Region, Site
from programme.pilots.models import Package
from programme.reports.impact.estimator import (
    DEFAULT_WINDOW_WEEKS,
    MAX_WINDOW_WEEKS,
    POST,
    PRE,
    Sums,
    WaveWindows,
    split_window,
)
from programme.reports.stamps import impact_stamp
from programme.weeks import week_start

# --- parameters ------------------------------------------------------------------------------


def packages_with_waves(session: Session) -> list[Package]:
    ids = select(Wave.package_id).distinct()
    return list(session.scalars(select(Package).where(Package.id.in_(ids)).order_by(Package.name)))


def _window_message() -> str:
    return _("The window must be a whole number of weeks from 1 to %(max)d.", max=MAX_WINDOW_WEEKS)


def parse_window(value: Any) -> int:
    """Window weeks from a query string: an integer from 1 to 52, else Invalid."""
    if value is None or value == "":
        return DEFAULT_WINDOW_WEEKS
    text = str(value).strip()
    weeks = int(text) if text.isascii() and text.isdigit() else 0
    if not 1 <= weeks <= MAX_WINDOW_WEEKS:
        raise Invalid.on("window_weeks", _window_message())
    return weeks


def resolve(
    session: Session,
    kpi_code: str,
    package_id: int | None,
    window_weeks: int,
    region_id: int | None = None,
) -> tuple[Kpi, Package | None, Region | None]:
    """The KPI, package and region named by the parameters, or Invalid listing every
    problem. The package may be left out when exactly one package has waves."""
    errors: list[FieldError] = []
    kpi = session.scalar(select(Kpi).where(Kpi.code == (kpi_code or "").strip().upper()))
    if kpi is None:
        errors.append(FieldError("kpi", _("Unknown KPI code: %(code)s.", code=kpi_code or "")))
    if not isinstance(window_weeks, int) or not 1 <= window_weeks <= MAX_WINDOW_WEEKS:
        errors.append(FieldError("window_weeks", _window_message()))
    package = None
    if package_id is not None:
        package = session.get(Package, package_id)
        if package is None:
            errors.append(FieldError("package", _("No such package.")))
    else:
        candidates = packages_with_waves(session)
        if len(candidates) > 1:
            errors.append(FieldError("package", _("Several packages have waves: choose one.")))
        elif candidates:
            package = candidates[0]
    region = None
    if region_id is not None:
        region = session.get(Region, region_id)
        if region is None:
            errors.append(FieldError("region", _("No such region.")))
    if errors:
        raise Invalid(errors)
    return kpi, package, region  # type: ignore[return-value]


# --- the data stamp --------------------------------------------------------------------------


def data_stamp(session: Session) -> tuple:
    """A cheap fingerprint of everything the estimate reads (`reports.stamps.impact_stamp`:
    the newest measurement, correction, wave and wave site, and the newest audit event about
    the records the estimate reads), in one round trip."""
    return impact_stamp(session)


# --- what the estimator reads ----------------------------------------------------------------


def package_waves(
    session: Session, package_id: int
) -> tuple[list[tuple[int, str, date]], dict[int, set[int]], dict[int, date]]:
    """The package's waves (id, name, go-live) in go-live order, each wave's sites, and each
    deployed site's first go-live in the package."""
    waves = [
        (w.id, w.name, w.go_live)
        for w in session.execute(
            select(Wave.id, Wave.name, Wave.go_live)
            .where(Wave.package_id == package_id)
            .order_by(Wave.go_live, Wave.id)
        )
    ]
    members: dict[int, set[int]] = {}
    first_live: dict[int, date] = {}
    for wave_id, site_id, go_live in session.execute(
        select(WaveSite.wave_id, WaveSite.site_id, Wave.go_live)
        .join(Wave, Wave.id == WaveSite.wave_id)
        .where(Wave.package_id == package_id)
    ):
        members.setdefault(wave_id, set()).add(site_id)
        if site_id not in first_live or go_live < first_live[site_id]:
            first_live[site_id] = go_live
    return waves, members, first_live


def site_regions(session: Session) -> dict[int, int]:
    """{site: region} for every site of the network."""
    return dict(session.execute(select(Site.id, Site.region_id)).all())


def region_names(session: Session) -> dict[int, str]:
    return dict(session.execute(select(Region.id, Region.name)).all())


def _literal_table(rows: list[tuple], columns: list[tuple[str, Any]], name: str):
    """A small derived table built from literals (a UNION ALL of one-row SELECTs)."""
    parts = [
        select(
            *[
                literal(value, type_).label(col)
                for value, (col, type_) in zip(row, columns, strict=True)
            ]
        )
        for row in rows
    ]
    query = parts[0] if len(parts) == 1 else union_all(*parts)
    return query.subquery(name)


def read_sums(
    session: Session,
    kpi_id: int,
    package_id: int,
    windows: list[WaveWindows],
    window_weeks: int,
    region_id: int | None = None,
    chart: bool = True,
) -> Sums:
    """One aggregate query over the weekly rollups for every live wave: the rollup rows of
    the ISO weeks −W … W−1 around each go-live (one range per wave, UNION ALL) are read
    once, then grouped twice — by wave, phase and site (the estimator) and by wave, week
    and arm (the chart: deployed sites of the wave vs sites not yet deployed at the end of
    its post window; with a region, only the region's deployed sites).

    The ranges are read site by site through the rollups' primary key (site, KPI, week):
    a site's weeks sit together on disk, which SQLite reads about twice as fast as the
    (KPI, week) index that jumps from site to site.

    A window edge that is not a Monday (go-live not on a Monday, or a running post window)
    leaves partial weeks: their days come from the measurement table (site by site through
    its unique key), in one more aggregate query, and are added to the phase sums."""
    r = KpiWeekRollup
    ranges, daily = [], []
    for w in windows:
        if w.skip:
            continue
        week0 = week_start(w.go_live)
        first, last = week0 - timedelta(weeks=window_weeks), week0 + timedelta(weeks=w.post_weeks)
        whole_pre, partial_pre = split_window(*w.pre)
        whole_post, partial_post = split_window(*w.post)
        whens = [
            ((r.week_start >= whole[0]) & (r.week_start < whole[1]), number)
            for number, whole in ((PRE, whole_pre), (POST, whole_post))
            if whole
        ]
        phase = case(*whens, else_=literal(None, Integer)) if whens else literal(None, Integer)
        ranges.append(
            select(
                literal(w.wave_id, Integer).label("wave"),
                phase.label("phase"),
                r.week_start.label("week"),
                literal(w.post[1], Date).label("comparison_from"),
                r.site_id,
                r.sum_vn,
                r.sum_n,
            ).where(
                r.site_id.in_(select(Site.id).scalar_subquery()),
                r.kpi_id == kpi_id,
                r.week_start >= first,
                r.week_start < last,
                r.sum_n > 0,
            )
        )
        daily.extend((w.wave_id, PRE, lo, hi) for lo, hi in partial_pre)
        daily.extend((w.wave_id, POST, lo, hi) for lo, hi in partial_post)
    result = Sums({}, {})
    if ranges:
        joined = (ranges[0] if len(ranges) == 1 else union_all(*ranges)).cte("joined")
        by_site = (
            select(
                literal(0, Integer).label("part"),
                joined.c.wave,
                joined.c.phase,
                literal(None, Date).label("week"),
                joined.c.site_id.label("b"),
                func.sum(joined.c.sum_vn).label("svn"),
                func.sum(joined.c.sum_n).label("sn"),
                func.count().label("rows"),
            )
            .where(joined.c.phase.is_not(None))
            .group_by(joined.c.wave, joined.c.phase, joined.c.site_id)
        )
        query = by_site
        if chart:
            first = (
                select(WaveSite.site_id.label("site_id"), func.min(Wave.go_live).label("go_live"))
                .join(Wave, Wave.id == WaveSite.wave_id)
                .where(Wave.package_id == package_id)
                .group_by(WaveSite.site_id)
                .subquery("first_live")
            )
            ws = WaveSite
            deployed = ws.site_id.is_not(None)
            if region_id is not None:
                deployed = and_(
                    deployed,
                    joined.c.site_id.in_(
                        select(Site.id).where(Site.region_id == region_id).scalar_subquery()
                    ),
                )
            comparison = and_(
                ws.site_id.is_(None),
                or_(first.c.go_live.is_(None), first.c.go_live >= joined.c.comparison_from),
            )
            arm = case((deployed, 1), else_=0)
            by_week = (
                select(
                    literal(1, Integer).label("part"),
                    joined.c.wave,
                    literal(None, Integer).label("phase"),
                    joined.c.week,
                    arm.label("b"),
                    func.sum(joined.c.sum_vn).label("svn"),
                    func.sum(joined.c.sum_n).label("sn"),
                    func.count().label("rows"),
                )
                .select_from(joined)
                .outerjoin(ws, and_(ws.wave_id == joined.c.wave, ws.site_id == joined.c.site_id))
                .outerjoin(first, first.c.site_id == joined.c.site_id)
                .where(or_(deployed, comparison))
                .group_by(joined.c.wave, joined.c.week, arm)
            )
            query = union_all(by_site, by_week)
        week0s = {w.wave_id: week_start(w.go_live) for w in windows}
        for part, wave, phase, week, b, svn, sn, rows in session.execute(query):
            if part == 0:
                result.phases[(wave, phase, b)] = (float(svn or 0), float(sn or 0))
            else:
                if isinstance(week, str):  # SQLite hands back a UNION's dates as text
                    week = date.fromisoformat(week[:10])
                k = (week - week0s[wave]).days // 7
                result.weeks[(wave, k, bool(b))] = (float(svn or 0), float(sn or 0), int(rows))
    if daily:
        t = _literal_table(
            daily, [("wave", Integer), ("phase", Integer), ("lo", Date), ("hi", Date)], "days"
        )
        m = Measurement
        # Site by site through the measurement table's unique key (site, KPI, date).
        in_range = and_(
            m.site_id == Site.id,
            m.kpi_id == kpi_id,
            m.period_date >= t.c.lo,
            m.period_date < t.c.hi,
        )
        if session.get_bind().dialect.name == "postgresql":
            # LATERAL: PostgreSQL would otherwise walk the whole unique key once per range
            # (the site column first, unconstrained) rather than probe it site by site.
            per_site = (
                select(func.sum(m.value * m.n).label("svn"), func.sum(m.n).label("sn"))
                .where(in_range)
                .lateral("per_site")
            )
            query = (
                select(t.c.wave, t.c.phase, Site.id, per_site.c.svn, per_site.c.sn)
                .select_from(t)
                .join(Site, true())
                .join(per_site, true())
                .where(per_site.c.sn.is_not(None))
            )
        else:  # SQLite has no LATERAL, and plans this join site by site
            query = (
                select(t.c.wave, t.c.phase, m.site_id, func.sum(m.value * m.n), func.sum(m.n))
                .select_from(t)
                .join(Site, true())
                .join(m, in_range)
                .group_by(t.c.wave, t.c.phase, m.site_id)
            )
        for wave, phase, site, svn, sn in session.execute(query):
            before = result.phases.get((wave, phase, site), (0.0, 0.0))
            result.phases[(wave, phase, site)] = (
                before[0] + float(svn or 0),
                before[1] + float(sn or 0),
            )
    return result
