"""Deployment impact: does a package deliver across the network, not only in pilots?

- `estimator`: the statistics (pure: arrays in, numbers and note codes out);
- `sql`: the parameters checked, the data stamp, the sums read from the rollups;
- `result`: `ImpactResult`, as cached (numbers, codes, names);
- `wording`: results in words and charts, applied when shown (the cache holds no language);
- `refresh`: `compute_impact` and the headline figures, cached and refreshed.
"""

from programme.reports.impact.estimator import (
    COMPARISON,
    DEFAULT_WINDOW_WEEKS,
    DEPLOYED,
    MAX_WINDOW_WEEKS,
    MIN_COMPARISON_SITES,
    RESAMPLES,
    SEED,
    Estimate,
    Note,
    WaveData,
    WaveEstimate,
    estimate,
    split_window,
    wave_data,
    wave_windows,
)
from programme.reports.impact.refresh import (
    HeadlineImpacts,
    clear_cache,
    compute_impact,
    headline_impacts,
    headline_key,
    wait_for_refresh,
)
from programme.reports.impact.result import ImpactResult, RegionImpact, WaveImpact
from programme.reports.impact.sql import data_stamp, packages_with_waves, parse_window, resolve
from programme.reports.impact.wording import amount, impact_chart, reading, sort_key

__all__ = [
    "COMPARISON",
    "DEFAULT_WINDOW_WEEKS",
    "DEPLOYED",
    "MAX_WINDOW_WEEKS",
    "MIN_COMPARISON_SITES",
    "RESAMPLES",
    "SEED",
    "Estimate",
    "HeadlineImpacts",
    "ImpactResult",
    "Note",
    "RegionImpact",
    "WaveData",
    "WaveEstimate",
    "WaveImpact",
    "amount",
    "clear_cache",
    "compute_impact",
    "data_stamp",
    "estimate",
    "headline_impacts",
    "headline_key",
    "impact_chart",
    "packages_with_waves",
    "parse_window",
    "reading",
    "resolve",
    "sort_key",
    "split_window",
    "wait_for_refresh",
    "wave_data",
    "wave_windows",
]
