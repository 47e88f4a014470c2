"""Deployment impact: does the package deliver across the network, not only in pilots?

The estimator (issue 8, staggered difference-in-differences on "not yet treated" sites):

- Window of W weeks (default 8). For each wave w of the package, with go-live g: the pre
  window is [g − W weeks, g), the post window [g, g + W weeks) — the same calendar windows
  for every site.
- Per site, Δ = n-weighted mean over the post window − n-weighted mean over the pre window
  (Σ value·n / Σ n, as in the pilot results).
- Comparison group of wave w: every site not in wave w whose own go-live (its earliest
  go-live in any wave of the same package) is not before the end of the post window,
  including sites never deployed.
- ATT_w = mean Δ over the wave's sites − mean Δ over its comparison sites (sites weigh
  equally); sites without data in either window are left out and counted.
- Programme estimate = mean of the ATT_w weighted by each wave's number of sites used;
  95 % interval from a site-level bootstrap (sites resampled within each wave and within
  each comparison group, fixed seed, vectorised with numpy).
- A wave with fewer than 5 comparison sites *with data in both windows* is stated and
  left out. A wave not live yet (or live for less than a whole week) is left out.
- A wave whose post window is still running is computed on the whole weeks elapsed since
  go-live (the post window is shortened to them and the comparison rule uses that shorter
  end); the reading says so.
- Per region: the same estimator with the treated sites restricted to the region, against
  the same (network-wide) comparison pool, so regions are comparable with each other.
- Event time: weeks since go-live (−W … W−1), pooled weekly value (Σ value·n / Σ n) of
  the deployed sites vs their comparison sites, summed over the waves in the estimate.
  A week is an ISO week: for a go-live that is not a Monday, week 0 is the ISO week that
  contains it.

SQL (`read_sums`): one aggregate query per KPI over the weekly rollups, joined once with
the waves' weeks and grouped twice — by wave, phase and site (the estimator) and by wave,
week since go-live and arm (the chart) — so the rollup rows are read once. A window edge
that is not a Monday adds the partial days from the measurement table (site by site through
its unique key), as `pilots/results.py` does. The arithmetic (`estimate`) is pure and tested on
hand-made arrays; the bootstrap is one numpy gather per wave and arm.

`headline_impacts` (executive home, exports) caches its results in-process against a cheap
data stamp (`data_stamp`), so pages never recompute the bootstrap per request. After a data
change the screens get the previous figures at once, marked stale with the time they were
computed, while one background thread per cache key recomputes them (IMPACT_REFRESH =
"thread"; "inline" recomputes synchronously, as in the tests); exports pass `fresh=True`.
With nothing cached yet (a process's first request) the screens get an empty result marked
`pending` at once and load the figures a few seconds later (htmx, /reports/impact/headline).
`compute_impact` keeps its results too (bounded, per parameters) against the same stamp, but
recomputes synchronously when the stamp changed: the impact screen and the API are never
stale."""

from __future__ import annotations

import logging
import math
import threading
import time
import unicodedata
from collections import OrderedDict
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
from flask import current_app
from flask_babel import (
    force_locale,
    format_datetime,
    format_decimal,
    format_time,
    get_locale,
    to_user_timezone,
)
from flask_babel import gettext as _
from sqlalchemy import Date, Integer, and_, case, func, literal, or_, select, true, union_all
from sqlalchemy.orm import Session

from programme.audit import AuditEvent
from programme.database import newest_value
from programme.deployment.models import Wave, WaveSite
from programme.kpis.charts import SCHEMA, value_axis
from programme.kpis.models import Kpi, KpiWeekRollup, Measurement, MeasurementRevision
from programme.network.models import Region, Site
from programme.pilots.models import Package
from programme.reports import cache as report_cache
from programme.web import words
from programme.weeks import first_week_start, week_start

DEFAULT_WINDOW_WEEKS = 8
MAX_WINDOW_WEEKS = 52
MIN_COMPARISON_SITES = 5
RESAMPLES = 1000
SEED = 20261123
CONFIDENCE = 0.95
PRE, POST = 0, 1
DEPLOYED, COMPARISON = "deployed", "comparison"
RESULT_CACHE_SIZE = 64  # compute_impact results kept in-process (one ≈ a few kB)

_cache_lock = threading.Lock()  # guards _results and the headline cache below
# compute_impact's cache: key → (data stamp, result), least recently used first.
_results: OrderedDict[tuple, tuple[tuple, ImpactResult]] = OrderedDict()


