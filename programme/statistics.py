"""Statistics helpers shared by the pilots' results and the deployment impact.

Base level: imports nothing from the domains. Weeks are named by their Monday
(`programme.weeks`); a mean over a window is n-weighted (Σ value·n / Σ n), read from the
weekly rollups' `sum_vn` and `sum_n`; a change prints in the KPI's unit, rates in points.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable

import numpy as np
from flask_babel import format_decimal
from flask_babel import gettext as _

CONFIDENCE = 0.95


def finite(value: float | None) -> float | None:
    """`value` as a float, or None when missing or not finite (JSON has no NaN)."""
    if value is None or not math.isfinite(value):
        return None
    return float(value)


def mean(values: Iterable[float]) -> float | None:
    """The plain mean, or None without values."""
    values = list(values)
    return float(np.mean(values)) if values else None


def weighted_mean(sum_vn: float | None, sum_n: float | None) -> float | None:
    """Σ value·n / Σ n, or None when Σ n is zero or missing."""
    return float(sum_vn or 0) / float(sum_n) if sum_n else None


def pooled(
    rows: Iterable[tuple[Hashable, float | None, float | None, int]],
) -> dict[Hashable, tuple[float, float, int]]:
    """(Σ value·n, Σ n, rows) per key from (key, Σ value·n, Σ n, rows) rows: the sums
    behind an n-weighted mean pooled over sites or waves."""
    out: dict[Hashable, list] = {}
    for key, sum_vn, sum_n, count in rows:
        total = out.setdefault(key, [0.0, 0.0, 0])
        total[0] += float(sum_vn or 0)
        total[1] += float(sum_n or 0)
        total[2] += count
    return {key: (svn, sn, count) for key, (svn, sn, count) in out.items()}


def amount(
    kind: str,
    unit: str,
    value: float,
    signed: bool = False,
    reference: float | None = None,
    width: float | None = None,
) -> str:
    """A change in the KPI's unit, rates in percentage points ("-1.4 min", "+2.0 pts").

    One decimal from 1 up, two below; `reference` (default: the value) sets the decimals so
    that an estimate and its interval read alike, and a narrow interval (`width`) gets
    enough decimals (at most 3) for its two ends to differ."""
    scale = 100 if kind == "rate" else 1
    number = value * scale
    unit = _("pts") if kind == "rate" else unit
    ref = abs(number if reference is None else reference * scale)
    decimals = 1 if ref >= 1 or ref == 0 else 2
    if width:
        decimals = max(decimals, min(3, math.ceil(-math.log10(abs(width) * scale))))
    pattern = "#,##0." + "0" * decimals
    if signed:
        pattern = f"+{pattern};-{pattern}"
    return f"{format_decimal(number, format=pattern)} {unit}".strip()
