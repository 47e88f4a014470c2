"""Pilot results: the statistics leadership decides on.

Per site and phase (baseline, pilot) the n-weighted mean of the values is read from SQL
(the weekly rollups when both periods are whole ISO weeks, else the measurement table
through its site × KPI × date index); then, per site, Δ = pilot mean − baseline mean; the
effect is the mean Δ of the pilot sites minus the mean Δ of the control sites (sites weigh
equally), or the mean Δ of the pilot sites without control. Uncertainty: Welch's t-test
on the sites' Δ (pilot vs control), or a one-sample t-test on the pilot Δ without control.

The arithmetic (`estimate`, `minimum_detectable_effect`) is pure and tested against
scipy; the SQL readers return small arrays (one row per site and phase)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any

import numpy as np
from flask_babel import format_decimal, format_percent
from flask_babel import gettext as _
from scipy import stats
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from programme.kpis.completeness import expected_periods, share
from programme.kpis.models import Kpi, KpiWeekRollup, Measurement
from programme.network.models import Site
from programme.pilots import randomization as rz
from programme.pilots import synthetic as sc
from programme.statistics import CONFIDENCE, finite, mean, pooled, weighted_mean
from programme.statistics import amount as amount_text
from programme.web import words
from programme.web.formatting import signed_percent
from programme.weeks import first_week_start, week_start

MIN_SITES_PER_ARM = 3
MIN_COMPLETENESS = 0.8
PILOT = "pilot"
CONTROL = "control"


# --- data read from SQL ----------------------------------------------------------------------


@dataclass(frozen=True)
class PhaseMean:
    """One site over one phase: Σ value·n, Σ n and the number of periods (days or weeks)
    with at least one measurement."""

    sum_vn: float
    sum_n: int
    periods: int

    @property
    def mean(self) -> float | None:
        return weighted_mean(self.sum_vn, self.sum_n)


@dataclass(frozen=True)
class SiteData:
    site_id: int
    arm: str  # PILOT or CONTROL
    baseline: PhaseMean | None
    pilot: PhaseMean | None

    @property
    def delta(self) -> float | None:
        if self.baseline is None or self.pilot is None:
            return None
        if self.baseline.mean is None or self.pilot.mean is None:
            return None
        return self.pilot.mean - self.baseline.mean


@dataclass(frozen=True)
class Periods:
    baseline_start: date
    baseline_end: date
    pilot_start: date
    pilot_end: date


def aligned(start: date, end: date) -> bool:
    """True when [start, end] is made of whole ISO weeks (Monday to Sunday)."""
    return start.weekday() == 0 and end.weekday() == 6 and end >= start


def phase_means(
    session: Session, kpi_id: int, site_ids: list[int], start: date, end: date
) -> dict[int, PhaseMean]:
    """{site_id: PhaseMean} for the sites with measurements in [start, end].

    Σ value·n and Σ n come from the weekly rollups when the period is whole ISO weeks, else
    from the measurement table; the periods present are counted on the measurement table's
    (site, KPI, date) index either way. Never a scan of the whole table."""
    if not site_ids:
        return {}
    m = Measurement
    in_window = (
        m.site_id.in_(site_ids),
        m.kpi_id == kpi_id,
        m.period_date >= start,
        m.period_date <= end,
    )
    present = dict(
        session.execute(
            select(m.site_id, func.count(func.distinct(m.period_date)))
            .where(*in_window)
            .group_by(m.site_id)
        ).all()
    )
    if aligned(start, end):
        r = KpiWeekRollup
        rows = session.execute(
            select(r.site_id, func.sum(r.sum_vn), func.sum(r.sum_n))
            .where(
                r.site_id.in_(site_ids),
                r.kpi_id == kpi_id,
                r.week_start >= start,
                r.week_start <= end - timedelta(days=6),
            )
            .group_by(r.site_id)
        ).all()
    else:
        rows = session.execute(
            select(m.site_id, func.sum(m.value * m.n), func.sum(m.n))
            .where(*in_window)
            .group_by(m.site_id)
        ).all()
    return {
        site_id: PhaseMean(float(svn or 0), int(sn or 0), int(present.get(site_id, 0)))
        for site_id, svn, sn in rows
        if sn
    }


def _both_phase_means(
    session: Session, kpi_id: int, site_ids: list[int], periods: Periods
) -> tuple[dict[int, PhaseMean], dict[int, PhaseMean]]:
    """phase_means of the baseline and of the pilot period (both whole ISO weeks, baseline
    first) in two statements instead of four: the same sums and counts, each row labelled
    with its phase (rows between the two periods are read through the same index range and
    left out). Saves two round trips per KPI on the result page."""
    m, r = Measurement, KpiWeekRollup
    day_phase = case(
        (m.period_date <= periods.baseline_end, 0),
        (m.period_date >= periods.pilot_start, 1),
        else_=None,
    ).label("phase")
    present: dict[tuple[int, int], int] = {}
    for site_id, phase, days in session.execute(
        select(m.site_id, day_phase, func.count(func.distinct(m.period_date)))
        .where(
            m.site_id.in_(site_ids),
            m.kpi_id == kpi_id,
            m.period_date >= periods.baseline_start,
            m.period_date <= periods.pilot_end,
        )
        .group_by(m.site_id, day_phase)
    ):
        if phase is not None:
            present[(site_id, int(phase))] = days
    week_phase = case(
        (r.week_start <= periods.baseline_end - timedelta(days=6), 0),
        (r.week_start >= periods.pilot_start, 1),
        else_=None,
    ).label("phase")
    phases: tuple[dict[int, PhaseMean], dict[int, PhaseMean]] = ({}, {})
    for site_id, phase, svn, sn in session.execute(
        select(r.site_id, week_phase, func.sum(r.sum_vn), func.sum(r.sum_n))
        .where(
            r.site_id.in_(site_ids),
            r.kpi_id == kpi_id,
            r.week_start >= periods.baseline_start,
            r.week_start <= periods.pilot_end - timedelta(days=6),
        )
        .group_by(r.site_id, week_phase)
    ):
        if phase is not None and sn:
            phases[int(phase)][site_id] = PhaseMean(
                float(svn or 0), int(sn or 0), int(present.get((site_id, int(phase)), 0))
            )
    return phases


def read_sites(
    session: Session, kpi_id: int, pilot_ids: list[int], control_ids: list[int], periods: Periods
) -> list[SiteData]:
    ids = list(pilot_ids) + list(control_ids)
    if (
        ids
        and aligned(periods.baseline_start, periods.baseline_end)
        and aligned(periods.pilot_start, periods.pilot_end)
        and periods.baseline_end < periods.pilot_start
    ):
        base, during = _both_phase_means(session, kpi_id, ids, periods)
    else:
        base = phase_means(session, kpi_id, ids, periods.baseline_start, periods.baseline_end)
        during = phase_means(session, kpi_id, ids, periods.pilot_start, periods.pilot_end)
    return [
        SiteData(
            site_id,
            PILOT if site_id in set(pilot_ids) else CONTROL,
            base.get(site_id),
            during.get(site_id),
        )
        for site_id in ids
    ]


# --- the statistics (pure) -------------------------------------------------------------------


@dataclass(frozen=True)
class Estimate:
    """Effect of the pilot with its uncertainty; None where not computable (see `problem`)."""

    effect: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    std_error: float | None
    df: float | None
    method: str | None  # "welch", "one_sample" or None
    problem: str | None = None  # why the interval is missing


def estimate(
    pilot_deltas: list[float], control_deltas: list[float] | None, confidence: float = CONFIDENCE
) -> Estimate:
    """Effect = mean(pilot Δ) − mean(control Δ) with Welch's CI and p-value, or, without
    control sites, mean(pilot Δ) with a one-sample t-test against zero."""
    p = np.asarray(pilot_deltas, dtype=float)
    c = np.asarray(control_deltas or [], dtype=float)
    if p.size == 0:
        return Estimate(
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            words.lazy_gettext("no pilot site has measurements in both periods"),
        )
    if control_deltas:
        effect = float(p.mean() - c.mean())
        if p.size < 2 or c.size < 2:
            return Estimate(
                effect,
                None,
                None,
                None,
                None,
                None,
                "welch",
                words.lazy_gettext(
                    "at least 2 sites with data in both periods are needed in each arm"
                ),
            )
        se = math.sqrt(p.var(ddof=1) / p.size + c.var(ddof=1) / c.size)
        method = "welch"
    else:
        effect = float(p.mean())
        if p.size < 2:
            return Estimate(
                effect,
                None,
                None,
                None,
                None,
                None,
                "one_sample",
                words.lazy_gettext("at least 2 pilot sites with data in both periods are needed"),
            )
        se = math.sqrt(p.var(ddof=1) / p.size)
        method = "one_sample"
    if se <= 1e-9 * max(1.0, abs(effect)):
        # Every site moved by the same amount (to rounding): no spread to estimate from.
        return Estimate(
            effect,
            None,
            None,
            None,
            0.0,
            None,
            method,
            words.lazy_gettext("the sites' changes have no spread"),
        )
    res = stats.ttest_ind(p, c, equal_var=False) if c.size else stats.ttest_1samp(p, 0.0)
    ci = res.confidence_interval(confidence)
    return Estimate(
        effect=effect,
        ci_low=float(ci.low),
        ci_high=float(ci.high),
        p_value=float(res.pvalue),
        std_error=se,
        df=float(res.df),
        method=method,
    )


def minimum_detectable_effect(
    sd_delta: float, n_pilot: int, n_control: int, alpha: float = 0.05, power: float = 0.8
) -> float | None:
    """Smallest true effect the design detects with `power` at two-sided level `alpha`,
    given the standard deviation of site-level changes: (t₁₋α/₂ + t_power) · σ · √(1/nₚ + 1/n꜀)
    (√(1/nₚ) without control), Student t with the design's degrees of freedom."""
    if n_pilot < 2 or (n_control == 1) or not math.isfinite(sd_delta):
        return None
    if n_control:
        df = n_pilot + n_control - 2
        spread = math.sqrt(1 / n_pilot + 1 / n_control)
    else:
        df = n_pilot - 1
        spread = math.sqrt(1 / n_pilot)
    t_alpha = stats.t.ppf(1 - alpha / 2, df)
    t_power = stats.t.ppf(power, df)
    return float((t_alpha + t_power) * sd_delta * spread)


