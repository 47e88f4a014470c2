"""Pilot statistics against scipy and hand-computed fixtures (pure functions)."""

from __future__ import annotations

import math
from datetime import date
from types import SimpleNamespace

import pytest
from scipy import stats

from programme.pilots.results import (
    CONTROL,
    PILOT,
    Periods,
    PhaseMean,
    SiteData,
    estimate,
    expected_periods,
    minimum_detectable_effect,
    summarise,
)

PERIODS = Periods(date(2026, 1, 5), date(2026, 1, 18), date(2026, 1, 19), date(2026, 2, 1))
WAIT = SimpleNamespace(code="WAIT", kind="mean", better="lower", unit="min", period="day")
CONV = SimpleNamespace(code="CONV", kind="rate", better="higher", unit="", period="day")


@pytest.fixture(autouse=True)
def _english(app):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        yield


def site(site_id, arm, base, during, days=14):
    """`base`/`during` are (Σ value·n, Σ n)."""
    return SiteData(
        site_id, arm, PhaseMean(base[0], base[1], days), PhaseMean(during[0], during[1], days)
    )


def test_welch_matches_scipy_and_hand_computation():
    pilot, control = [-2.0, -3.0, -4.0], [0.0, 1.0]
    est = estimate(pilot, control)
    ref = stats.ttest_ind(pilot, control, equal_var=False)
    ci = ref.confidence_interval(0.95)
    # by hand: effect −3.5, se = √(1/3 + 0.5/2), Welch–Satterthwaite df
    se = math.sqrt(1 / 3 + 0.5 / 2)
    df = (1 / 3 + 0.25) ** 2 / ((1 / 3) ** 2 / 2 + 0.25**2 / 1)
    half = stats.t.ppf(0.975, df) * se
    assert est.method == "welch"
    assert est.effect == pytest.approx(-3.5)
    assert est.std_error == pytest.approx(se)
    assert est.df == pytest.approx(df) == pytest.approx(2.882353, rel=1e-6)
    assert (est.ci_low, est.ci_high) == pytest.approx((ci.low, ci.high))
    assert (est.ci_low, est.ci_high) == pytest.approx((-3.5 - half, -3.5 + half))
    assert est.p_value == pytest.approx(ref.pvalue)
    t = -3.5 / se
    assert est.p_value == pytest.approx(2 * stats.t.sf(abs(t), df))


def test_one_sample_without_control_matches_scipy_and_hand_computation():
    pilot = [-1.0, -2.0, -3.0, -6.0]
    est = estimate(pilot, None)
    ref = stats.ttest_1samp(pilot, 0.0)
    se = math.sqrt(14 / 3) / 2  # sd = √(Σ(x−x̄)²/3) = √(14/3), n = 4
    assert est.method == "one_sample"
    assert est.effect == pytest.approx(-3.0)
    assert est.std_error == pytest.approx(se)
    assert est.df == 3
    assert est.p_value == pytest.approx(ref.pvalue)
    half = stats.t.ppf(0.975, 3) * se
    assert (est.ci_low, est.ci_high) == pytest.approx((-3.0 - half, -3.0 + half))


def test_identical_changes_give_no_interval_rather_than_a_false_certainty():
    est = estimate([-1.0, -1.0 + 1e-15, -1.0], None)
    assert est.effect == pytest.approx(-1.0)
    assert est.ci_low is None and est.p_value is None and est.problem


def test_too_few_sites_gives_a_point_estimate_without_interval():
    est = estimate([-2.0], [0.0, 1.0])
    assert est.effect == pytest.approx(-2.5)
    assert est.ci_low is None and est.p_value is None and est.problem
    assert estimate([], None).effect is None