class ImpactInvalid(ValueError):
    """Bad parameters: {field: message} (kpi, package, window_weeks, region)."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(errors.values()))
        self.errors = errors


# --- results ---------------------------------------------------------------------------------


@dataclass
class WaveImpact:
    wave_id: int
    wave_name: str
    go_live: date
    att: float | None
    n_treated: int  # wave sites with data in both windows (used)
    n_comparison: int  # comparison sites with data in both windows (used)
    n_treated_missing: int  # wave sites left out: no data in one window or both
    n_comparison_missing: int
    included: bool  # counted in the programme estimate
    reason: str | None  # why left out, or a note (post window still running)
    ci_low: float | None = None
    ci_high: float | None = None
    post_weeks: int = 0  # weeks of the post window used (< window when still running)


@dataclass
class RegionImpact:
    region_id: int
    region_name: str
    estimate: float | None
    ci_low: float | None
    ci_high: float | None
    n_sites: int  # deployed sites of the region used
    n_waves: int  # waves with at least one of them


@dataclass
class ImpactResult:
    kpi_code: str
    kpi_id: int | None
    package_id: int | None
    window_weeks: int
    estimate: float | None
    ci_low: float | None
    ci_high: float | None
    n_sites: int
    waves: list[WaveImpact]
    reading: str
    by_region: list[RegionImpact] = field(default_factory=list)
    event_time: list[dict[str, Any]] = field(default_factory=list)
    kpi_name: str = ""
    kind: str = "mean"
    better: str = "lower"
    unit: str = ""
    package_name: str = ""
    region_id: int | None = None
    region_name: str | None = None
    kpi_subject: Any = None  # the reading's subject: "Le temps d'attente" (words.kpi_subject)

    @property
    def n_waves(self) -> int:
        return sum(1 for w in self.waves if w.included)

    @property
    def clear_effect(self) -> bool:
        return self.ci_low is not None and (self.ci_low > 0 or self.ci_high < 0)  # type: ignore[operator]

    @property
    def favourable(self) -> bool | None:
        """True: a clear change in the good direction; False: clear, wrong direction."""
        if not self.clear_effect or self.estimate is None:
            return None
        return (self.estimate < 0) == (self.better == "lower")

    def as_api(self) -> dict[str, Any]:
        return {
            "kpi": self.kpi_code,
            "window_weeks": self.window_weeks,
            "estimate": _num(self.estimate),
            "ci_low": _num(self.ci_low),
            "ci_high": _num(self.ci_high),
            "n_sites": self.n_sites,
            "waves": [
                {
                    "wave": w.wave_id,
                    "go_live": w.go_live.isoformat(),
                    "att": _num(w.att),
                    "n_treated": w.n_treated,
                    "n_comparison": w.n_comparison,
                }
                for w in self.waves
            ],
            "reading": str(self.reading),
        }


def _num(value: float | None) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return float(value)


# --- the statistics (pure) -------------------------------------------------------------------


@dataclass
class WaveData:
    """One wave's site-level changes, as read from SQL: Δ of each wave site and of each
    comparison site with data in both windows, the wave sites' regions, and the counts of
    sites left out for missing data. `skip` is a reason to leave the wave out before any
    arithmetic (not live yet)."""

    wave_id: int
    wave_name: str
    go_live: date
    treated: np.ndarray
    comparison: np.ndarray
    treated_regions: np.ndarray | None = None
    n_treated_missing: int = 0
    missing_regions: np.ndarray | None = None  # region of each wave site left out
    n_comparison_missing: int = 0
    post_weeks: int = 0
    window_weeks: int = 0
    skip: str | None = None


@dataclass
class Estimate:
    estimate: float | None
    ci_low: float | None
    ci_high: float | None
    n_sites: int
    waves: list[WaveImpact]
    problem: str | None = None  # why the estimate is missing


def _boot_means(values: np.ndarray, resamples: int, rng: np.random.Generator) -> np.ndarray:
    """Means of `resamples` samples drawn with replacement from `values`: one gather."""
    n = values.size
    index = rng.integers(0, n, size=(resamples, n), dtype=np.int32 if n < 2**31 else np.int64)
    return values[index].mean(axis=1)


def _rng(seed: int, wave_id: int, arm: int, region_id: int | None = None) -> np.random.Generator:
    """One stream per wave, arm (and region): results do not depend on the order of work."""
    return np.random.default_rng([seed, wave_id, arm, 0 if region_id is None else region_id + 1])


def _interval(draws: np.ndarray) -> tuple[float, float]:
    tail = (1 - CONFIDENCE) / 2 * 100
    low, high = np.percentile(draws, [tail, 100 - tail])
    return float(low), float(high)


def estimate(
    waves: list[WaveData],
    resamples: int = RESAMPLES,
    seed: int = SEED,
    region_id: int | None = None,
    comparison_draws: dict[int, np.ndarray] | None = None,
) -> Estimate:
    """ATT per wave and the programme estimate with its bootstrap interval.

    With `region_id`, only the wave sites of that region count as treated (the comparison
    pool is unchanged). `comparison_draws` lets callers share the comparison groups'
    bootstrap means between the network and the regions (same seed, same draws)."""
    if comparison_draws is None:
        comparison_draws = {}
    out: list[WaveImpact] = []
    atts: list[float] = []
    weights: list[int] = []
    draws: list[np.ndarray] = []
    for w in waves:
        treated = w.treated
        missing_treated = w.n_treated_missing
        if region_id is not None:
            mask = (
                w.treated_regions == region_id
                if w.treated_regions is not None
                else np.zeros(treated.size, bool)
            )
            treated = treated[mask]
            missing_treated = (
                int((w.missing_regions == region_id).sum()) if w.missing_regions is not None else 0
            )
        row = WaveImpact(
            wave_id=w.wave_id,
            wave_name=w.wave_name,
            go_live=w.go_live,
            att=None,
            n_treated=int(treated.size),
            n_comparison=int(w.comparison.size),
            n_treated_missing=missing_treated,
            n_comparison_missing=w.n_comparison_missing,
            included=False,
            reason=w.skip,
            post_weeks=w.post_weeks,
        )
        out.append(row)
        if w.skip:
            continue
        if treated.size == 0:
            row.reason = (
                words.lazy_gettext("no deployed site of this region has data in both windows")
                if region_id is not None
                else words.lazy_gettext("no deployed site has data in both windows")
            )
            continue
        if w.comparison.size < MIN_COMPARISON_SITES:
            row.reason = words.ngettext(
                "fewer than %(min)d comparison sites with data in both windows (%(num)d)",
                "fewer than %(min)d comparison sites with data in both windows (%(num)d)",
                w.comparison.size,
                min=MIN_COMPARISON_SITES,
            )
            continue
        row.att = float(treated.mean() - w.comparison.mean())
        row.included = True
        if 0 < w.post_weeks < w.window_weeks:
            row.reason = words.ngettext(
                "post window still running: computed on the %(num)d week elapsed",
                "post window still running: computed on the %(num)d weeks elapsed",
                w.post_weeks,
            )
        if w.wave_id not in comparison_draws:
            comparison_draws[w.wave_id] = _boot_means(
                w.comparison, resamples, _rng(seed, w.wave_id, 0)
            )
        wave_draws = (
            _boot_means(treated, resamples, _rng(seed, w.wave_id, 1, region_id))
            - comparison_draws[w.wave_id]
        )
        row.ci_low, row.ci_high = _interval(wave_draws)
        atts.append(row.att)
        weights.append(int(treated.size))
        draws.append(wave_draws)
    if not atts:
        if not waves:
            problem = words.lazy_gettext("the package has no deployment wave")
        elif all(w.skip for w in waves):
            problem = words.lazy_gettext(
                "no wave of the package has been live for a whole week yet"
            )
        elif any(r.n_treated and r.n_comparison < MIN_COMPARISON_SITES for r in out):
            problem = words.ngettext(
                "no wave has at least %(num)d comparison sites with data in both windows",
                "no wave has at least %(num)d comparison sites with data in both windows",
                MIN_COMPARISON_SITES,
            )
        elif region_id is not None:
            problem = words.lazy_gettext("no deployed site of this region has data in both windows")
        else:
            problem = words.lazy_gettext("no deployed site has data in both windows")
        return Estimate(None, None, None, 0, out, problem)
    weight = np.asarray(weights, dtype=float)
    point = float(np.dot(weight, atts) / weight.sum())
    programme_draws = (weight[:, None] * np.vstack(draws)).sum(axis=0) / weight.sum()
    low, high = _interval(programme_draws)
    return Estimate(point, low, high, int(weight.sum()), out)


# --- windows ---------------------------------------------------------------------------------


def split_window(
    start: date, end: date
) -> tuple[tuple[date, date] | None, list[tuple[date, date]]]:
    """[start, end) as (whole ISO weeks [first Monday, last Monday), partial day ranges).

    The whole weeks are read from the rollups, the partial days from the measurement
    table. A window of whole weeks (start and end on Mondays) has no partial days."""
    if end <= start:
        return None, []
    first = first_week_start(start)
    last = week_start(end)
    if first >= last:
        return None, [(start, end)]
    partial = []
    if start < first:
        partial.append((start, first))
    if last < end:
        partial.append((last, end))
    return (first, last), partial


@dataclass(frozen=True)
class WaveWindows:
    wave_id: int
    wave_name: str
    go_live: date
    pre: tuple[date, date]
    post: tuple[date, date]
    post_weeks: int
    sites: frozenset[int]
    skip: str | None


def wave_windows(
    waves: list[tuple[int, str, date]],
    wave_sites: dict[int, set[int]],
    window_weeks: int,
    today: date,
) -> list[WaveWindows]:
    """The pre and post windows of each wave; a wave not live for a whole week is skipped,
    a running one gets the whole weeks elapsed since go-live."""
    out = []
    for wave_id, name, go_live in waves:
        elapsed = (today - go_live).days // 7 if today >= go_live else -1
        post_weeks = max(0, min(window_weeks, elapsed))
        skip = None
        if go_live > today:
            skip = words.lazy_gettext("not live yet (go-live %(date)s)", date=words.date(go_live))
        elif post_weeks == 0:
            skip = words.lazy_gettext("live for less than a week")
        out.append(
            WaveWindows(
                wave_id=wave_id,
                wave_name=name,
                go_live=go_live,
                pre=(go_live - timedelta(weeks=window_weeks), go_live),
                post=(go_live, go_live + timedelta(weeks=post_weeks)),
                post_weeks=post_weeks,
                sites=frozenset(wave_sites.get(wave_id, ())),
                skip=skip,
            )
        )
    return out


# --- SQL readers -----------------------------------------------------------------------------


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


@dataclass
class Sums:
    """What one KPI's SQL returns: {(wave, phase, site): (Σ value·n, Σ n)} for the
    estimator, and {(wave, week since go-live, deployed?): (Σ value·n, Σ n, sites)} for
    the event-time chart."""

    phases: dict[tuple[int, int, int], tuple[float, float]]
    weeks: dict[tuple[int, int, bool], tuple[float, float, int]]


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


def wave_data(
    windows: list[WaveWindows],
    sums: dict[tuple[int, int, int], tuple[float, float]],
    site_regions: dict[int, int],
    first_live: dict[int, date],
    window_weeks: int,
) -> list[WaveData]:
    """Site-level Δ per wave: treated (the wave's sites) and comparison (not yet treated at
    the end of the post window, never-deployed included), with missing-data counts."""
    means: dict[tuple[int, int, int], float] = {
        key: svn / sn for key, (svn, sn) in sums.items() if sn > 0
    }
    all_sites = np.fromiter(site_regions.keys(), dtype=np.int64)
    out = []
    for w in windows:
        if w.skip:
            out.append(
                WaveData(
                    w.wave_id,
                    w.wave_name,
                    w.go_live,
                    np.empty(0),
                    np.empty(0),
                    np.empty(0, np.int64),
                    post_weeks=w.post_weeks,
                    window_weeks=window_weeks,
                    skip=w.skip,
                )
            )
            continue
        post_end = w.post[1]

        def delta(site: int, wave_id: int = w.wave_id) -> float | None:
            pre = means.get((wave_id, PRE, site))
            post = means.get((wave_id, POST, site))
            return None if pre is None or post is None else post - pre

        treated, regions, missing_regions = [], [], []
        for site in sorted(w.sites):
            d = delta(site)
            if d is None:
                missing_regions.append(site_regions.get(site, -1))
            else:
                treated.append(d)
                regions.append(site_regions.get(site, -1))
        comparison, c_missing = [], 0
        for site in all_sites.tolist():
            if site in w.sites:
                continue
            live = first_live.get(site)
            if live is not None and live < post_end:
                continue
            d = delta(site)
            if d is None:
                c_missing += 1
            else:
                comparison.append(d)
        out.append(
            WaveData(
                wave_id=w.wave_id,
                wave_name=w.wave_name,
                go_live=w.go_live,
                treated=np.asarray(treated, dtype=float),
                comparison=np.asarray(comparison, dtype=float),
                treated_regions=np.asarray(regions, dtype=np.int64),
                n_treated_missing=len(missing_regions),
                missing_regions=np.asarray(missing_regions, dtype=np.int64),
                n_comparison_missing=c_missing,
                post_weeks=w.post_weeks,
                window_weeks=window_weeks,
            )
        )
    return out


def event_time(sums: Sums, wave_ids: set[int]) -> list[dict[str, Any]]:
    """Pooled weekly value (Σ value·n / Σ n) per week since go-live of the deployed sites
    and of the sites not yet deployed, summed over the given waves (those in the
    estimate). `sites` counts site-weeks: a site compared in two waves counts twice."""
    pooled: dict[tuple[int, bool], list[float]] = {}
    for (wave, k, deployed), (svn, sn, rows) in sums.weeks.items():
        if wave in wave_ids:
            acc = pooled.setdefault((k, deployed), [0.0, 0.0, 0])
            acc[0] += svn
            acc[1] += sn
            acc[2] += rows
    labels = {
        True: words.lazy_gettext("Deployed sites"),
        False: words.lazy_gettext("Sites not yet deployed"),
    }
    return [
        {
            "week": k,
            "arm": DEPLOYED if deployed else COMPARISON,
            "label": labels[deployed],
            "value": svn / sn,
            "n": int(sn),
            "sites": int(rows),
        }
        for (k, deployed), (svn, sn, rows) in sorted(
            pooled.items(), key=lambda item: (item[0][0], not item[0][1])
        )
        if sn
    ]


# --- the whole computation -------------------------------------------------------------------


def packages_with_waves(session: Session) -> list[Package]:
    ids = select(Wave.package_id).distinct()
    return list(session.scalars(select(Package).where(Package.id.in_(ids)).order_by(Package.name)))


def parse_window(value: Any) -> int:
    """Window weeks from a query string: an integer from 1 to 52, else ImpactInvalid."""
    if value is None or value == "":
        return DEFAULT_WINDOW_WEEKS
    text = str(value).strip()
    weeks = int(text) if text.isascii() and text.isdigit() else 0
    if not 1 <= weeks <= MAX_WINDOW_WEEKS:
        raise ImpactInvalid(
            {
                "window_weeks": _(
                    "The window must be a whole number of weeks from 1 to %(max)d.",
                    max=MAX_WINDOW_WEEKS,
                )
            }
        )
    return weeks


def resolve(
    session: Session,
    kpi_code: str,
    package_id: int | None,
    window_weeks: int,
    region_id: int | None = None,
) -> tuple[Kpi, Package | None, Region | None]:
    """The KPI, package and region named by the parameters, or ImpactInvalid listing every
    problem. The package may be left out when exactly one package has waves."""
    errors: dict[str, str] = {}
    kpi = session.scalar(select(Kpi).where(Kpi.code == (kpi_code or "").strip().upper()))
    if kpi is None:
        errors["kpi"] = _("Unknown KPI code: %(code)s.", code=kpi_code or "")
    if not isinstance(window_weeks, int) or not 1 <= window_weeks <= MAX_WINDOW_WEEKS:
        errors["window_weeks"] = _(
            "The window must be a whole number of weeks from 1 to %(max)d.", max=MAX_WINDOW_WEEKS
        )
    package = None
    if package_id is not None:
        package = session.get(Package, package_id)
        if package is None:
            errors["package"] = _("No such package.")
    else:
        candidates = packages_with_waves(session)
        if len(candidates) > 1:
            errors["package"] = _("Several packages have waves: choose one.")
        elif candidates:
            package = candidates[0]
    region = None
    if region_id is not None:
        region = session.get(Region, region_id)
        if region is None:
            errors["region"] = _("No such region.")
    if errors:
        raise ImpactInvalid(errors)
    return kpi, package, region  # type: ignore[return-value]


def compute_impact(
    session: Session,
    kpi_code: str,
    package_id: int | None = None,
    window_weeks: int = DEFAULT_WINDOW_WEEKS,
    region_id: int | None = None,
    resamples: int = RESAMPLES,
    seed: int = SEED,
    today: date | None = None,
    with_regions: bool = True,
    with_chart: bool = True,
    stale_ok: bool = False,
) -> ImpactResult:
    """Deployment impact of a package on one KPI (see the module docstring). Raises
    ImpactInvalid for an unknown KPI, package or region, or a window outside 1–52 weeks.

    `with_regions=False` skips the per-region estimates (only the impact screen shows
    them), `with_chart=False` the event-time series (the API has no use for it).

    Results are cached (in-process, at most RESULT_CACHE_SIZE, least recently used first
    out; also in Redis when configured) per parameters and day against `data_stamp` (no
    language: the reading is `Words`): when the stamp changed the estimate is recomputed
    synchronously, so a result is never stale — the API relies on that. With `stale_ok`
    (the impact screen, in "thread" refresh mode) the previous result comes at once after
    a change, its time noted for the page's "as of", while one background refresh runs
    (`programme.reports.cache.cached`). The cached result is shared between callers: read
    it, do not modify it."""
    today = today or date.today()
    args = (
        kpi_code,
        package_id,
        window_weeks,
        region_id,
        resamples,
        seed,
        today,
        with_regions,
        with_chart,
    )
    key = ("impact", str(session.get_bind().url), *args)
    if stale_ok and refresh_mode() == "thread":
        return report_cache.cached(
            session,
            key,
            lambda s: _compute_impact(s, *args),
            data_stamp,
        )
    stamp = data_stamp(session)  # read first: a change during the computation is not missed
    with _cache_lock:
        hit = _results.get(key)
        if hit is not None and hit[0] == stamp:
            _results.move_to_end(key)
            return hit[1]
    shared = report_cache.get_cache()
    if shared.shared:  # computed by another worker?
        entry = shared.get(key)
        if entry is not None and entry.stamp == stamp:
            _keep(key, stamp, entry.value)
            return entry.value
    started = time.time()
    result = _compute_impact(session, *args)
    _keep(key, stamp, result)
    if shared.shared:
        shared.set(key, report_cache.Entry(stamp, result, started))
    return result


def _keep(key: tuple, stamp: tuple, result: ImpactResult) -> None:
    with _cache_lock:
        _results[key] = (stamp, result)
        _results.move_to_end(key)
        while len(_results) > RESULT_CACHE_SIZE:
            _results.popitem(last=False)


def _compute_impact(
    session: Session,
    kpi_code: str,
    package_id: int | None,
    window_weeks: int,
    region_id: int | None,
    resamples: int,
    seed: int,
    today: date,
    with_regions: bool,
    with_chart: bool,
) -> ImpactResult:
    """`compute_impact` without its cache."""
    kpi, package, region = resolve(session, kpi_code, package_id, window_weeks, region_id)
    result = ImpactResult(
        kpi_code=kpi.code,
        kpi_id=kpi.id,
        package_id=package.id if package else None,
        window_weeks=window_weeks,
        estimate=None,
        ci_low=None,
        ci_high=None,
        n_sites=0,
        waves=[],
        reading="",
        kpi_name=words.kpi_name(kpi),
        kpi_subject=words.kpi_subject(kpi),
        kind=kpi.kind,
        better=kpi.better,
        unit=kpi.unit or "",
        package_name=package.name if package else "",
        region_id=region.id if region else None,
        region_name=region.name if region else None,
    )
    if package is None:
        result.reading = _not_computable(words.lazy_gettext("no package has deployment waves yet"))
        return result
    waves = session.execute(
        select(Wave.id, Wave.name, Wave.go_live)
        .where(Wave.package_id == package.id)
        .order_by(Wave.go_live, Wave.id)
    ).all()
    members: dict[int, set[int]] = {}
    first_live: dict[int, date] = {}
    for wave_id, site_id, go_live in session.execute(
        select(WaveSite.wave_id, WaveSite.site_id, Wave.go_live)
        .join(Wave, Wave.id == WaveSite.wave_id)
        .where(Wave.package_id == package.id)
    ):
        members.setdefault(wave_id, set()).add(site_id)
        if site_id not in first_live or go_live < first_live[site_id]:
            first_live[site_id] = go_live
    site_regions = dict(session.execute(select(Site.id, Site.region_id)).all())
    windows = wave_windows([(w.id, w.name, w.go_live) for w in waves], members, window_weeks, today)
    sums = read_sums(
        session,
        kpi.id,
        package.id,
        windows,
        window_weeks,
        region.id if region else None,
        chart=with_chart,
    )
    data = wave_data(windows, sums.phases, site_regions, first_live, window_weeks)

    shared: dict[int, np.ndarray] = {}
    network = estimate(data, resamples, seed, comparison_draws=shared)
    headline = network if region is None else estimate(data, resamples, seed, region.id, shared)
    result.estimate, result.ci_low, result.ci_high = (
        headline.estimate,
        headline.ci_low,
        headline.ci_high,
    )
    result.n_sites = headline.n_sites
    result.waves = headline.waves

    names = dict(session.execute(select(Region.id, Region.name)).all())
    regions_present = sorted(
        {
            int(r)
            for d in data
            if with_regions and d.treated_regions is not None
            for r in d.treated_regions
        },
        key=lambda rid: sort_key(names.get(rid, "")),
    )
    for rid in regions_present:
        est = estimate(data, resamples, seed, rid, shared)
        result.by_region.append(
            RegionImpact(
                region_id=rid,
                region_name=names.get(rid, str(rid)),
                estimate=est.estimate,
                ci_low=est.ci_low,
                ci_high=est.ci_high,
                n_sites=est.n_sites,
                n_waves=sum(1 for w in est.waves if w.included),
            )
        )
    result.event_time = event_time(sums, {w.wave_id for w in result.waves if w.included})
    result.reading = reading(result, headline.problem)
    return result


def sort_key(name: str) -> str:
    """Alphabetical order that puts "Île-de-France" among the I's."""
    return unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().casefold()


