"""The impact computed and cached: `compute_impact` (one KPI of a package) and the
executive home's headline figures, refreshed in the background.

Both are cached through `programme.reports.cache` against `sql.data_stamp`; the keys hold
no language (results hold numbers and codes, worded by `wording.py` when shown).

- `compute_impact` keeps its results in the process (bounded, least recently used out) and
  in the shared cache; it recomputes synchronously when the stamp changed, so the API is
  never stale. With `stale_ok` (the impact screen, "thread" refresh mode) the previous
  result comes at once while one background refresh runs (`cache.cached`).
- `headline_impacts` (executive home, exports): after a data change, the previous figures
  at once, marked stale with the time they were computed, while one background thread per
  cache key recomputes them (`IMPACT_REFRESH = "inline"` recomputes synchronously, as in
  the tests); `fresh=True` (exports, snapshots) waits. With nothing cached yet, an empty
  result marked `pending` at once (the screen polls /reports/impact/headline).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from datetime import UTC, date, datetime

import numpy as np
from flask import current_app
from flask_babel import format_datetime, format_time, to_user_timezone
from sqlalchemy import select
from sqlalchemy.orm import Session

from programme.kpis.models import Kpi
from programme.reports import cache as report_cache
from programme.reports.impact import sql
from programme.reports.impact.estimator import (
    DEFAULT_WINDOW_WEEKS,
    NO_PACKAGE,
    RESAMPLES,
    SEED,
    Note,
    estimate,
    event_time,
    wave_data,
    wave_windows,
)
from programme.reports.impact.result import ImpactResult, RegionImpact, WaveImpact
from programme.reports.impact.sql import data_stamp
from programme.reports.impact.wording import kpi_name, kpi_subject, sort_key

log = logging.getLogger(__name__)

RESULT_CACHE_SIZE = 64  # compute_impact results kept in-process (one ≈ a few kB)

_cache_lock = threading.Lock()  # guards _results
# compute_impact's results: key → (data stamp, result), least recently used first.
_results: OrderedDict[tuple, tuple[tuple, ImpactResult]] = OrderedDict()

refresh_mode = report_cache.refresh_mode


# --- one KPI ---------------------------------------------------------------------------------


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
    `programme.errors.Invalid` for an unknown KPI, package or region, or a window outside
    1–52 weeks.

    `with_regions=False` skips the per-region estimates (only the impact screen shows
    them), `with_chart=False` the event-time series (the API has no use for it).

    Results are cached per parameters and day against `data_stamp` (see the module
    docstring). The cached result is shared between callers: read it, do not modify it."""
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
    kpi, package, region = sql.resolve(session, kpi_code, package_id, window_weeks, region_id)
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
        kpi_name=kpi_name(kpi),
        kpi_subject=kpi_subject(kpi),
        kind=kpi.kind,
        better=kpi.better,
        unit=kpi.unit or "",
        package_name=package.name if package else "",
        region_id=region.id if region else None,
        region_name=region.name if region else None,
    )
    if package is None:
        result.problem = Note(NO_PACKAGE)
        return result
    waves, members, first_live = sql.package_waves(session, package.id)
    site_regions = sql.site_regions(session)
    windows = wave_windows(waves, members, window_weeks, today)
    sums = sql.read_sums(
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
    result.waves = [WaveImpact(**vars(w)) for w in headline.waves]

    names = sql.region_names(session)
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
    result.problem = headline.problem
    return result


# --- the executive home: cached headline figures ---------------------------------------------


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


def headline_key(session: Session, window_weeks: int = DEFAULT_WINDOW_WEEKS) -> tuple:
    """The cache key of the headline figures (no language in it)."""
    return ("headline_impacts", str(session.get_bind().url), window_weeks)


def headline_impacts(
    session: Session,
    window_weeks: int = DEFAULT_WINDOW_WEEKS,
    today: date | None = None,
    fresh: bool | str = False,
) -> HeadlineImpacts:
    """One ImpactResult per active KPI of each package that has waves, cached (in Redis when
    configured, shared by every worker; else in the process) against `data_stamp` (plus the
    window and the day), so the executive home never recomputes the bootstrap on every
    request.

    When the data changed since the cached figures were computed, the previous figures come
    back at once marked `stale` and a background refresh starts,
    at most once per REPORT_REFRESH_SECONDS and in one worker at a time;
    `fresh=True` (snapshots) recomputes synchronously instead; `fresh="if_missing"`
    (exports) only when nothing is cached yet, else the previous figures, marked stale, while
    the background refresh runs: a network-scale export never waits for it. With no previous
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
    if fresh is True or refresh_mode() == "inline" or (fresh == "if_missing" and hit is None):
        return _recompute(session, key, window_weeks, today)
    _start_refresh(session, key, window_weeks, today)
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
            for package in sql.packages_with_waves(session)
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
    session: Session, key: tuple, window_weeks: int, today: date
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
            gate,
            name="impact-refresh",
        )
    except BaseException as error:
        gate.__exit__(type(error), error, None)
        raise


def _refresh(app, engine, key, window_weeks, today, gate) -> None:
    """The background refresh: its own app context and session (no language: the figures
    hold no words); errors logged."""
    failure = None
    try:
        with app.app_context(), Session(engine) as session:
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