def test_means_are_n_weighted_and_sites_weigh_equally():
    # Pilot site 1: baseline 10 min over 100 customers → pilot 8 min; site 2: 12 → 9 with
    # very different n (sites weigh equally in the effect, not by n).
    sites = [
        site(1, PILOT, (1000, 100), (800, 100)),
        site(2, PILOT, (12 * 1000, 1000), (9 * 10, 10)),
        site(3, PILOT, (11 * 50, 50), (9 * 50, 50)),
        site(4, CONTROL, (10 * 100, 100), (10.5 * 100, 100)),
        site(5, CONTROL, (12 * 100, 100), (11.5 * 100, 100)),
        site(6, CONTROL, (11 * 100, 100), (11 * 100, 100)),
    ]
    result = summarise(WAIT, sites, PERIODS, target_relative=-0.2)
    pilot_d, control_d = [-2.0, -3.0, -2.0], [0.5, -0.5, 0.0]
    ref = stats.ttest_ind(pilot_d, control_d, equal_var=False)
    assert result.effect == pytest.approx(-7 / 3)
    assert result.baseline_mean == pytest.approx(11.0)
    assert result.pilot_mean == pytest.approx(26 / 3)
    assert result.relative_effect == pytest.approx((-7 / 3) / 11)
    assert result.p_value == pytest.approx(ref.pvalue)
    assert result.ci_high < 0
    assert result.n_pilot_sites == 3 and result.n_control_sites == 3
    assert result.completeness == pytest.approx(1.0)
    assert result.customers == sum(s.baseline.sum_n + s.pilot.sum_n for s in sites)
    # Fewer than 10 sites per arm: the randomization test leads, and with 3 + 3 sites its
    # smallest possible p-value is 2 / C(6, 3) = 0.1, so no effect can be claimed although
    # Welch's interval is below zero.
    assert result.leading == "randomization"
    assert not result.clear_effect and not result.target_reached
    assert result.reading.startswith("WAIT: estimated change")
    assert "the smallest p-value this design can ever give is 0.1" in result.reading
    assert "Placebo-in-space test" in result.reading
    assert "Welch's t-test, shown beside: -2.3 min, 95% CI" in result.reading
    assert "Caution" not in result.reading
    assert result.as_api()["target_reached"] is False


def test_welch_leads_with_ten_sites_per_arm():
    pilot_d = [-2.0, -3.0, -2.0, -2.5, -1.8, -2.2, -2.9, -2.4, -2.1, -2.6]
    control_d = [0.5, -0.5, 0.0, 0.2, -0.3, 0.1, 0.4, -0.2, 0.0, 0.3]
    sites = [site(i, PILOT, (1100, 100), ((11 + d) * 100, 100)) for i, d in enumerate(pilot_d)]
    sites += [
        site(20 + i, CONTROL, (1100, 100), ((11 + d) * 100, 100)) for i, d in enumerate(control_d)
    ]
    result = summarise(WAIT, sites, PERIODS, target_relative=-0.2)
    ref = stats.ttest_ind(pilot_d, control_d, equal_var=False)
    assert result.leading == "welch"
    assert result.p_value == pytest.approx(ref.pvalue)
    assert result.clear_effect and result.target_reached
    assert result.reading.startswith("WAIT fell by 2.4 min (-22%), 95% CI")
    assert "target -20% reached" in result.reading
    assert "Placebo-in-space" not in result.reading
    # the randomization result is still given beside it (C(20, 10) > 100,000: approximate)
    assert result.randomization.p_value < 0.05 and not result.randomization.exact


def test_target_not_reached_when_point_estimate_short_of_target():
    sites = [
        site(1, PILOT, (1000, 100), (900, 100)),
        site(2, PILOT, (1000, 100), (880, 100)),
        site(3, PILOT, (1000, 100), (910, 100)),
    ]
    result = summarise(WAIT, sites, PERIODS, target_relative=-0.2)
    assert result.clear_effect and not result.target_reached
    assert "target -20% not reached" in result.reading
    assert "No control sites" in result.reading