# --- plain-language reading ------------------------------------------------------------------


def amount(
    result: ImpactResult,
    value: float,
    signed: bool = False,
    reference: float | None = None,
    width: float | None = None,
) -> str:
    """A change in the KPI's unit; rates in percentage points (as in pilot results). The
    number of decimals follows `reference` (default: the value) so that an estimate and
    its interval read alike, with more decimals when the interval (`width`) is narrow."""
    return _amount(result.kind, result.unit, value, signed, reference, width)


def _amount(
    kind: str,
    unit: str,
    value: float,
    signed: bool = False,
    reference: float | None = None,
    width: float | None = None,
) -> str:
    scale = 100 if kind == "rate" else 1
    number = value * scale
    unit = _("pts") if kind == "rate" else unit
    ref = abs(number if reference is None else reference * scale)
    decimals = 1 if ref >= 1 or ref == 0 else 2
    if width:
        # enough decimals for the interval's two ends to differ (at most 3)
        decimals = max(decimals, min(3, math.ceil(-math.log10(abs(width) * scale))))
    pattern = "#,##0." + "0" * decimals
    if signed:
        pattern = f"+{pattern};-{pattern}"
    return f"{format_decimal(number, format=pattern)} {unit}".strip()


def _not_computable(reason) -> words.Words:
    return words.lazy_gettext("Not computable: %(reason)s.", reason=reason)


