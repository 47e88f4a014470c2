"""The arithmetic of value, as pure functions (no database): value = Δ × d × Q × u, the
interval of an actual, Wave's estimate rule and the seeded draws behind P10/P50/P90.

Δ is the KPI effect in the KPI's unit, d = +1 when higher is better and −1 when lower is
better (so an improvement is positive money), Q the volume, u the euros per unit of KPI per
unit of volume."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

Z95 = 1.959964
DRAWS = 10_000
SEED = 20261206


def direction(better: str) -> int:
    """+1 when higher is better, −1 when lower is better."""
    return 1 if better == "higher" else -1


def value(delta: float, better: str, volume: float, unit: float) -> float:
    """Δ × d × Q × u (unrounded)."""
    return delta * direction(better) * volume * unit


def value_interval(
    ci_low: float, ci_high: float, better: str, volume: float, unit: float
) -> tuple[float, float]:
    """The effect's 95 % interval carried through the same formula: (low, high). The ends
    swap when d·Q·u is negative (a lower-is-better KPI, say)."""
    a, b = value(ci_low, better, volume, unit), value(ci_high, better, volume, unit)
    return (a, b) if a <= b else (b, a)


def standard_error(ci_low: float, ci_high: float) -> float:
    """SE of an effect from its 95 % interval: (high − low) / (2 × 1.959964)."""
    return (ci_high - ci_low) / (2 * Z95)


def estimate(
    planned: Sequence[float | None],
    actual: Sequence[float | None],
    forecast: Sequence[float | None],
) -> list[float | None]:
    """Wave's rule, month by month: the actual where it exists, else the forecast, else the
    planned value. Shorter sequences count as missing for the later months."""
    months = max(len(planned), len(actual), len(forecast))

    def at(values: Sequence[float | None], i: int) -> float | None:
        return values[i] if i < len(values) else None

    out: list[float | None] = []
    for i in range(months):
        for candidate in (at(actual, i), at(forecast, i), at(planned, i)):
            if candidate is not None:
                out.append(candidate)
                break
        else:
            out.append(None)
    return out


def effect_draws(
    delta: float, ci_low: float, ci_high: float, rng: np.random.Generator, n: int = DRAWS
) -> np.ndarray:
    """Δ ~ Normal(Δ̂, SE). Packages using the same Δ must share these draws."""
    return rng.normal(delta, standard_error(ci_low, ci_high), n)


def unit_draws(
    low: float, most_likely: float, high: float, rng: np.random.Generator, n: int = DRAWS
) -> np.ndarray:
    """u ~ Triangular(low, most likely, high); a constant when low = high."""
    if not low <= most_likely <= high:
        raise ValueError("low ≤ most likely ≤ high")
    if low == high:
        return np.full(n, float(low))
    return rng.triangular(low, most_likely, high, n)


def value_draws(
    deltas: np.ndarray, units: np.ndarray, better: str, volumes: Sequence[float]
) -> np.ndarray:
    """Draws × months matrix of Δ·d·Q·u (Q fixed per month)."""
    q = np.asarray(volumes, dtype=float)
    return (deltas * units * direction(better))[:, None] * q[None, :]


@dataclass(frozen=True)
class Percentiles:
    p10: float
    p50: float
    p90: float


def percentiles(draws: np.ndarray) -> Percentiles:
    """P10/P50/P90 of a vector of draws. Totals: add the draws first (`total_draws`), never
    the percentiles."""
    p10, p50, p90 = np.percentile(np.asarray(draws, dtype=float), [10, 50, 90])
    return Percentiles(float(p10), float(p50), float(p90))


def total_draws(*matrices: np.ndarray) -> np.ndarray:
    """Add draws across months (columns) and packages (matrices): one vector of totals."""
    total = np.zeros(matrices[0].shape[0]) if matrices else np.zeros(0)
    for m in matrices:
        total = total + (m.sum(axis=1) if m.ndim == 2 else m)
    return total


def rng(seed: int = SEED) -> np.random.Generator:
    return np.random.default_rng(seed)


@dataclass(frozen=True)
class Actual:
    month: str
    volume: float
    actual: float | None
    actual_low: float | None
    actual_high: float | None


def actuals(
    volumes: dict[str, float],
    delta: float | None,
    ci_low: float | None,
    ci_high: float | None,
    better: str,
    unit_most_likely: float | None,
) -> list[Actual]:
    """Actual per month = Δ·d·Q·u_most-likely, its ends from the effect's 95 % interval
    (swapped when d·Q·u < 0). None where the effect or the unit value is missing (a
    non-financial lever shows the volume only)."""
    out = []
    for month in sorted(volumes):
        q = volumes[month]
        if delta is None or unit_most_likely is None:
            out.append(Actual(month, q, None, None, None))
            continue
        low = high = None
        if ci_low is not None and ci_high is not None:
            low, high = value_interval(ci_low, ci_high, better, q, unit_most_likely)
        out.append(Actual(month, q, value(delta, better, q, unit_most_likely), low, high))
    return out
