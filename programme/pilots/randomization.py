"""Randomization inference adjusted on the baseline: the pilot result that stays honest at
1 to 10 sites (pure functions, no database).

Sites used are those with data in both phases; X is a site's n-weighted baseline mean and
Y its n-weighted pilot-period mean.

- θ is the ordinary least-squares slope of Y on X over every site used (pilot and control):
  θ = Σ(X−X̄)(Y−Ȳ) / Σ(X−X̄)², and θ = 1 when Σ(X−X̄)² = 0 (every site had the same
  baseline). The adjusted outcome is Ỹ = Y − θ·(X − X̄); with θ = 1 the effect below is
  the usual difference-in-differences.
- The effect is T = mean Ỹ of the pilot sites − mean Ỹ of the control sites.
- p is the two-sided permutation p-value of T over the reassignments of the k pilot labels
  among the N sites (θ held at its observed value), computed exactly as
  `scipy.stats.permutation_test((ỹ_pilot, ỹ_control), difference of means,
  permutation_type="independent", alternative="two-sided")` computes it: every one of the
  C(N, k) reassignments when C(N, k) ≤ 100,000 (exact), else 20,000 random reassignments
  drawn with a fixed seed (approximate, p = (count + 1) / (20,000 + 1)); null statistics
  within 100 machine epsilons (relative) of the observed one count as equal; two-sided
  p = min(1, 2 × the smaller one-sided p). scipy itself refuses a sample of one site; the
  same formula is applied here to a single pilot site.
- For a design drawn at random by matched pairs, the reassignments are the 2^pairs swaps
  within pairs (scipy's permutation_type="samples").
- The 95 % interval inverts the test: the τ whose p-value for (Ỹ_pilot − τ, Ỹ_control) is
  ≥ 0.05, its two ends found by bisection to 1e-6 between T and T ± 10 × (max Ỹ − min Ỹ).
  The one-sided counts are monotone in τ, so that set is an interval.
- min_p = min(1, 2 / number of reassignments): the smallest two-sided p-value the design can
  ever give (0.4 with 1 pilot site and 4 control sites)."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

ALPHA = 0.05
EXACT_LIMIT = 100_000  # enumerate every reassignment up to this many
RESAMPLES = 20_000  # else draw this many, with SEED
SEED = 20_260_917
TOLERANCE = 1e-6  # bisection width for the interval ends
LEADS_BELOW = 10  # randomization leads when either arm has fewer sites than this
_EPS = float(np.finfo(np.float64).eps) * 100  # scipy's relative tolerance for ties


def ols_slope(x, y) -> float:
    """θ = Σ(X−X̄)(Y−Ȳ) / Σ(X−X̄)², or 1 when the baselines have no spread."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    dx = x - x.mean()
    sxx = float(np.dot(dx, dx))
    scale = max(1.0, float(np.max(np.abs(x)))) if x.size else 1.0
    if x.size < 2 or sxx <= (1e-12 * scale) ** 2 * x.size:
        return 1.0
    return float(np.dot(dx, y - y.mean()) / sxx)