def reading(result: ImpactResult, problem=None) -> words.Words:
    """One paragraph a director can read aloud; it never claims more than the interval.
    Worded when shown (`programme.web.words`): the cached result serves every language."""
    if result.estimate is None or result.ci_low is None or result.ci_high is None:
        return _not_computable(problem or words.lazy_gettext("no wave could be compared"))
    kpi = getattr(result, "kpi_subject", None) or result.kpi_name  # older cache entries
    subject = (
        words.lazy_gettext("%(kpi)s, %(region)s", kpi=kpi, region=result.region_name)
        if result.region_name
        else kpi
    )
    same = (abs(result.estimate), result.ci_high - result.ci_low)

    def amount_words(value: float, signed: bool = True) -> words.Later:
        return words.later(_amount, result.kind, result.unit, value, signed, *same)

    values = {
        "kpi": subject,
        "amount": amount_words(abs(result.estimate), signed=False),
        "change": amount_words(result.estimate),
        "low": amount_words(result.ci_low),
        "high": amount_words(result.ci_high),
    }
    if result.clear_effect and result.estimate < 0:
        text = words.lazy_gettext(
            "%(kpi)s: sites that deployed the package lowered it by %(amount)s "
            "(95%% interval %(low)s to %(high)s) relative to sites not yet deployed",
            **values,
        )
    elif result.clear_effect:
        text = words.lazy_gettext(
            "%(kpi)s: sites that deployed the package raised it by %(amount)s "
            "(95%% interval %(low)s to %(high)s) relative to sites not yet deployed",
            **values,
        )
    else:
        text = words.lazy_gettext(
            "%(kpi)s: no clear effect of the package; estimated change %(change)s relative "
            "to sites not yet deployed (95%% interval %(low)s to %(high)s, which includes "
            "zero)",
            **values,
        )
    text = words.lazy_gettext(
        "%(reading)s, over %(weeks)s, %(waves)s, %(sites)s",
        reading=text,
        weeks=words.ngettext("%(num)d week", "%(num)d weeks", result.window_weeks),
        waves=words.ngettext("%(num)d wave", "%(num)d waves", result.n_waves),
        sites=words.ngettext(
            "%(count)s site",
            "%(count)s sites",
            result.n_sites,
            count=words.decimal(result.n_sites),
        ),
    )
    if result.favourable is True:
        text = words.lazy_gettext("%(reading)s: an improvement.", reading=text)
    elif result.favourable is False:
        text = words.lazy_gettext("%(reading)s: a change in the wrong direction.", reading=text)
    else:
        text = words.join([text, "."], "")
    notes = [text]
    left_out = [w for w in result.waves if not w.included]
    running = [w for w in result.waves if w.included and w.post_weeks < result.window_weeks]
    if running:
        notes.append(
            words.ngettext(
                "%(num)d wave is still within its post window: computed on the weeks elapsed.",
                "%(num)d waves are still within their post window: computed on the weeks elapsed.",
                len(running),
            )
        )
    if left_out:
        notes.append(
            words.ngettext(
                "%(num)d wave left out (see the table of waves).",
                "%(num)d waves left out (see the table of waves).",
                len(left_out),
            )
        )
    missing = sum(w.n_treated_missing for w in result.waves if w.included)
    if missing:
        notes.append(
            words.ngettext(
                "%(num)d deployed site without data in both windows was left out.",
                "%(num)d deployed sites without data in both windows were left out.",
                missing,
            )
        )
    return words.join(notes, " ")


