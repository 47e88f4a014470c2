"""Synthetic control for pilots of one to three pilot sites (pure functions, no database).

For each pilot site, the donors are the pilot's control sites (at least 4) and the data are
weekly n-weighted means: the baseline weeks (pre) and the pilot weeks (post), on the weeks
where the pilot site and every donor have data.

- Weights w_j ≥ 0 with Σ w_j = 1 minimise Σ_pre (pilot − Σ_j w_j·donor_j)²: the quadratic
  programme is solved exactly by non-negative least squares (scipy.optimize.nnls, the
  Lawson–Hanson active-set solver) on an augmented system. With Σ w = 1 the gap is
  (D − t·1ᵀ)w = A·w, so the problem is the point of the convex hull of A's columns nearest
  the origin; NNLS on [A; 1ᵀ]u ≈ [0; 1] gives u = s·w* with w* that point's weights (for a
  fixed direction w the best s is 1/(1 + ‖Aw‖²), leaving ‖Aw‖²/(1 + ‖Aw‖²), increasing in
  ‖Aw‖), so w* = u / Σu. No hand-written optimiser.
- The effect is the mean over pilot weeks of pilot − synthetic.
- Placebo p-value: the pilot's ratio post RMSPE / pre RMSPE (root-mean-squared gaps) is
  ranked among the same ratio for each donor refitted as if treated, its donors being the
  other donors: p = (1 + number of donors whose ratio ≥ the pilot's) / (J + 1).
- With 2 or 3 pilot sites (same donors), the effect is the mean of the sites' effects and
  the pilot's ratio in the ranking is the mean of the sites' ratios."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import nnls

MIN_DONORS = 4
MAX_PILOT_SITES = 3


def fit_weights(target_pre, donors_pre) -> np.ndarray:
    """Weights (J,) on the simplex minimising ‖target − donors·w‖² over the pre weeks.
    `target_pre` (T,), `donors_pre` (T, J)."""
    t = np.asarray(target_pre, dtype=float)
    d = np.asarray(donors_pre, dtype=float)
    a = d - t[:, None]
    scale = float(np.max(np.abs(a))) or 1.0
    e = np.vstack([a / scale, np.ones((1, d.shape[1]))])
    f = np.zeros(e.shape[0])
    f[-1] = 1.0
    u, _residual = nnls(e, f, maxiter=50 * e.shape[1])
    total = float(u.sum())
    if total <= 0:  # cannot happen (u = 0 leaves the residual 1); kept as a guard
        return np.full(d.shape[1], 1.0 / d.shape[1])
    return u / total


def rmspe(gaps) -> float:
    gaps = np.asarray(gaps, dtype=float)
    return float(np.sqrt(np.mean(gaps**2))) if gaps.size else float("nan")


def _ratio(pre: float, post: float) -> float:
    if pre > 0:
        return post / pre
    return math.inf if post > 0 else 1.0


@dataclass(frozen=True)
class SiteFit:
    site: int | str
    weights: dict  # donor → weight
    synthetic: np.ndarray  # (T_pre + T_post,)
    gaps: np.ndarray  # pilot − synthetic, pre then post
    effect: float
    pre_rmspe: float
    post_rmspe: float

    @property
    def ratio(self) -> float:
        return _ratio(self.pre_rmspe, self.post_rmspe)


def fit_site(
    site, series: np.ndarray, donors: list, donor_series: np.ndarray, n_pre: int
) -> SiteFit:
    """One treated unit against its donors; `series` (T,), `donor_series` (T, J)."""
    w = fit_weights(series[:n_pre], donor_series[:n_pre])
    synthetic = donor_series @ w
    gaps = series - synthetic
    return SiteFit(
        site=site,
        weights={donor: float(wj) for donor, wj in zip(donors, w, strict=True)},
        synthetic=synthetic,
        gaps=gaps,
        effect=float(np.mean(gaps[n_pre:])),
        pre_rmspe=rmspe(gaps[:n_pre]),
        post_rmspe=rmspe(gaps[n_pre:]),
    )


@dataclass
class SyntheticControl:
    effect: float | None
    p_value: float | None
    fits: list[SiteFit] = field(default_factory=list)
    placebos: list[SiteFit] = field(default_factory=list)
    weeks: list = field(default_factory=list)  # the weeks of the series, pre then post
    n_pre: int = 0
    problem: str | None = None  # code, see below
    names: dict = field(default_factory=dict)  # site → display code, for the API
    usable_donors: int = 0

    @property
    def pre_rmspe(self) -> float | None:
        return float(np.mean([f.pre_rmspe for f in self.fits])) if self.fits else None

    @property
    def post_rmspe(self) -> float | None:
        return float(np.mean([f.post_rmspe for f in self.fits])) if self.fits else None

    @property
    def n_donors(self) -> int:
        return len(self.placebos)

    def as_api(self) -> dict:
        def num(v):
            return float(v) if v is not None and math.isfinite(v) else None

        name = self.names.get
        return {
            "effect": num(self.effect),
            "p_value": num(self.p_value),
            "weights": {
                str(name(f.site, f.site)): {str(name(d, d)): float(w) for d, w in f.weights.items()}
                for f in self.fits
            },
            "pre_rmspe": num(self.pre_rmspe),
            "post_rmspe": num(self.post_rmspe),
        }


TOO_MANY_PILOTS = "too_many_pilots"
TOO_FEW_DONORS = "too_few_donors"
NO_WEEKS = "no_weeks"


def synthetic_control(
    pilots: dict, donors: dict, pre_weeks: list, post_weeks: list
) -> SyntheticControl:
    """`pilots` and `donors`: {site: {week: value}}. Weeks used: the pre and post weeks
    where every pilot site has data; donors with data in every one of them."""
    if not pilots or len(pilots) > MAX_PILOT_SITES:
        return SyntheticControl(None, None, problem=TOO_MANY_PILOTS)
    pre = [w for w in pre_weeks if all(w in s for s in pilots.values())]
    post = [w for w in post_weeks if all(w in s for s in pilots.values())]
    if not pre or not post:
        return SyntheticControl(None, None, problem=NO_WEEKS)
    weeks = pre + post
    usable = [d for d, s in donors.items() if all(w in s for w in weeks)]
    if len(usable) < MIN_DONORS:
        return SyntheticControl(None, None, problem=TOO_FEW_DONORS, usable_donors=len(usable))
    matrix = np.array([[donors[d][w] for d in usable] for w in weeks], dtype=float)
    n_pre = len(pre)
    fits = [
        fit_site(p, np.array([s[w] for w in weeks], dtype=float), usable, matrix, n_pre)
        for p, s in pilots.items()
    ]
    placebos = []
    for j, donor in enumerate(usable):
        others = [d for d in usable if d != donor]
        placebos.append(fit_site(donor, matrix[:, j], others, np.delete(matrix, j, axis=1), n_pre))
    pilot_ratio = float(np.mean([f.ratio for f in fits]))
    at_least = sum(1 for p in placebos if p.ratio >= pilot_ratio)
    return SyntheticControl(
        effect=float(np.mean([f.effect for f in fits])),
        p_value=(1 + at_least) / (len(placebos) + 1),
        fits=fits,
        placebos=placebos,
        weeks=weeks,
        n_pre=n_pre,
        usable_donors=len(usable),
    )
