"""Randomization inference adjusted on the baseline, against reference implementations:
scipy.stats.permutation_test (exact and resampled), statsmodels OLS, the plain
difference-in-differences, brute-force enumeration of within-pair swaps, and the interval
ends checked by scipy on both sides."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import statsmodels.api as sm
from scipy import stats

from programme.pilots import randomization as rz


def _diff(x, y, axis):
    return np.mean(x, axis=axis) - np.mean(y, axis=axis)


def _scipy(pilot, control, n_resamples=np.inf, rng=None, kind="independent"):
    return stats.permutation_test(
        (pilot, control),
        _diff,
        permutation_type=kind,
        vectorized=True,
        n_resamples=n_resamples,
        alternative="two-sided",
        rng=rng,
    )


def _sites(seed, k, m, effect=0.0):
    rng = np.random.default_rng(seed)
    level = rng.normal(100, 15, size=k + m)
    x = level + rng.normal(0, 3, size=k + m)
    y = 0.8 * level + 20 + rng.normal(0, 3, size=k + m)
    y[:k] += effect
    return x[:k], y[:k], x[k:], y[k:]


def _adjusted(xp, yp, xc, yc):
    x, y = np.concatenate([xp, xc]), np.concatenate([yp, yc])
    theta = float(sm.OLS(y, sm.add_constant(x)).fit().params[1])
    z = y - theta * (x - x.mean())
    return theta, z[: len(xp)], z[len(xp) :]


@pytest.mark.parametrize("seed,k,m", [(1, 4, 8), (2, 3, 5), (3, 2, 6), (4, 5, 5)])
def test_exact_effect_theta_and_p_match_scipy_and_statsmodels(seed, k, m):
    xp, yp, xc, yc = _sites(seed, k, m, effect=4.0)
    result = rz.randomization_test(xp, yp, xc, yc)
    theta, zp, zc = _adjusted(xp, yp, xc, yc)
    ref = _scipy(zp, zc)
    assert result.exact
    assert result.n_assignments == math.comb(k + m, k)
    assert result.theta == pytest.approx(theta, abs=1e-10)
    assert result.effect == pytest.approx(float(ref.statistic), abs=1e-9)
    assert result.p_value == pytest.approx(float(ref.pvalue), abs=1e-9)
    assert result.min_p == pytest.approx(min(1, 2 / math.comb(k + m, k)))


def test_resampled_p_matches_scipy_with_the_same_seed():
    xp, yp, xc, yc = _sites(5, 10, 12, effect=2.0)  # C(22, 10) = 646,646 > 100,000
    result = rz.randomization_test(xp, yp, xc, yc)
    _theta, zp, zc = _adjusted(xp, yp, xc, yc)
    ref = _scipy(zp, zc, n_resamples=rz.RESAMPLES, rng=rz.SEED)
    assert not result.exact
    assert result.n_assignments == math.comb(22, 10)
    assert result.effect == pytest.approx(float(ref.statistic), abs=1e-9)
    assert result.p_value == pytest.approx(float(ref.pvalue), abs=1e-9)


def test_ties_count_as_scipy_counts_them():
    # Integers shifted by 0.1: many null statistics equal the observed one up to rounding.
    pilot = np.array([1.1, 2.1, 3.1])
    control = np.array([0.1, 1.1, 2.1, 3.1, 2.1])
    plan = rz.all_reassignments(8, 3)
    assert rz.p_value(pilot, control, plan) == pytest.approx(
        float(_scipy(pilot, control).pvalue), abs=1e-12
    )


def test_theta_one_reproduces_difference_in_differences():
    xp, yp, xc, yc = [10.0, 12.0], [9.0, 13.5], [11.0, 11.0, 11.0], [12.0, 10.0, 11.5]
    # Same baseline everywhere: θ = 1 by definition.
    same = rz.randomization_test([5.0, 5.0], yp, [5.0, 5.0, 5.0], yc)
    assert same.theta == 1.0
    z = rz.adjusted(np.concatenate([xp, xc]), np.concatenate([yp, yc]), 1.0)
    did = np.mean(np.subtract(yp, xp)) - np.mean(np.subtract(yc, xc))
    assert float(z[:2].mean() - z[2:].mean()) == pytest.approx(did, abs=1e-12)
    assert same.effect == pytest.approx(np.mean(yp) - np.mean(yc), abs=1e-12)


def test_one_pilot_site_and_four_controls_can_never_reach_five_percent():
    result = rz.randomization_test([10.0], [20.0], [10.0, 11.0, 9.0, 10.5], [10.0, 11.2, 9.1, 10.4])
    assert result.min_p == pytest.approx(0.4)
    assert result.p_value == pytest.approx(0.4)  # the largest change of the five
    assert result.ci_low is None and result.ci_high is None
    assert result.problem == rz.TOO_FEW


@pytest.mark.parametrize("seed,k,m", [(11, 4, 8), (12, 3, 6), (13, 6, 6)])
def test_interval_ends_are_where_scipy_p_crosses_five_percent(seed, k, m):
    xp, yp, xc, yc = _sites(seed, k, m, effect=6.0)
    result = rz.randomization_test(xp, yp, xc, yc)
    _theta, zp, zc = _adjusted(xp, yp, xc, yc)
    assert result.ci_low < result.effect < result.ci_high
    delta = 1e-5
    for end, outward in ((result.ci_low, -1), (result.ci_high, 1)):
        inside = _scipy(zp - (end - outward * delta), zc).pvalue
        outside = _scipy(zp - (end + outward * delta), zc).pvalue
        assert inside >= 0.05 > outside


def _brute_force_paired(pilot, control):
    """Every swap pattern written out by hand; two-sided p = share of |T*| ≥ |T|."""
    d = np.asarray(pilot) - np.asarray(control)
    observed = d.mean()
    stats_ = [
        np.mean([s * di for s, di in zip(signs, d, strict=True)])
        for signs in itertools.product((1, -1), repeat=len(d))
    ]
    tol = 1e-12 * max(1, abs(observed))
    return sum(abs(t) >= abs(observed) - tol for t in stats_) / len(stats_)


@pytest.mark.parametrize("seed,pairs", [(21, 4), (22, 6), (23, 8)])
def test_paired_swaps_equal_brute_force_enumeration(seed, pairs):
    xp, yp, xc, yc = _sites(seed, pairs, pairs, effect=3.0)
    result = rz.randomization_test(xp, yp, xc, yc, pairs=True)
    _theta, zp, zc = _adjusted(xp, yp, xc, yc)
    assert result.randomized_design and result.exact
    assert result.n_assignments == 2**pairs
    assert result.min_p == pytest.approx(min(1, 2 / 2**pairs))
    assert result.p_value == pytest.approx(_brute_force_paired(zp, zc), abs=1e-12)
    # scipy's within-pair permutation gives the same
    assert result.p_value == pytest.approx(float(_scipy(zp, zc, kind="samples").pvalue), abs=1e-9)


def test_no_control_sites_gives_nothing_and_says_why():
    result = rz.randomization_test([1.0, 2.0], [1.5, 2.5], [], [])
    assert result.effect is None and result.p_value is None
    assert result.problem == rz.NO_CONTROL
    assert result.as_api()["min_p"] is None


def _history(seed, sites, weeks, sd):
    from datetime import date, timedelta

    rng = np.random.default_rng(seed)
    monday = date(2025, 1, 6)
    return {
        s: {
            monday + timedelta(weeks=w): (float((10 + s + rng.normal(0, sd)) * 100), 100)
            for w in range(weeks)
        }
        for s in sites
    }


def test_randomization_mde_is_the_80th_percentile_of_the_windows_interval_reach():
    from programme.pilots.services import randomization_mde

    sites = list(range(8))
    history = _history(1, sites, 30, 0.5)
    mde, windows = randomization_mde(history, sites[:4], sites[4:], 4, 4)
    assert windows == 30 - 8 + 1
    # by hand: every window's interval, then the draws with the same seed
    from datetime import timedelta

    first = min(history[0])
    reach = []
    for i in range(windows):
        start, cut = first + timedelta(weeks=i), first + timedelta(weeks=i + 4)

        def mean(site, begin):
            rows = [history[site][begin + timedelta(weeks=j)] for j in range(4)]
            return sum(r[0] for r in rows) / sum(r[1] for r in rows)

        r = rz.randomization_test([mean(s, start) for s in sites[:4]],
                                  [mean(s, cut) for s in sites[:4]],
                                  [mean(s, start) for s in sites[4:]],
                                  [mean(s, cut) for s in sites[4:]])  # fmt: skip
        reach.append(max(-r.ci_low, r.ci_high))
    draws = np.random.default_rng(20_261_206).integers(0, windows, size=500)
    assert mde == pytest.approx(np.quantile([reach[i] for i in draws], 0.8, method="inverted_cdf"))
    # noisier sites need a larger effect to be detected
    noisy, _w = randomization_mde(_history(1, sites, 30, 2.0), sites[:4], sites[4:], 4, 4)
    assert noisy > mde
    # too short a history: nothing to simulate on
    assert randomization_mde(_history(1, sites, 6, 0.5), sites[:4], sites[4:], 4, 4) == (None, 0)


@pytest.mark.parametrize("seed,k,m", [(31, 4, 8), (32, 10, 12), (33, 1, 9)])
def test_shifted_p_values_equal_the_direct_computation(seed, k, m):
    xp, yp, xc, yc = _sites(seed, k, m, effect=2.0)
    _theta, zp, zc = _adjusted(xp, yp, xc, yc)
    plan = rz.all_reassignments(k + m, k)
    fast = rz.ShiftedPValues(zp, zc, plan)
    for tau in np.linspace(-15, 15, 61):
        assert fast(tau) == pytest.approx(rz.p_value(zp - tau, zc, plan), abs=1e-12)