# --- the executive home: cached headline figures ---------------------------------------------
#
# Stale-while-revalidate: the executive home must never pay for the bootstrap (≈ 0.8 s per KPI
# on the large network) after a data change. When the cached figures are out of date, the
# screens get them at once, marked stale with the time they were computed, and one daemon
# thread per cache key recomputes them with its own app context and database session.
# Exports, snapshots and the API ask for `fresh=True` and wait. `IMPACT_REFRESH = "inline"`
# (tests) recomputes synchronously instead of starting a thread.

log = logging.getLogger(__name__)

# Audit entities (table names) whose changes can move an estimate.
AUDITED_INPUTS = ("wave", "wave_site", "site", "region", "kpi", "package")


class HeadlineImpacts(list):
    """The headline results (a list of ImpactResult, usable as before) with when they were
    computed (`computed_at`, aware UTC: the time their data was read), whether newer data
    exists (`stale`: a refresh is under way) and whether there are no figures yet
    (`pending`: the first computation is under way in the background; the list is empty
    and `computed_at` is None)."""

    def __init__(
        self,
        results=(),
        computed_at: datetime | None = None,
        stale: bool = False,
        pending: bool = False,
    ):
        super().__init__(results)
        self.computed_at = None if pending else (computed_at or datetime.now(UTC))
        self.stale = stale
        self.pending = pending

    @property
    def updating(self) -> bool:
        """A background computation will bring other figures: the screen polls for them."""
        return self.stale or self.pending

    def filtered(self, keep) -> HeadlineImpacts:
        """The results for which `keep(result)` is true, with the same time and staleness."""
        return HeadlineImpacts(
            [r for r in self if keep(r)], self.computed_at, self.stale, self.pending
        )

    def as_of(self) -> str:
        """When the figures were computed, in the user's time zone: "14:05", or the date
        and time when that was another day ("" while pending)."""
        if self.computed_at is None:
            return ""
        local = to_user_timezone(self.computed_at)
        if local.date() == to_user_timezone(datetime.now(UTC)).date():
            return format_time(self.computed_at, "HH:mm")
        return format_datetime(self.computed_at, "short")


