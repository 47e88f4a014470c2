"""Synthetic control against an independent solve (scipy minimize, SLSQP) and by hand."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import minimize

from programme.pilots import synthetic as sc


def _slsqp(target, donors):
    j = donors.shape[1]
    res = minimize(
        lambda w: float(np.sum((target - donors @ w) ** 2)),
        np.full(j, 1 / j),
        jac=lambda w: -2 * donors.T @ (target - donors @ w),
        method="SLSQP",
        bounds=[(0, 1)] * j,
        constraints=[{"type": "eq", "fun": lambda w: np.sum(w) - 1}],
        options={"ftol": 1e-14, "maxiter": 1000},
    )
    assert res.success
    return res.x


@pytest.mark.parametrize("seed,weeks,donors", [(1, 12, 5), (2, 8, 6), (3, 20, 10), (4, 6, 4)])
def test_weights_match_an_slsqp_solve(seed, weeks, donors):
    rng = np.random.default_rng(seed)
    d = rng.normal(10, 2, size=(weeks, donors)) + rng.normal(0, 1, size=(weeks, 1))
    # a target partly outside the donors' hull: the weights are unique
    t = d[:, :3] @ np.array([0.5, 0.3, 0.2]) + rng.normal(0, 0.5, size=weeks) + 0.3
    ours = sc.fit_weights(t, d)
    ref = _slsqp(t, d)
    assert ours.min() >= 0 and ours.sum() == pytest.approx(1, abs=1e-12)
    np.testing.assert_allclose(ours, ref, atol=1e-4)


def test_effect_rmspe_and_placebo_p_by_hand():
    weeks = list(range(10))
    pre, post = weeks[:6], weeks[6:]
    rng = np.random.default_rng(5)
    donors = {f"D{j}": {w: 10 + j * 0.5 + rng.normal(0, 0.2) for w in weeks} for j in range(5)}
    pilot = {
        w: donors["D1"][w] * 0.5 + donors["D2"][w] * 0.5 + (-2 if w in post else 0) for w in weeks
    }
    result = sc.synthetic_control({"P": pilot}, donors, pre, post)
    fit = result.fits[0]
    assert fit.weights["D1"] == pytest.approx(0.5, abs=1e-6)
    assert fit.weights["D2"] == pytest.approx(0.5, abs=1e-6)
    assert result.effect == pytest.approx(-2.0, abs=1e-6)
    assert fit.pre_rmspe == pytest.approx(0, abs=1e-6)
    # every donor refitted on the other four fits its pre period less well than the pilot:
    # the pilot's ratio is the largest, p = 1 / (5 + 1)
    ratios = [p.ratio for p in result.placebos]
    assert all(r < fit.ratio for r in ratios)
    assert result.p_value == pytest.approx(1 / 6)
    # one placebo by hand: donor D0 against D1..D4
    others = np.array([[donors[d][w] for d in ["D1", "D2", "D3", "D4"]] for w in weeks])
    series = np.array([donors["D0"][w] for w in weeks])
    w = _slsqp(series[:6], others[:6])
    gaps = series - others @ w
    manual = np.sqrt(np.mean(gaps[6:] ** 2)) / np.sqrt(np.mean(gaps[:6] ** 2))
    assert result.placebos[0].ratio == pytest.approx(manual, rel=1e-3)


def test_several_pilot_sites_average_effects_and_ratios():
    weeks = list(range(8))
    rng = np.random.default_rng(9)
    donors = {j: {w: 5 + j + rng.normal(0, 0.3) for w in weeks} for j in range(6)}
    pilots = {
        "A": {w: donors[0][w] + rng.normal(0, 0.1) - (1 if w >= 5 else 0) for w in weeks},
        "B": {w: donors[3][w] + rng.normal(0, 0.1) - (3 if w >= 5 else 0) for w in weeks},
    }
    result = sc.synthetic_control(pilots, donors, weeks[:5], weeks[5:])
    assert result.effect == pytest.approx(np.mean([f.effect for f in result.fits]))
    mean_ratio = np.mean([f.ratio for f in result.fits])
    expected = (1 + sum(p.ratio >= mean_ratio for p in result.placebos)) / 7
    assert result.p_value == pytest.approx(expected)
    assert set(result.as_api()["weights"]) == {"A", "B"}


def test_fewer_than_four_donors_or_too_many_pilots_give_nothing():
    weeks = [0, 1, 2, 3]
    donors = {j: {w: float(j + w) for w in weeks} for j in range(3)}
    few = sc.synthetic_control({"P": {w: 1.0 + w for w in weeks}}, donors, weeks[:2], weeks[2:])
    assert few.effect is None and few.problem == sc.TOO_FEW_DONORS
    assert few.as_api() == {"effect": None, "p_value": None, "weights": {}, "pre_rmspe": None,
                            "post_rmspe": None}  # fmt: skip
    many = sc.synthetic_control({i: {} for i in range(4)}, donors, weeks[:2], weeks[2:])
    assert many.problem == sc.TOO_MANY_PILOTS