@dataclass
class KpiResult:
    kpi_code: str
    kind: str
    better: str
    unit: str
    target_relative: float | None
    sites: list[SiteData]
    estimate: Estimate
    baseline_mean: float | None  # mean of the pilot sites' baseline means
    pilot_mean: float | None  # mean of the pilot sites' pilot-phase means
    control_baseline_mean: float | None
    control_pilot_mean: float | None
    relative_effect: float | None
    n_pilot_sites: int  # pilot sites with data in both periods
    n_control_sites: int
    n_pilot_sites_planned: int
    n_control_sites_planned: int
    site_days: int  # periods present (site-days, or site-weeks for a weekly KPI)
    expected_site_days: int
    customers: int  # Σ n over both arms and both phases
    completeness: float | None
    target_reached: bool
    clear_effect: bool  # the interval excludes zero
    reading: str
    warnings: list[str] = field(default_factory=list)
    randomization: rz.Randomization | None = None
    leading: str | None = None  # "randomization", "welch" or "one_sample": what the reading uses
    lead: Estimate | None = None  # the estimate the reading and "target reached" use
    synthetic_control: Any = None  # synthetic.SyntheticControl for 1–3 pilot sites, or None

    @property
    def effect(self) -> float | None:
        return self.estimate.effect

    @property
    def ci_low(self) -> float | None:
        return self.estimate.ci_low

    @property
    def ci_high(self) -> float | None:
        return self.estimate.ci_high

    @property
    def p_value(self) -> float | None:
        return self.estimate.p_value

    def as_api(self) -> dict[str, Any]:
        return {
            "kpi": self.kpi_code,
            "baseline_mean": finite(self.baseline_mean),
            "pilot_mean": finite(self.pilot_mean),
            "effect": finite(self.effect),
            "relative_effect": finite(self.relative_effect),
            "ci_low": finite(self.ci_low),
            "ci_high": finite(self.ci_high),
            "p_value": finite(self.p_value),
            "n_pilot_sites": self.n_pilot_sites,
            "n_control_sites": self.n_control_sites,
            "completeness": finite(self.completeness),
            "target_reached": self.target_reached,
            "reading": str(self.reading),
            "leading_method": self.leading,
            "randomization": self.randomization.as_api() if self.randomization else None,
            "synthetic_control": (
                self.synthetic_control.as_api() if self.synthetic_control is not None else None
            ),
        }