def data_stamp(session: Session) -> tuple:
    """A cheap fingerprint of everything the estimate reads: the newest measurement,
    correction, wave and wave site, and the newest audit event about the records the
    estimate reads (waves, their sites, sites, regions, KPIs, packages) — each the row with
    the highest primary key (index lookups, one round trip), with its timestamp so that a
    database emptied and refilled does not match."""

    audited = AuditEvent.entity.in_(AUDITED_INPUTS)
    row = session.execute(
        select(
            newest_value(Measurement.id, Measurement.id),
            newest_value(Measurement.entered_at, Measurement.id),
            newest_value(MeasurementRevision.id, MeasurementRevision.id),
            newest_value(MeasurementRevision.replaced_at, MeasurementRevision.id),
            newest_value(AuditEvent.id, AuditEvent.id, audited),
            newest_value(AuditEvent.at, AuditEvent.id, audited),
            newest_value(Wave.id, Wave.id),
            newest_value(Wave.updated_at, Wave.id),
            newest_value(WaveSite.id, WaveSite.id),
        )
    ).one()
    return tuple(row)


refresh_mode = report_cache.refresh_mode


def headline_key(session: Session, window_weeks: int = DEFAULT_WINDOW_WEEKS) -> tuple:
    """The cache key of the headline figures: no language in it (results hold `Words`)."""
    return ("headline_impacts", str(session.get_bind().url), window_weeks)


