"""Small-n simulation of the baseline-adjusted randomization test (not a timed test).

1,000 simulated pilots of N = 12 sites, k = 4 drawn at random as pilot sites; each site has
a level (site effect) and weekly AR(1) noise; 8 baseline weeks then 8 pilot weeks; X and Y
are each site's mean over its baseline and pilot weeks (equal n every week).

- Under no effect, the share of pilots whose two-sided p-value is ≤ 0.05 should be near 5 %
  (accepted: 3.6–6.4 %).
- With an effect planted at the pilot sites, the 95 % interval should cover it in about
  95 % of runs (accepted: 93.6–96.4 %).

Run: PYTHONPATH=. python benchmarks/small_n_simulation.py [runs]
Prints both figures and the time per pilot, with Welch's t-test on the sites' changes as
the baseline measured in the same run."""

from __future__ import annotations

import sys
import time

import numpy as np
from scipy import stats

from programme.pilots import randomization as rz

N, K, WEEKS, RHO, SIGMA, SITE_SD, EFFECT = 12, 4, 8, 0.6, 1.0, 3.0, 1.5


def simulate(rng: np.random.Generator, effect: float):
    level = rng.normal(10.0, SITE_SD, N)
    noise = np.empty((N, 2 * WEEKS))
    noise[:, 0] = rng.normal(0, SIGMA / np.sqrt(1 - RHO**2), N)
    for t in range(1, 2 * WEEKS):
        noise[:, t] = RHO * noise[:, t - 1] + rng.normal(0, SIGMA, N)
    series = level[:, None] + noise
    pilots = rng.permutation(N)[:K]
    treated = np.zeros(N, dtype=bool)
    treated[pilots] = True
    series[treated, WEEKS:] += effect
    x = series[:, :WEEKS].mean(axis=1)
    y = series[:, WEEKS:].mean(axis=1)
    return x[treated], y[treated], x[~treated], y[~treated]


def main(runs: int = 1000) -> None:
    rng = np.random.default_rng(12345)
    rejections = covered = welch_rejections = welch_covered = 0
    started = time.perf_counter()
    rand_time = welch_time = 0.0
    for effect, label in ((0.0, "null"), (EFFECT, "planted")):
        for _ in range(runs):
            xp, yp, xc, yc = simulate(rng, effect)
            t0 = time.perf_counter()
            result = rz.randomization_test(xp, yp, xc, yc)
            t1 = time.perf_counter()
            welch = stats.ttest_ind(yp - xp, yc - xc, equal_var=False)
            ci = welch.confidence_interval()
            t2 = time.perf_counter()
            rand_time += t1 - t0
            welch_time += t2 - t1
            if label == "null":
                rejections += result.p_value <= 0.05
                welch_rejections += welch.pvalue <= 0.05
            else:
                covered += result.ci_low <= effect <= result.ci_high
                welch_covered += ci.low <= effect <= ci.high
    total = time.perf_counter() - started
    rate, coverage = rejections / runs, covered / runs
    print(
        f"{runs} simulated pilots per scenario, N={N}, k={K}, AR(1) rho={RHO}, {WEEKS}+{WEEKS} weeks"
    )
    print(f"randomization: rejection rate under no effect {rate:.1%} (accepted 3.6-6.4 %)")
    print(f"randomization: 95 % interval coverage of the planted effect {coverage:.1%} "
          f"(accepted 93.6-96.4 %)")  # fmt: skip
    print(f"Welch (baseline, same data): rejection {welch_rejections / runs:.1%}, "
          f"coverage {welch_covered / runs:.1%}")  # fmt: skip
    print(f"time per pilot: randomization {rand_time / (2 * runs) * 1000:.1f} ms, Welch "
          f"{welch_time / (2 * runs) * 1000:.2f} ms (ratio {rand_time / welch_time:.0f}x); "
          f"total {total:.1f} s")  # fmt: skip
    ok = 0.036 <= rate <= 0.064 and 0.936 <= coverage <= 0.964
    print("PASS" if ok else "FAIL")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