def summarise(
    kpi: Kpi,
    sites: list[SiteData],
    periods: Periods,
    target_relative: float | None = None,
    kpi_name: str | None = None,
    pairs: list[tuple[int, int]] | None = None,
) -> KpiResult:
    """Everything shown for one KPI of a pilot, from the per-site phase means. `pairs`
    (pilot site id, control site id) are the matched pairs of a design drawn at random and
    unchanged since: the randomization test then swaps within pairs only."""
    pilot = [s for s in sites if s.arm == PILOT]
    control = [s for s in sites if s.arm == CONTROL]
    p_ok = [s for s in pilot if s.delta is not None]
    c_ok = [s for s in control if s.delta is not None]
    est = estimate(
        [s.delta for s in p_ok],  # type: ignore[misc]
        [s.delta for s in c_ok] if control else None,  # type: ignore[misc]
    )
    if control and not c_ok and p_ok:
        est = Estimate(
            None,
            None,
            None,
            None,
            None,
            None,
            "welch",
            words.lazy_gettext("no control site has measurements in both periods"),
        )
    randomized = randomization_for(p_ok, c_ok, pairs)
    lead, leading = est, est.method
    if (
        control
        and randomized.effect is not None
        and min(randomized.n_pilot, randomized.n_control) < rz.LEADS_BELOW
    ):
        lead, leading = _as_estimate(randomized), "randomization"
    baseline_mean = mean([s.baseline.mean for s in p_ok])  # type: ignore[union-attr,misc]
    pilot_mean = mean([s.pilot.mean for s in p_ok])  # type: ignore[union-attr,misc]
    relative = (
        lead.effect / baseline_mean
        if lead.effect is not None and baseline_mean not in (None, 0)
        else None
    )
    expected_each = expected_periods(
        kpi.period, periods.baseline_start, periods.baseline_end
    ) + expected_periods(kpi.period, periods.pilot_start, periods.pilot_end)
    expected = expected_each * len(sites)
    present = sum(
        (s.baseline.periods if s.baseline else 0) + (s.pilot.periods if s.pilot else 0)
        for s in sites
    )
    customers = sum(
        (s.baseline.sum_n if s.baseline else 0) + (s.pilot.sum_n if s.pilot else 0) for s in sites
    )
    completeness = share(present, expected)
    sign = -1 if kpi.better == "lower" else 1
    clear = lead.ci_low is not None and (lead.ci_low > 0 or lead.ci_high < 0)  # type: ignore[operator]
    favourable = clear and (
        (sign < 0 and lead.ci_high < 0) or (sign > 0 and lead.ci_low > 0)  # type: ignore[operator]
    )
    target_reached = bool(
        favourable
        and target_relative is not None
        and relative is not None
        and (relative <= target_relative if sign < 0 else relative >= target_relative)
    )
    result = KpiResult(
        kpi_code=kpi.code,
        kind=kpi.kind,
        better=kpi.better,
        unit=kpi.unit or "",
        target_relative=target_relative,
        sites=sites,
        estimate=est,
        baseline_mean=baseline_mean,
        pilot_mean=pilot_mean,
        control_baseline_mean=mean([s.baseline.mean for s in c_ok]),  # type: ignore[union-attr,misc]
        control_pilot_mean=mean([s.pilot.mean for s in c_ok]),  # type: ignore[union-attr,misc]
        relative_effect=relative,
        n_pilot_sites=len(p_ok),
        n_control_sites=len(c_ok),
        n_pilot_sites_planned=len(pilot),
        n_control_sites_planned=len(control),
        site_days=present,
        expected_site_days=expected,
        customers=customers,
        completeness=completeness,
        target_reached=target_reached,
        clear_effect=clear,
        reading="",
        randomization=randomized,
        leading=leading,
        lead=lead,
    )
    result.warnings = _warnings(result, has_control=bool(control))
    result.reading = reading(result, kpi_name or kpi.code)
    return result