def headline_impacts(
    session: Session,
    window_weeks: int = DEFAULT_WINDOW_WEEKS,
    today: date | None = None,
    fresh: bool = False,
) -> HeadlineImpacts:
    """One ImpactResult per active KPI of each package that has waves, cached (in Redis when
    configured, shared by every worker; else in the process) against `data_stamp` (plus the
    window and the day), so the executive home never recomputes the bootstrap on every
    request.

    When the data changed since the cached figures were computed, the previous figures come
    back at once marked `stale` and a background refresh starts (see the section comment),
    at most once per REPORT_REFRESH_SECONDS and in one worker at a time;
    `fresh=True` (exports, snapshots) recomputes synchronously instead. With no previous
    figures at all (first request of the network) the background computation starts and an
    empty result marked `pending` comes back at once (in "inline" mode, or with `fresh`,
    they are computed synchronously). After a write, `refresh_after_write` recomputes them
    in the background too, so the next screen finds them ready."""
    today = today or date.today()
    key = headline_key(session, window_weeks)
    stamp = (data_stamp(session), today)
    hit = report_cache.get_cache().get(key)
    if hit is not None and hit.stamp == stamp:
        return hit.value
    if fresh or refresh_mode() == "inline":
        return _recompute(session, key, window_weeks, today)
    _start_refresh(session, key, window_weeks, today, str(get_locale() or ""))
    if hit is None:
        return HeadlineImpacts(pending=True)
    return HeadlineImpacts(hit.value, hit.value.computed_at, stale=True)