def adjusted(x, y, theta: float) -> np.ndarray:
    """Ỹ = Y − θ·(X − X̄), X̄ over every site given."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    return y - theta * (x - x.mean())


def min_p(n_assignments: int) -> float:
    return min(1.0, 2.0 / n_assignments) if n_assignments else 1.0


@dataclass(frozen=True)
class Reassignments:
    """Rows of site indices into (pilot sites..., control sites...): the first k columns of
    a row are the sites labelled pilot under that reassignment."""

    index: np.ndarray  # (R, N) int
    k: int
    exact: bool
    total: int  # number of possible reassignments (C(N, k) or 2^pairs)

    @property
    def adjustment(self) -> int:
        return 0 if self.exact else 1


def all_reassignments(n: int, k: int, seed: int = SEED) -> Reassignments:
    """Every split of n sites into k pilot and n − k control sites when there are at most
    EXACT_LIMIT, else RESAMPLES random permutations (numpy default_rng(seed), as scipy
    draws them for rng=seed)."""
    total = math.comb(n, k)
    if total <= EXACT_LIMIT:
        everyone = set(range(n))
        rows = [
            list(chosen) + sorted(everyone.difference(chosen))
            for chosen in itertools.combinations(range(n), k)
        ]
        return Reassignments(np.asarray(rows, dtype=np.intp).reshape(total, n), k, True, total)
    rng = np.random.default_rng(seed)
    rows = np.asarray([rng.permutation(n) for _ in range(RESAMPLES)], dtype=np.intp)
    return Reassignments(rows, k, False, total)


def paired_reassignments(pairs: int, seed: int = SEED) -> Reassignments:
    """Swaps within matched pairs; data laid out as (pilot of pair 1..P, control of pair
    1..P). Every one of the 2^P swap patterns when 2^P ≤ EXACT_LIMIT, else RESAMPLES random
    patterns."""
    total = 2**pairs
    if total <= EXACT_LIMIT:
        flips = np.asarray(list(itertools.product((0, 1), repeat=pairs)), dtype=bool)
        exact = True
    else:
        flips = np.random.default_rng(seed).random((RESAMPLES, pairs)) < 0.5
        exact = False
    first = np.arange(pairs)
    pilot = np.where(flips, first + pairs, first)
    control = np.where(flips, first, first + pairs)
    return Reassignments(
        np.concatenate([pilot, control], axis=1).astype(np.intp), pairs, exact, total
    )


def _statistic(pilot: np.ndarray, control: np.ndarray) -> np.ndarray:
    return np.mean(pilot, axis=-1) - np.mean(control, axis=-1)


def p_value(pilot, control, reassignments: Reassignments) -> float:
    """Two-sided permutation p-value of mean(pilot) − mean(control), scipy's formula."""
    pilot = np.asarray(pilot, dtype=float)
    control = np.asarray(control, dtype=float)
    k = reassignments.k
    data = np.concatenate([pilot, control])[reassignments.index]
    null = _statistic(data[..., :k], data[..., k:])
    observed = float(_statistic(pilot, control))
    gamma = abs(_EPS * observed)
    adjustment = reassignments.adjustment
    n = null.shape[0]
    less = (np.count_nonzero(null <= observed + gamma) + adjustment) / (n + adjustment)
    greater = (np.count_nonzero(null >= observed - gamma) + adjustment) / (n + adjustment)
    return float(np.clip(min(less, greater) * 2, 0.0, 1.0))


class ShiftedPValues:
    """p(τ) = the two-sided p-value of (pilot − τ, control) on one set of reassignments,
    for the interval's bisection. Each null statistic is linear in τ — a reassignment that
    labels m of the k real pilot sites as pilots moves by −τ·(m/k − (k − m)/(N − k)) — so
    the null distribution is computed once and each τ costs O(reassignments), not
    O(reassignments × sites). Same comparison rule as `p_value`."""

    def __init__(self, pilot, control, reassignments: Reassignments):
        self.pilot = np.asarray(pilot, dtype=float)
        self.control = np.asarray(control, dtype=float)
        k, n = reassignments.k, reassignments.index.shape[1]
        data = np.concatenate([self.pilot, self.control])[reassignments.index]
        self.null = _statistic(data[..., :k], data[..., k:])
        real = np.count_nonzero(reassignments.index[:, :k] < self.pilot.size, axis=1)
        self.slope = real / k - (k - real) / (n - k)
        self.adjustment = reassignments.adjustment

    def __call__(self, tau: float) -> float:
        observed = float(_statistic(self.pilot - tau, self.control))
        null = self.null - tau * self.slope
        gamma = abs(_EPS * observed)
        a, n = self.adjustment, null.shape[0]
        less = (np.count_nonzero(null <= observed + gamma) + a) / (n + a)
        greater = (np.count_nonzero(null >= observed - gamma) + a) / (n + a)
        return float(np.clip(min(less, greater) * 2, 0.0, 1.0))


