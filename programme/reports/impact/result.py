"""The impact of a package on one KPI as it is cached: numbers, codes and names only, for
readers of every language. Its sentences (`reading`, a wave's `reason`) are worded by
`wording.py` when they are read, in the reader's language."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from programme.reports.impact.estimator import WaveEstimate
from programme.reports.impact.wording import note_words, reading
from programme.statistics import finite


@dataclass
class WaveImpact(WaveEstimate):
    """A wave's figures (`WaveEstimate`), with its note in words."""

    @property
    def reason(self):
        """Why the wave is left out, or a remark, in the reader's language (or None)."""
        return note_words(self.note) if self.note else None


@dataclass
class RegionImpact:
    region_id: int
    region_name: str
    estimate: float | None
    ci_low: float | None
    ci_high: float | None
    n_sites: int  # deployed sites of the region used
    n_waves: int  # waves with at least one of them


@dataclass
class ImpactResult:
    kpi_code: str
    kpi_id: int | None
    package_id: int | None
    window_weeks: int
    estimate: float | None
    ci_low: float | None
    ci_high: float | None
    n_sites: int
    waves: list[WaveImpact]
    problem: Any = None  # a Note saying why the estimate is missing
    by_region: list[RegionImpact] = field(default_factory=list)
    event_time: list[dict[str, Any]] = field(default_factory=list)  # rows with an `arm` code
    kpi_name: Any = ""  # the KPI's name in both languages (wording.kpi_name)
    kind: str = "mean"
    better: str = "lower"
    unit: str = ""
    package_name: str = ""
    region_id: int | None = None
    region_name: str | None = None
    kpi_subject: Any = None  # the reading's subject (wording.kpi_subject)

    @property
    def n_waves(self) -> int:
        return sum(1 for w in self.waves if w.included)

    @property
    def clear_effect(self) -> bool:
        return self.ci_low is not None and (self.ci_low > 0 or self.ci_high < 0)  # type: ignore[operator]

    @property
    def favourable(self) -> bool | None:
        """True: a clear change in the good direction; False: clear, wrong direction."""
        if not self.clear_effect or self.estimate is None:
            return None
        return (self.estimate < 0) == (self.better == "lower")

    @property
    def reading(self):
        """One paragraph a director can read aloud, in the reader's language."""
        return reading(self)

    def as_api(self) -> dict[str, Any]:
        return {
            "kpi": self.kpi_code,
            "window_weeks": self.window_weeks,
            "estimate": finite(self.estimate),
            "ci_low": finite(self.ci_low),
            "ci_high": finite(self.ci_high),
            "n_sites": self.n_sites,
            "waves": [
                {
                    "wave": w.wave_id,
                    "go_live": w.go_live.isoformat(),
                    "att": finite(w.att),
                    "n_treated": w.n_treated,
                    "n_comparison": w.n_comparison,
                }
                for w in self.waves
            ],
            "reading": str(self.reading),
        }