def randomization_for(
    pilot_sites: list[SiteData],
    control_sites: list[SiteData],
    pairs: list[tuple[int, int]] | None = None,
) -> rz.Randomization:
    """The randomization test on the sites with data in both phases (X = baseline mean,
    Y = pilot-period mean). For a randomized design, only the pairs whose two sites both
    have data take part, laid out pair by pair."""
    if pairs:
        by_id = {s.site_id: s for s in [*pilot_sites, *control_sites]}
        complete = [(by_id[a], by_id[b]) for a, b in pairs if a in by_id and b in by_id]
        pilot_sites = [a for a, _b in complete]
        control_sites = [b for _a, b in complete]
    return rz.randomization_test(
        [s.baseline.mean for s in pilot_sites],  # type: ignore[union-attr]
        [s.pilot.mean for s in pilot_sites],  # type: ignore[union-attr]
        [s.baseline.mean for s in control_sites],  # type: ignore[union-attr]
        [s.pilot.mean for s in control_sites],  # type: ignore[union-attr]
        pairs=bool(pairs),
    )


def randomization_problem(result: rz.Randomization) -> str | None:
    """Why the randomization result lacks a number, in the user's language."""
    if result.problem == rz.NO_PILOT:
        return _("no pilot site has measurements in both periods")
    if result.problem == rz.NO_CONTROL:
        return _("no control site has measurements in both periods")
    if result.problem == rz.TOO_FEW:
        return _(
            "with %(pilot)d pilot and %(control)d control sites, the smallest p-value this "
            "design can ever give is %(min_p)s, above 5 %%, so no effect can be told apart "
            "from chance",
            pilot=result.n_pilot,
            control=result.n_control,
            min_p=format_decimal(result.min_p, format="0.###"),
        )
    if result.problem == rz.NO_SPREAD:
        return _("the sites' adjusted outcomes have no spread")
    if result.problem == rz.NOT_LOCATED:
        return _("the interval could not be located within ten times the sites' range")
    return None