def _bisect(accepted: float, rejected: float, test) -> float:
    """The last accepted point, within TOLERANCE of where `test` turns false."""
    while abs(rejected - accepted) > TOLERANCE:
        middle = (accepted + rejected) / 2
        if middle in (accepted, rejected):
            break
        if test(middle):
            accepted = middle
        else:
            rejected = middle
    return accepted


@dataclass(frozen=True)
class Randomization:
    effect: float | None
    theta: float | None
    p_value: float | None
    ci_low: float | None
    ci_high: float | None
    min_p: float | None
    n_assignments: int | None
    exact: bool
    randomized_design: bool
    n_pilot: int
    n_control: int
    problem: str | None = None  # code of why something is missing, see PROBLEMS

    def as_api(self) -> dict:
        def num(v):
            return float(v) if v is not None and math.isfinite(v) else None

        return {
            "effect": num(self.effect),
            "theta": num(self.theta),
            "p_value": num(self.p_value),
            "ci_low": num(self.ci_low),
            "ci_high": num(self.ci_high),
            "min_p": num(self.min_p),
            "n_assignments": self.n_assignments,
            "exact": self.exact,
            "randomized_design": self.randomized_design,
        }


# Problem codes (the results module words them in the user's language).
NO_PILOT = "no_pilot"
NO_CONTROL = "no_control"
TOO_FEW = "too_few"  # min_p above alpha: no τ can ever be rejected
NO_SPREAD = "no_spread"
NOT_LOCATED = "not_located"


def randomization_test(
    x_pilot,
    y_pilot,
    x_control,
    y_control,
    pairs: bool = False,
    alpha: float = ALPHA,
    seed: int = SEED,
) -> Randomization:
    """The baseline-adjusted randomization result. With `pairs`, pilot site i and control
    site i form matched pair i (same length lists) and only swaps within pairs count."""
    xp, yp = np.asarray(x_pilot, dtype=float), np.asarray(y_pilot, dtype=float)
    xc, yc = np.asarray(x_control, dtype=float), np.asarray(y_control, dtype=float)
    k, m = xp.size, xc.size
    if k == 0 or m == 0:
        return Randomization(
            None, None, None, None, None, None, None, False, pairs, k, m,
            NO_PILOT if k == 0 else NO_CONTROL,
        )  # fmt: skip
    x = np.concatenate([xp, xc])
    y = np.concatenate([yp, yc])
    theta = ols_slope(x, y)
    z = adjusted(x, y, theta)
    zp, zc = z[:k], z[k:]
    effect = float(_statistic(zp, zc))
    if pairs:
        if k != m:
            raise ValueError("a paired design has as many pilot as control sites")
        plan = paired_reassignments(k, seed)
    else:
        plan = all_reassignments(k + m, k, seed)
    p = p_value(zp, zc, plan)
    floor = min_p(plan.total)
    low = high = None
    problem = None
    spread = float(z.max() - z.min())
    if floor > alpha and plan.exact:
        problem = TOO_FEW
    elif spread <= 1e-12 * max(1.0, float(np.max(np.abs(z)))):
        problem = NO_SPREAD
    else:
        shifted = ShiftedPValues(zp, zc, plan)

        def accepted(tau: float) -> bool:
            return shifted(tau) >= alpha

        reach = 10 * spread
        if not accepted(effect) or accepted(effect - reach) or accepted(effect + reach):
            problem = NOT_LOCATED
        else:
            low = _bisect(effect, effect - reach, accepted)
            high = _bisect(effect, effect + reach, accepted)
    return Randomization(
        effect=effect,
        theta=theta,
        p_value=p,
        ci_low=low,
        ci_high=high,
        min_p=floor,
        n_assignments=plan.total,
        exact=plan.exact,
        randomized_design=pairs,
        n_pilot=k,
        n_control=m,
        problem=problem,
    )