def test_rates_are_pooled_and_read_in_points():
    # Rate: Σ value·n is the number of successes. Baseline 30/100 and 10/100 pooled = 20 %.
    sites = [
        site(1, PILOT, (30 + 10, 200), (60, 200)),
        site(2, PILOT, (50, 200), (70, 200)),
        site(3, PILOT, (44, 200), (62, 200)),
        site(4, CONTROL, (40, 200), (42, 200)),
        site(5, CONTROL, (50, 200), (48, 200)),
        site(6, CONTROL, (46, 200), (47, 200)),
    ]
    result = summarise(CONV, sites, PERIODS, target_relative=0.1)
    pilot_d = [0.3 - 0.2, 0.35 - 0.25, 0.31 - 0.22]
    control_d = [0.21 - 0.2, 0.24 - 0.25, 0.235 - 0.23]
    ref = stats.ttest_ind(pilot_d, control_d, equal_var=False)
    ci = ref.confidence_interval()
    assert result.effect == pytest.approx(sum(pilot_d) / 3 - sum(control_d) / 3)
    assert (result.ci_low, result.ci_high) == pytest.approx((ci.low, ci.high))
    assert not result.target_reached  # 3 + 3 sites can never reach 5 %
    assert "+9.4 pts" in result.reading and result.reading.startswith("CONV: estimated change")


def test_interval_including_zero_never_claims_an_effect():
    sites = [
        site(1, PILOT, (1000, 100), (900, 100)),
        site(2, PILOT, (1000, 100), (1100, 100)),
        site(3, CONTROL, (1000, 100), (1000, 100)),
        site(4, CONTROL, (1000, 100), (1020, 100)),
    ]
    result = summarise(WAIT, sites, PERIODS, target_relative=-0.2)
    assert result.ci_low < 0 < result.ci_high
    assert not result.clear_effect and not result.target_reached
    assert result.reading.startswith("WAIT: estimated change")
    assert "No effect can be claimed" in result.reading
    assert "fell" not in result.reading
    assert "fewer than 3 sites per arm" in result.reading


def test_missing_days_lower_completeness_and_warn():
    days = expected_periods("day", PERIODS.baseline_start, PERIODS.baseline_end)
    assert days == 14
    sites = [
        site(1, PILOT, (1000, 100), (800, 100)),
        site(2, PILOT, (1000, 100), (790, 100)),
        SiteData(3, PILOT, PhaseMean(1000, 100, 4), PhaseMean(780, 100, 2)),
    ]
    result = summarise(WAIT, sites, PERIODS)
    assert result.site_days == 14 * 4 + 6
    assert result.completeness == pytest.approx(62 / 84)
    assert "data completeness is 74%, below 80%" in result.reading
    # a site without pilot-phase data drops out of the effect but still counts as expected
    sites.append(SiteData(4, PILOT, PhaseMean(1000, 100, 14), None))
    result = summarise(WAIT, sites, PERIODS)
    assert result.n_pilot_sites == 3 and result.n_pilot_sites_planned == 4
    assert result.effect == pytest.approx((-2.0 - 2.1 - 2.2) / 3)


def test_not_computable_reading_and_null_api_values():
    result = summarise(WAIT, [SiteData(1, PILOT, None, None)], PERIODS, target_relative=-0.2)
    api = result.as_api()
    assert api["effect"] is None and api["ci_low"] is None and api["p_value"] is None
    assert api["target_reached"] is False
    assert api["reading"].startswith("Not computable")


def test_minimum_detectable_effect():
    # 4 + 4 sites, σΔ = 1: (t.975,6 + t.8,6) · √(1/4 + 1/4)
    expected = (stats.t.ppf(0.975, 6) + stats.t.ppf(0.8, 6)) * math.sqrt(0.5)
    assert minimum_detectable_effect(1.0, 4, 4) == pytest.approx(expected)
    assert minimum_detectable_effect(2.0, 4, 4) == pytest.approx(2 * expected)
    one = (stats.t.ppf(0.975, 3) + stats.t.ppf(0.8, 3)) * 0.5
    assert minimum_detectable_effect(1.0, 4, 0) == pytest.approx(one)
    assert minimum_detectable_effect(1.0, 1, 4) is None
    assert minimum_detectable_effect(1.0, 8, 8) < minimum_detectable_effect(1.0, 4, 4)