def _as_estimate(result: rz.Randomization) -> Estimate:
    return Estimate(
        effect=result.effect,
        ci_low=result.ci_low,
        ci_high=result.ci_high,
        p_value=result.p_value,
        std_error=None,
        df=None,
        method="randomization",
        problem=randomization_problem(result),
    )


# --- plain-language reading ------------------------------------------------------------------
# Worded when shown (`programme.web.words`): results are cached for readers of every language.


def _amount(result: KpiResult, value: float, signed: bool = False) -> words.Later:
    """A change in the KPI's unit; rates in percentage points."""
    return words.later(amount_text, result.kind, result.unit, value, signed)


def _relative(value: float) -> words.Later:
    return words.later(signed_percent, value)


def _warnings(result: KpiResult, has_control: bool) -> list[words.Words]:
    out = []
    if result.n_pilot_sites < MIN_SITES_PER_ARM or (
        has_control and result.n_control_sites < MIN_SITES_PER_ARM
    ):
        out.append(
            words.lazy_gettext(
                "Caution: fewer than %(min)d sites per arm with data in both periods "
                "(pilot %(pilot)d, control %(control)d).",
                min=MIN_SITES_PER_ARM,
                pilot=result.n_pilot_sites,
                control=result.n_control_sites,
            )
        )
    if result.completeness is not None and result.completeness < MIN_COMPLETENESS:
        out.append(
            words.lazy_gettext(
                "Caution: data completeness is %(share)s, below %(min)s.",
                share=words.later(format_percent, result.completeness),
                min=words.later(format_percent, MIN_COMPLETENESS),
            )
        )
    if not has_control and result.estimate.effect is not None:
        out.append(
            words.lazy_gettext(
                "No control sites: the change may include what would have happened anyway "
                "(season, trend)."
            )
        )
    return out


