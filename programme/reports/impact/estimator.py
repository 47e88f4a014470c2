"""The deployment-impact estimator: pure functions on arrays, no SQL, no Flask, no words.

Staggered difference-in-differences against sites not yet treated:

- Window of W weeks. For each wave with go-live g: pre window [g − W weeks, g), post
  window [g, g + W weeks), the same calendar windows for every site.
- Per site, Δ = n-weighted mean over the post window − over the pre window.
- Comparison group of a wave: every site not in the wave whose own first go-live (in any
  wave of the package) is not before the end of the post window, never-deployed included.
- ATT_w = mean Δ of the wave's sites − mean Δ of its comparison sites (sites weigh
  equally); sites without data in either window are left out and counted.
- Programme estimate = mean of the ATT_w weighted by each wave's sites used; 95 % interval
  from a site-level bootstrap (within each wave and each comparison group, fixed seed).
- A wave with fewer than 5 comparison sites with data in both windows, or not live for a
  whole week, is left out; a wave whose post window is still running uses the whole weeks
  elapsed.
- Per region: the region's deployed sites against the same network-wide comparison pool.
- Event time: weeks since go-live (−W … W−1; week 0 is the ISO week holding go-live),
  pooled weekly value of the deployed sites vs their comparison sites.

Why a wave is left out, or an estimate is missing, is a `Note` (a code and its numbers);
`wording.py` turns notes and results into sentences when they are shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np

from programme.statistics import CONFIDENCE, pooled, weighted_mean
from programme.weeks import first_week_start, week_start

DEFAULT_WINDOW_WEEKS = 8
MAX_WINDOW_WEEKS = 52
MIN_COMPARISON_SITES = 5
RESAMPLES = 1000
SEED = 20261123
PRE, POST = 0, 1
DEPLOYED, COMPARISON = "deployed", "comparison"

# Note codes: why a wave is left out (or a remark on it), why an estimate is missing.
NOT_LIVE = "not_live"  # day: the go-live
LIVE_UNDER_A_WEEK = "live_under_a_week"
NO_TREATED = "no_treated"  # no deployed site with data in both windows
NO_TREATED_IN_REGION = "no_treated_in_region"
FEW_COMPARISON = "few_comparison"  # num: comparison sites with data in both windows
RUNNING = "running"  # num: weeks elapsed of the post window
NO_WAVE = "no_wave"  # the package has no wave
NONE_LIVE = "none_live"  # no wave live for a whole week
NO_WAVE_WITH_COMPARISON = "no_wave_with_comparison"  # num: the minimum
NO_PACKAGE = "no_package"  # no package has waves
NONE_COMPARED = "none_compared"


@dataclass(frozen=True)
class Note:
    """A reason or remark as data: a code, and the number or day it mentions."""

    code: str
    num: int | None = None
    day: date | None = None


# --- the statistics --------------------------------------------------------------------------


@dataclass
class WaveEstimate:
    """One wave's figures: its effect (ATT) and interval, the sites used and left out, and
    whether it counts in the estimate (`note`: why not, or a remark)."""

    wave_id: int
    wave_name: str
    go_live: date
    att: float | None
    n_treated: int  # wave sites with data in both windows (used)
    n_comparison: int  # comparison sites with data in both windows (used)
    n_treated_missing: int  # wave sites left out: no data in one window or both
    n_comparison_missing: int
    included: bool  # counted in the programme estimate
    note: Note | None  # why left out, or a remark (post window still running)
    ci_low: float | None = None
    ci_high: float | None = None
    post_weeks: int = 0  # weeks of the post window used (< window when still running)


@dataclass
class WaveData:
    """One wave's site-level changes: Δ of each wave site and of each comparison site with
    data in both windows, the wave sites' regions, and the counts of sites left out.
    `skip` is a reason to leave the wave out before any arithmetic (not live yet)."""

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
    skip: Note | None = None


@dataclass
class Estimate:
    estimate: float | None
    ci_low: float | None
    ci_high: float | None
    n_sites: int
    waves: list[WaveEstimate]
    problem: Note | None = None  # why the estimate is missing


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
    no_treated = Note(NO_TREATED_IN_REGION if region_id is not None else NO_TREATED)
    out: list[WaveEstimate] = []
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
        row = WaveEstimate(
            wave_id=w.wave_id,
            wave_name=w.wave_name,
            go_live=w.go_live,
            att=None,
            n_treated=int(treated.size),
            n_comparison=int(w.comparison.size),
            n_treated_missing=missing_treated,
            n_comparison_missing=w.n_comparison_missing,
            included=False,
            note=w.skip,
            post_weeks=w.post_weeks,
        )
        out.append(row)
        if w.skip:
            continue
        if treated.size == 0:
            row.note = no_treated
            continue
        if w.comparison.size < MIN_COMPARISON_SITES:
            row.note = Note(FEW_COMPARISON, int(w.comparison.size))
            continue
        row.att = float(treated.mean() - w.comparison.mean())
        row.included = True
        if 0 < w.post_weeks < w.window_weeks:
            row.note = Note(RUNNING, w.post_weeks)
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
            problem = Note(NO_WAVE)
        elif all(w.skip for w in waves):
            problem = Note(NONE_LIVE)
        elif any(r.n_treated and r.n_comparison < MIN_COMPARISON_SITES for r in out):
            problem = Note(NO_WAVE_WITH_COMPARISON, MIN_COMPARISON_SITES)
        else:
            problem = no_treated
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
    skip: Note | None


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
            skip = Note(NOT_LIVE, day=go_live)
        elif post_weeks == 0:
            skip = Note(LIVE_UNDER_A_WEEK)
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


@dataclass
class Sums:
    """What one KPI's SQL returns: {(wave, phase, site): (Σ value·n, Σ n)} for the
    estimator, and {(wave, week since go-live, deployed?): (Σ value·n, Σ n, sites)} for
    the event-time chart."""

    phases: dict[tuple[int, int, int], tuple[float, float]]
    weeks: dict[tuple[int, int, bool], tuple[float, float, int]]


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
        key: mean for key, (svn, sn) in sums.items() if (mean := weighted_mean(svn, sn)) is not None
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
    (arm DEPLOYED) and of the sites not yet deployed (COMPARISON), summed over the given
    waves (those in the estimate). `sites` counts site-weeks: a site compared in two waves
    counts twice."""
    totals = pooled(
        ((k, deployed), svn, sn, rows)
        for (wave, k, deployed), (svn, sn, rows) in sums.weeks.items()
        if wave in wave_ids
    )
    return [
        {
            "week": k,
            "arm": DEPLOYED if deployed else COMPARISON,
            "value": svn / sn,
            "n": int(sn),
            "sites": int(rows),
        }
        for (k, deployed), (svn, sn, rows) in sorted(
            totals.items(), key=lambda item: (item[0][0], not item[0][1])
        )
        if sn
    ]