def _recompute(session: Session, key: tuple, window_weeks: int, today: date) -> HeadlineImpacts:
    """Compute the headline figures now and keep them unless a newer run already did."""
    started = time.time()
    computed_at = datetime.now(UTC)
    stamp = (data_stamp(session), today)  # read first: a change during the run shows as stale
    # Volumes (count KPIs) are what value multiplies effects by, not outcomes to headline.
    kpis = list(
        session.scalars(
            select(Kpi).where(Kpi.active.is_(True), Kpi.kind != "count").order_by(Kpi.code)
        )
    )
    results = HeadlineImpacts(
        [
            compute_impact(
                session, kpi.code, package.id, window_weeks, today=today, with_regions=False
            )
            for package in packages_with_waves(session)
            for kpi in kpis
        ],
        computed_at,
    )
    cache = report_cache.get_cache()
    current = cache.get(key)
    if current is None or current.computed_at <= started:
        cache.set(key, report_cache.Entry(stamp, results, started))
    return results


def _start_refresh(
    session: Session, key: tuple, window_weeks: int, today: date, locale: str
) -> threading.Thread | None:
    """Start the background refresh of `key` unless one is already running (here or in
    another worker) or one ran less than REPORT_REFRESH_SECONDS ago."""
    gate = report_cache.refresh_gate(report_cache.get_cache(), key)
    gate.__enter__()
    if not gate.open:
        return None  # a refresh of these figures is under way, or has just run
    bind = session.get_bind()
    engine = getattr(bind, "engine", bind)  # a Connection is not shared across threads
    try:
        return report_cache.spawn(
            _refresh,
            current_app._get_current_object(),
            engine,
            key,
            window_weeks,
            today,
            locale,
            gate,
            name="impact-refresh",
        )
    except BaseException as error:
        gate.__exit__(type(error), error, None)
        raise


def _refresh(app, engine, key, window_weeks, today, locale, gate) -> None:
    """The background refresh: its own app context, language and session; errors logged."""
    failure = None
    try:
        language = force_locale(locale) if locale else nullcontext()
        with app.app_context(), language, Session(engine) as session:
            _recompute(session, key, window_weeks, today)
    except Exception as error:  # noqa: BLE001 - a failed refresh keeps the stale figures, never raises
        failure = error
        log.exception("background refresh of the headline impacts failed")
    finally:
        gate.__exit__(type(failure) if failure else None, failure, None)


def wait_for_refresh(timeout: float | None = None) -> bool:
    """Wait for the background refreshes under way (tests, benchmarks); True when none is
    left running within `timeout` seconds."""
    return report_cache.wait_for_refresh(timeout)


def clear_cache() -> None:
    """Forget the cached headline figures and compute_impact results (tests)."""
    with _cache_lock:
        _results.clear()
    report_cache.clear_all()


# --- chart -----------------------------------------------------------------------------------


def impact_chart(result: ImpactResult) -> dict[str, Any]:
    """Vega-Lite event-time chart: weeks since go-live on x, the pooled value of the deployed
    sites and of the sites not yet deployed on y, go-live marked by a rule. An empty dict
    when there is nothing to draw (no wave in the estimate)."""
    if not result.event_time:
        return {}
    y_title = f"{result.kpi_name} ({result.unit})" if result.unit else result.kpi_name
    drawn = [row.get("value") for row in result.event_time]
    y_axis, value_tip = value_axis(y_title, result.kind == "rate", drawn, zero=False)
    week_title = _("Weeks since go-live")
    return {
        "$schema": SCHEMA,
        "title": _("%(kpi)s by week since go-live", kpi=result.kpi_name),
        "width": "container",
        "height": 240,
        "autosize": {"type": "fit", "contains": "padding", "resize": True},
        "layer": [
            {
                "data": {"values": [{"week": 0, "label": _("Go-live")}]},
                "mark": {"type": "rule", "strokeDash": [4, 4], "color": "#6b7280"},
                "encoding": {
                    "x": {"field": "week", "type": "quantitative"},
                    "tooltip": [{"field": "label", "type": "nominal", "title": _("Event")}],
                },
            },
            {
                "data": {
                    "values": [
                        {**row, "label": words.text(row["label"])} for row in result.event_time
                    ]
                },
                "mark": {"type": "line", "point": True},
                "encoding": {
                    "x": {
                        "field": "week",
                        "type": "quantitative",
                        "title": week_title,
                        "scale": {"domain": [-result.window_weeks, result.window_weeks - 1]},
                        "axis": {"tickMinStep": 1, "format": "d"},
                    },
                    "y": {
                        "field": "value",
                        "type": "quantitative",
                        "axis": y_axis,
                        "scale": {"zero": False},
                    },
                    "color": {
                        "field": "label",
                        "type": "nominal",
                        "title": _("Sites"),
                        "scale": {"range": ["#2563eb", "#6b7280"]},
                        "legend": {"orient": "bottom", "direction": "vertical"},
                    },
                    "strokeDash": {"field": "label", "type": "nominal", "title": _("Sites")},
                    "tooltip": [
                        {"field": "week", "type": "quantitative", "title": week_title},
                        {"field": "label", "type": "nominal", "title": _("Sites")},
                        value_tip,
                        {"field": "sites", "type": "quantitative", "title": _("Sites measured")},
                        {"field": "n", "type": "quantitative", "title": "n"},
                    ],
                },
            },
        ],
    }