def reading(result: KpiResult, kpi_name) -> words.Words:
    """One paragraph a director can read aloud; it never claims more than the interval.
    With fewer than 10 sites in an arm it reads the randomization result and names the
    method; Welch's result follows, labelled. Worded when shown (words.later)."""
    est = result.lead or result.estimate
    if est.effect is None:
        text = words.lazy_gettext("Not computable: %(reason)s.", reason=est.problem or "")
    elif est.ci_low is None:
        text = words.lazy_gettext(
            "%(kpi)s: estimated change %(amount)s, but no confidence interval: %(reason)s. "
            "No effect can be claimed.",
            kpi=kpi_name,
            amount=_amount(result, est.effect, signed=True),
            reason=est.problem or "",
        )
    else:
        ci = {
            "low": _amount(result, est.ci_low, signed=True),
            "high": _amount(result, est.ci_high, signed=True),  # type: ignore[arg-type]
        }
        rel = _relative(result.relative_effect) if result.relative_effect is not None else "–"
        if result.clear_effect:
            values = {
                "kpi": kpi_name,
                "amount": _amount(result, abs(est.effect)),
                "relative": rel,
                **ci,
            }
            text = (
                words.lazy_gettext(
                    "%(kpi)s fell by %(amount)s (%(relative)s), 95%% CI %(low)s to %(high)s",
                    **values,
                )
                if est.effect < 0
                else words.lazy_gettext(
                    "%(kpi)s rose by %(amount)s (%(relative)s), 95%% CI %(low)s to %(high)s",
                    **values,
                )
            )
            better = (est.effect < 0) == (result.better == "lower")
            if not better:
                text = words.join(
                    [text, words.lazy_gettext(" (a change in the wrong direction)")], ""
                )
        else:
            text = words.lazy_gettext(
                "No clear effect on %(kpi)s: estimated change %(amount)s (%(relative)s), "
                "95%% CI %(low)s to %(high)s includes zero",
                kpi=kpi_name,
                amount=_amount(result, est.effect, signed=True),
                relative=rel,
                **ci,
            )
        if result.target_relative is not None:
            target = _relative(result.target_relative)
            verdict = (
                words.lazy_gettext("target %(target)s reached", target=target)
                if result.target_reached
                else words.lazy_gettext("target %(target)s not reached", target=target)
            )
            text = words.lazy_gettext("%(reading)s; %(verdict)s", reading=text, verdict=verdict)
        text = words.join([text, "."], "")
    parts = [text]
    if result.leading == "randomization" and result.randomization is not None:
        parts.append(words.later(_method_text, _without_reading(result)))
    if result.synthetic_control is not None and est.effect is not None:
        parts.append(words.later(_synthetic_sentence, _without_reading(result)))
    return words.join([*parts, *result.warnings], " ")


def _without_reading(result: KpiResult) -> KpiResult:
    """The result the later sentences are worded from (not holding the reading itself)."""
    return replace(result, reading="")


def _method_text(result: KpiResult) -> str:
    return " ".join(str(sentence) for sentence in _method_sentences(result))


def _synthetic_sentence(result: KpiResult) -> str:
    synth = result.synthetic_control
    if synth.effect is None:
        if synth.problem == sc.TOO_FEW_DONORS:
            reason = _(
                "it needs at least %(min)d control sites with data in every week, there are "
                "%(count)d",
                min=sc.MIN_DONORS,
                count=synth.usable_donors,
            )
        else:
            reason = _("no whole week has data at every pilot site in both periods")
        return _("Synthetic control not computable: %(reason)s.", reason=reason)
    return _(
        "Synthetic control (each pilot site against a weighted mix of %(donors)d control "
        "sites): %(amount)s, placebo %(p)s (smallest possible %(min_p)s), pre-period fit "
        "%(fit)s.",
        donors=synth.n_donors,
        amount=_amount(result, synth.effect, signed=True),
        p=_p_text(synth.p_value),
        min_p=format_decimal(1 / (synth.n_donors + 1), format="0.000"),
        fit=_amount(result, synth.pre_rmspe),
    )


def _small(value: float) -> str:
    """0.029, or "< 0.001" for the tiny floors of large designs."""
    if value >= 0.001:
        return format_decimal(value, format="0.000")
    return "< " + format_decimal(0.001, format="0.000")


