"""The arithmetic of value by hand (issue 18): Δ × d × Q × u, the interval ends, Wave's
estimate rule and the draws behind P10/P50/P90."""

from __future__ import annotations

import numpy as np
import pytest

from programme.value import compute


def test_the_fcr_example_is_1260_euros():
    # first-contact resolution +0.03 × 10,000 contacts × €4.20 per repeat contact avoided
    assert compute.value(0.03, "higher", 10_000, 4.20) == pytest.approx(1260.0)


def test_a_lower_is_better_kpi_turns_a_fall_into_positive_money_and_swaps_the_ends():
    # waiting time −2 min (95 % interval −3 to −1) × 5,000 customers × €0.50 per minute
    assert compute.value(-2.0, "lower", 5_000, 0.5) == pytest.approx(5000.0)
    low, high = compute.value_interval(-3.0, -1.0, "lower", 5_000, 0.5)
    # −3 gives 7,500 and −1 gives 2,500: the ends swap so that low ≤ high
    assert (low, high) == pytest.approx((2500.0, 7500.0))
    # higher is better: no swap
    assert compute.value_interval(0.01, 0.05, "higher", 10_000, 4.2) == pytest.approx(
        (420.0, 2100.0)
    )


def test_standard_error_from_the_95_interval():
    assert compute.standard_error(0.01, 0.05) == pytest.approx(0.04 / (2 * 1.959964))


def test_the_wave_estimate_rule():
    planned = [10, 10, 15, 15]
    actual = [9, 8, None, None]
    forecast = [None, 12, 17, None]  # "forecast 12, 17": months 2 and 3
    assert compute.estimate(planned, actual, forecast) == [9, 8, 17, 15]
    assert compute.estimate([None], [None], [None]) == [None]


def test_draws_are_seeded_and_centred_on_the_point_value():
    rng = compute.rng()
    deltas = compute.effect_draws(0.03, 0.01, 0.05, rng)
    units = compute.unit_draws(3.5, 4.2, 5.0, rng)
    draws = compute.value_draws(deltas, units, "higher", [10_000, 10_000])
    assert draws.shape == (compute.DRAWS, 2)
    p = compute.percentiles(compute.total_draws(draws))
    assert p.p10 < 2 * 1260 < p.p90
    assert p.p50 == pytest.approx(2 * 0.03 * 10_000 * (3.5 + 4.2 + 5.0) / 3, rel=0.05)
    again = compute.value_draws(
        compute.effect_draws(0.03, 0.01, 0.05, compute.rng()),
        compute.unit_draws(3.5, 4.2, 5.0, compute.rng()),
        "higher",
        [10_000, 10_000],
    )
    assert compute.percentiles(again.sum(axis=1)).p50 == pytest.approx(
        compute.percentiles(np.asarray([*draws.sum(axis=1)])).p50, rel=0.05
    )


def test_portfolio_p10_is_at_least_the_sum_of_p10s_for_independent_packages():
    rng = compute.rng(7)
    first = compute.value_draws(
        compute.effect_draws(0.03, 0.0, 0.06, rng),
        compute.unit_draws(3, 4, 5, rng),
        "higher",
        [8_000],
    )
    second = compute.value_draws(
        compute.effect_draws(-1.5, -2.5, -0.5, rng),
        compute.unit_draws(0.3, 0.5, 0.6, rng),
        "lower",
        [6_000],
    )
    portfolio = compute.percentiles(compute.total_draws(first, second))
    separate = compute.percentiles(first[:, 0]).p10 + compute.percentiles(second[:, 0]).p10
    assert portfolio.p10 >= separate
    # and the P90 of the sum is at most the sum of the P90s
    assert (
        portfolio.p90
        <= compute.percentiles(first[:, 0]).p90 + compute.percentiles(second[:, 0]).p90
    )


def test_packages_sharing_a_delta_share_its_draws():
    rng = compute.rng()
    deltas = compute.effect_draws(0.03, 0.01, 0.05, rng)
    a = compute.value_draws(deltas, np.full(compute.DRAWS, 4.0), "higher", [1_000])
    b = compute.value_draws(deltas, np.full(compute.DRAWS, 4.0), "higher", [1_000])
    # the same Δ draws: perfectly correlated, the total's P10 is exactly twice one P10
    assert compute.percentiles(compute.total_draws(a, b)).p10 == pytest.approx(
        2 * compute.percentiles(a[:, 0]).p10
    )


def test_unit_values_out_of_order_are_refused():
    with pytest.raises(ValueError):
        compute.unit_draws(5, 4, 6, compute.rng())
    assert set(compute.unit_draws(4, 4, 4, compute.rng(), n=3)) == {4.0}
