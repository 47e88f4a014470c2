"""Deployment impact estimator on hand-made arrays (pure functions, no database)."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest

from programme.reports.impact import (
    MIN_COMPARISON_SITES,
    ImpactResult,
    WaveData,
    estimate,
    reading,
    split_window,
    wave_data,
    wave_windows,
)
from programme.reports.impact.wording import note_words

GO = date(2026, 3, 2)  # a Monday


@pytest.fixture(autouse=True)
def _english(app):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        yield


def wave(wave_id, treated, comparison, regions=None, **extra) -> WaveData:
    return WaveData(
        wave_id=wave_id,
        wave_name=f"Wave {wave_id}",
        go_live=GO,
        treated=np.asarray(treated, float),
        comparison=np.asarray(comparison, float),
        treated_regions=np.asarray(regions if regions is not None else [1] * len(treated)),
        post_weeks=8,
        window_weeks=8,
        **extra,
    )


def test_att_of_one_wave_by_hand():
    # treated Δ mean = (−2 −3 −1)/3 = −2; comparison Δ mean = (0 + 1 − 1 + 0.5 − 0.5)/5 = 0
    result = estimate([wave(1, [-2, -3, -1], [0, 1, -1, 0.5, -0.5])], resamples=1000)
    assert result.waves[0].att == pytest.approx(-2.0)
    assert result.estimate == pytest.approx(-2.0)
    assert result.n_sites == 3
    assert result.waves[0].included
    assert result.ci_low < -2.0 < result.ci_high
    assert result.ci_high < 0  # the sites all fell, the comparison sites did not


def test_programme_estimate_is_weighted_by_the_sites_used():
    first = wave(1, [-2.0] * 3, [0.0] * 5)  # ATT −2 over 3 sites
    second = wave(2, [-1.0] * 6, [0.5] * 5)  # ATT −1.5 over 6 sites
    result = estimate([first, second])
    assert [w.att for w in result.waves] == pytest.approx([-2.0, -1.5])
    assert result.estimate == pytest.approx((3 * -2.0 + 6 * -1.5) / 9)
    assert result.n_sites == 9
    # no spread at all: the interval collapses on the estimate
    assert result.ci_low == pytest.approx(result.estimate)
    assert result.ci_high == pytest.approx(result.estimate)


def test_a_wave_with_fewer_than_five_comparison_sites_is_left_out_and_said_so():
    few = wave(1, [-5.0, -5.0], [0.0] * (MIN_COMPARISON_SITES - 1))
    enough = wave(2, [-1.0, -1.0], [0.0] * MIN_COMPARISON_SITES)
    result = estimate([few, enough])
    left, kept = result.waves
    assert not left.included and left.att is None
    assert "fewer than 5 comparison sites" in note_words(left.note)
    assert kept.included
    assert result.estimate == pytest.approx(-1.0)
    assert result.n_sites == 2


def test_no_wave_with_enough_comparison_sites_is_not_computable():
    result = estimate([wave(1, [-1.0], [0.0, 0.0])])
    assert result.estimate is None and result.ci_low is None
    assert "at least 5 comparison sites" in note_words(result.problem)


def test_bootstrap_is_reproducible_and_covers_the_sampling_spread():
    rng = np.random.default_rng(1)
    waves = [wave(i, -1.5 + rng.normal(0, 1, 40), rng.normal(0, 1, 200)) for i in range(3)]
    a, b = estimate(waves, seed=7), estimate(waves, seed=7)
    assert (a.ci_low, a.ci_high) == (b.ci_low, b.ci_high)
    assert a.ci_low < -1.5 < a.ci_high
    # the interval is about ± 1.96 × SE, SE ≈ sqrt(1/120 + 1/600)
    se = np.sqrt(1 / 120 + 1 / 600)
    assert a.ci_high - a.ci_low == pytest.approx(2 * 1.96 * se, rel=0.2)


def test_region_keeps_its_treated_sites_and_the_whole_comparison_pool():
    w = wave(1, [-4.0, -4.0, -1.0], [0.0] * 6, regions=[10, 10, 20])
    north = estimate([w], region_id=10)
    south = estimate([w], region_id=20)
    elsewhere = estimate([w], region_id=30)
    assert north.estimate == pytest.approx(-4.0) and north.n_sites == 2
    assert south.estimate == pytest.approx(-1.0) and south.n_sites == 1
    assert north.waves[0].n_comparison == 6
    assert elsewhere.estimate is None
    assert "region" in note_words(elsewhere.problem)


def test_split_window_keeps_whole_iso_weeks_for_the_rollups():
    assert split_window(GO, GO + timedelta(weeks=8)) == ((GO, GO + timedelta(weeks=8)), [])
    wednesday = GO + timedelta(days=2)
    whole, partial = split_window(wednesday, wednesday + timedelta(weeks=2))
    assert whole == (GO + timedelta(weeks=1), GO + timedelta(weeks=2))
    assert partial == [
        (wednesday, GO + timedelta(weeks=1)),
        (GO + timedelta(weeks=2), wednesday + timedelta(weeks=2)),
    ]
    assert split_window(wednesday, wednesday + timedelta(days=3)) == (
        None,
        [(wednesday, wednesday + timedelta(days=3))],
    )


def test_waves_not_live_or_still_running():
    today = GO + timedelta(weeks=3, days=2)
    waves = [(1, "Done", GO - timedelta(weeks=20)), (2, "Running", GO), (3, "Later", today)]
    done, running, later = wave_windows(waves, {}, 8, today)
    assert done.skip is None and done.post_weeks == 8
    assert running.skip is None and running.post_weeks == 3
    assert running.post == (GO, GO + timedelta(weeks=3))
    assert running.pre == (GO - timedelta(weeks=8), GO)
    assert note_words(later.skip) == "live for less than a week"
    future = wave_windows([(4, "Future", today + timedelta(days=1))], {}, 8, today)[0]
    assert note_words(future.skip).startswith("not live yet")


def _sums(deltas: dict[int, tuple[float, float] | None], wave_id: int = 1) -> dict:
    """(pre mean, post mean) per site as phase sums with n = 10."""
    out = {}
    for site, means in deltas.items():
        if means is None:
            continue
        pre, post = means
        if pre is not None:
            out[(wave_id, 0, site)] = (pre * 10, 10)
        if post is not None:
            out[(wave_id, 1, site)] = (post * 10, 10)
    return out


def test_staggered_adoption_and_missing_data():
    """Site 4 goes live inside the post window of wave 1: not a comparison site. Site 5 goes
    live after it: a comparison site. Sites 6-9 were never deployed. Site 2 has no post data
    and site 9 no pre data: left out and counted."""
    w = wave_windows([(1, "Wave 1", GO)], {1: {1, 2, 3}}, 8, GO + timedelta(weeks=30))
    first_live = {
        1: GO,
        2: GO,
        3: GO,
        4: GO + timedelta(weeks=4),
        5: GO + timedelta(weeks=8),
    }
    regions = {site: 1 for site in range(1, 10)}
    sums = _sums(
        {
            1: (10, 8),
            2: (10, None),
            3: (12, 9),
            4: (10, 5),
            5: (10, 10),
            6: (10, 11),
            7: (10, 9),
            8: (10, 10),
            9: (None, 10),
        }
    )
    regions[2] = 2  # the silent wave site is in region 2
    (data,) = wave_data(w, sums, regions, first_live, 8)
    assert sorted(data.treated.tolist()) == [-3.0, -2.0]
    assert data.n_treated_missing == 1
    assert sorted(data.comparison.tolist()) == [-1.0, 0.0, 0.0, 1.0]  # 5, 6, 7, 8; not 4
    assert data.n_comparison_missing == 1  # site 9
    result = estimate([data])
    assert result.estimate is None  # 4 comparison sites < 5: left out
    assert result.waves[0].n_comparison_missing == 1
    assert estimate([data], region_id=1).waves[0].n_treated_missing == 0
    assert estimate([data], region_id=2).waves[0].n_treated_missing == 1


def _result(**values) -> ImpactResult:
    base = dict(
        kpi_code="WAIT",
        kpi_id=1,
        package_id=1,
        window_weeks=8,
        estimate=-1.4,
        ci_low=-1.9,
        ci_high=-0.9,
        n_sites=1640,
        waves=[],
        kpi_name="Waiting time",
        unit="min",
        better="lower",
    )
    base.update(values)
    return ImpactResult(**base)


def test_reading_says_the_effect_the_interval_and_the_scope():
    from programme.reports.impact import WaveImpact

    waves = [
        WaveImpact(i, f"W{i}", GO, -1.4, 180, 900, 0, 3, True, None, post_weeks=8) for i in range(9)
    ]
    text = reading(_result(waves=waves))
    assert text == (
        "Waiting time: sites that deployed the package lowered it by 1.4 min "
        "(95% interval -1.9 min to -0.9 min) relative to sites not yet deployed, "
        "over 8 weeks, 9 waves, 1,640 sites: an improvement."
    )


def test_reading_never_claims_more_than_the_interval():
    unclear = reading(_result(estimate=-0.3, ci_low=-0.8, ci_high=0.2))
    assert unclear.startswith("Waiting time: no clear effect of the package")
    assert "includes zero" in unclear
    wrong = reading(_result(estimate=0.02, ci_low=0.01, ci_high=0.03, kind="rate", unit=""))
    assert "raised it by 2.0 pts" in wrong
    assert "a change in the wrong direction" in wrong
    assert reading(_result(estimate=None), "no reason") == "Not computable: no reason."
    narrow = reading(_result(estimate=-1.505, ci_low=-1.52, ci_high=-1.49))
    assert "lowered it by 1.50 min (95% interval -1.52 min to -1.49 min)" in narrow