def _p_text(value: float) -> str:
    """ "p = 0.031" or "p < 0.001"."""
    if value >= 0.001:
        return _("p = %(p)s", p=format_decimal(value, format="0.000"))
    return _("p < %(p)s", p=format_decimal(0.001, format="0.000"))


def _method_sentences(result: KpiResult) -> list[str]:
    """Which test the reading used and what it can prove; then Welch's result, labelled."""
    r = result.randomization
    assert r is not None
    test = (
        _("Design-based randomization test (the pilot sites were drawn at random by matched pairs)")
        if r.randomized_design
        else _("Placebo-in-space test (the pilot sites were chosen, not drawn at random)")
    )
    how = (
        _(  # always at least 2 reassignments (one site per arm at least)
            "every one of the %(count)s reassignments enumerated",
            count=format_decimal(r.n_assignments or 0),
        )
        if r.exact
        else _(
            "approximate, %(num)s random reassignments",
            num=format_decimal(rz.RESAMPLES),
        )
    )
    out = [
        _(
            "%(test)s: %(p)s, smallest possible p-value %(min_p)s (%(how)s).",
            test=test,
            p=_p_text(r.p_value),  # type: ignore[arg-type]
            min_p=_small(r.min_p),  # type: ignore[arg-type]
            how=how,
        )
    ]
    welch = result.estimate
    if welch.ci_low is not None:
        out.append(
            _(
                "Welch's t-test, shown beside: %(amount)s, 95%% CI %(low)s to %(high)s, %(p)s.",
                amount=_amount(result, welch.effect, signed=True),  # type: ignore[arg-type]
                low=_amount(result, welch.ci_low, signed=True),
                high=_amount(result, welch.ci_high, signed=True),  # type: ignore[arg-type]
                p=_p_text(welch.p_value),  # type: ignore[arg-type]
            )
        )
    else:
        out.append(
            _(
                "Welch's t-test, shown beside: no interval (%(reason)s).",
                reason=welch.problem or "",
            )
        )
    return out


# --- the whole pilot -------------------------------------------------------------------------


def kpi_result(
    session: Session,
    kpi: Kpi,
    pilot_ids: list[int],
    control_ids: list[int],
    periods: Periods,
    target_relative: float | None = None,
    pairs: list[tuple[int, int]] | None = None,
) -> KpiResult:
    sites = read_sites(session, kpi.id, pilot_ids, control_ids, periods)
    name = words.kpi_subject(kpi)  # the readings' subject ("Le temps d'attente a baissé")
    result = summarise(kpi, sites, periods, target_relative, kpi_name=name, pairs=pairs)
    if 1 <= len(pilot_ids) <= sc.MAX_PILOT_SITES:
        result.synthetic_control = synthetic_for(session, kpi.id, pilot_ids, control_ids, periods)
        result.reading = reading(result, name)
    return result


def whole_weeks(start: date, end: date) -> list[date]:
    """Mondays of the ISO weeks lying wholly inside [start, end]."""
    first = first_week_start(start)
    out = []
    while first + timedelta(days=6) <= end:
        out.append(first)
        first += timedelta(weeks=1)
    return out


def weekly_site_means(
    session: Session, kpi_id: int, site_ids: list[int], weeks: list[date]
) -> dict[int, dict[date, float]]:
    """{site: {week: Σ value·n / Σ n}} from the weekly rollups (one short primary-key range
    per site)."""
    if not site_ids or not weeks:
        return {}
    r = KpiWeekRollup
    out: dict[int, dict[date, float]] = {}
    wanted = set(weeks)
    for site_id, week, svn, sn in session.execute(
        select(r.site_id, r.week_start, r.sum_vn, r.sum_n)
        .where(
            r.site_id.in_(site_ids),
            r.kpi_id == kpi_id,
            r.week_start >= min(weeks),
            r.week_start <= max(weeks),
        )
        .order_by(r.site_id, r.week_start)
    ):
        if sn and week in wanted:
            out.setdefault(site_id, {})[week] = weighted_mean(svn, sn)
    return out


def synthetic_for(
    session: Session, kpi_id: int, pilot_ids: list[int], control_ids: list[int], periods: Periods
) -> sc.SyntheticControl:
    """The synthetic control of one to three pilot sites, the control sites as donors, on
    the whole weeks of the baseline (pre) and of the pilot period (post)."""
    pre = whole_weeks(periods.baseline_start, periods.baseline_end)
    post = whole_weeks(periods.pilot_start, periods.pilot_end)
    means = weekly_site_means(session, kpi_id, [*pilot_ids, *control_ids], pre + post)
    result = sc.synthetic_control(
        {i: means.get(i, {}) for i in pilot_ids},
        {i: means.get(i, {}) for i in control_ids},
        pre,
        post,
    )
    ids = [*pilot_ids, *control_ids]
    result.names = dict(session.execute(select(Site.id, Site.code).where(Site.id.in_(ids))).all())
    return result


def weekly_arm_series(
    session: Session, kpi_id: int, pilot_ids: list[int], control_ids: list[int], periods: Periods
) -> list[dict[str, Any]]:
    """Weekly pooled value (Σ value·n / Σ n) of each arm from the baseline start to the pilot
    end, from the rollups: the chart's points."""
    first = week_start(periods.baseline_start)
    r = KpiWeekRollup
    ids = list(pilot_ids) + list(control_ids)
    if not ids:
        return []
    # The pilot's own rollup rows, in primary-key order (site, KPI, week): one short range
    # per site. Grouping by week in SQL let SQLite pick the (kpi, week) index instead and
    # read every site of the network for those weeks (65 ms per KPI at 2,000 sites).
    pilots = set(pilot_ids)
    rows = session.execute(
        select(r.site_id, r.week_start, r.sum_vn, r.sum_n)
        .where(
            r.site_id.in_(ids),
            r.kpi_id == kpi_id,
            r.week_start >= first,
            r.week_start <= periods.pilot_end,
        )
        .order_by(r.site_id, r.week_start)
    ).all()
    sums = pooled(
        ((week, PILOT if site_id in pilots else CONTROL), svn, sn, 1)
        for site_id, week, svn, sn in rows
    )
    return [
        {"week": week.isoformat(), "arm": arm_name, "value": svn / sn, "n": int(sn)}
        for (week, arm_name), (svn, sn, _rows) in sorted(sums.items())
        if sn
    ]


def historical_delta_sd(
    session: Session,
    kpi_id: int,
    weeks: int,
    until: date,
    site_ids: list[int] | None = None,
    history_weeks: int = 52,
) -> tuple[float | None, float | None, int]:
    """(σ of site-level changes, mean level, number of changes) over the history before
    `until`: the year is cut into consecutive blocks of `weeks` weeks; each site's change
    between two consecutive blocks is one observation. From the rollups, grouped in SQL
    by site and block."""
    weeks = max(1, weeks)
    end = week_start(until)
    blocks = max(2, history_weeks // weeks)
    bounds = [end - timedelta(weeks=weeks * (blocks - i)) for i in range(blocks + 1)]
    r = KpiWeekRollup
    block = case(
        *[((r.week_start >= bounds[i]) & (r.week_start < bounds[i + 1]), i) for i in range(blocks)],
        else_=-1,
    )
    stmt = (
        select(r.site_id, block, func.sum(r.sum_vn), func.sum(r.sum_n))
        .where(r.kpi_id == kpi_id, r.week_start >= bounds[0], r.week_start < bounds[-1])
        .group_by(r.site_id, block)
    )
    if site_ids:
        stmt = stmt.where(r.site_id.in_(site_ids))
    means: dict[int, dict[int, float]] = {}
    for site_id, index, svn, sn in session.execute(stmt):
        if sn and index >= 0:
            means.setdefault(site_id, {})[int(index)] = weighted_mean(svn, sn)
    deltas = [
        by_block[i + 1] - by_block[i]
        for by_block in means.values()
        for i in range(blocks - 1)
        if i in by_block and i + 1 in by_block
    ]
    levels = [v for by_block in means.values() for v in by_block.values()]
    if len(deltas) < 2:
        return None, mean(levels), len(deltas)
    return float(np.std(deltas, ddof=1)), mean(levels), len(deltas)
