"""Planned and forecast volumes of a value driver, the pilot's effect, attribution shares and
the freeze of the planned value at gate L3.

- Planned: the pilot's effect × the waves' go-lives × the sites' volumes. A site's volume in
  a month is its volume in the same month a year earlier (the latest such month that has
  ended, so within the past 12 months for a month to come), or the mean of its months over
  the past 12 ended months when that month is missing. A site counts from its go-live: in
  its go-live month, pro rata of the days on or after it.
- Forecast: the same volumes on the current wave calendar — the go-live of a site that is
  live (its wave deploying, stabilising or closed), the planned go-live for the rest, not
  before today when it is late.
- Frozen at L3: when the package passes gate L3, every driver's planned series (per region
  and month, over `HORIZON_MONTHS` from the first go-live) is stored (`ValuePlan`); planned
  is read from it afterwards.
- Attribution: at a site claimed by several packages for the same KPI each counts its
  share (`ValueDriver.attribution`); alone at a site, a package counts it fully."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from programme.deployment.models import Wave, WaveSite
from programme.network.models import Site
from programme.pilots.models import Package
from programme.value import compute, queries
from programme.value.models import ValueDriver, ValuePlan, ValuePlanMonth

LIVE_STATUSES = queries.LIVE_STATUSES
HORIZON_MONTHS = 36


# --- months ----------------------------------------------------------------------------------


def month_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def add_months(month: str, k: int) -> str:
    index = int(month[:4]) * 12 + int(month[5:7]) - 1 + k
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def month_start(month: str) -> date:
    return date(int(month[:4]), int(month[5:7]), 1)


def month_end(month: str) -> date:
    y, m = int(month[:4]), int(month[5:7])
    return date(y, m, calendar.monthrange(y, m)[1])


def months_between(first: str, last: str, limit: int = 240) -> list[str]:
    out, month = [], first
    while month <= last and len(out) < limit:
        out.append(month)
        month = add_months(month, 1)
    return out


def last_ended_month(today: date) -> str:
    return add_months(month_of(today), -1)


def reference_month(month: str, last_ended: str) -> str:
    """The same month a year earlier — or two, three… years earlier when that has not
    ended yet."""
    ref = add_months(month, -12)
    while ref > last_ended:
        ref = add_months(ref, -12)
    return ref


def live_fraction(month: str, go_live: date | None) -> float:
    """Share of the month's days on or after the go-live."""
    if go_live is None:
        return 0.0
    start, end = month_start(month), month_end(month)
    if go_live <= start:
        return 1.0
    if go_live > end:
        return 0.0
    return ((end - go_live).days + 1) / ((end - start).days + 1)


# --- calendars -------------------------------------------------------------------------------


def planned_go_lives(calendar_rows) -> dict[int, date]:
    """Site → its earliest go-live in the package's waves (the wave calendar as planned)."""
    out: dict[int, date] = {}
    for site, go_live, _status in calendar_rows:
        if site not in out or go_live < out[site]:
            out[site] = go_live
    return out


def forecast_go_lives(calendar_rows, today: date) -> dict[int, date]:
    """Site → go-live on the current calendar: the actual go-live where the site is live,
    the planned one for the rest, not before today when it is late."""
    out: dict[int, date] = {}
    for site, go_live, status in calendar_rows:
        live = status in LIVE_STATUSES and go_live <= today
        when = go_live if live else max(go_live, today)
        if site not in out or when < out[site]:
            out[site] = when
    return out


# --- reference volumes -----------------------------------------------------------------------


@dataclass
class References:
    """A site's volume in a month to come (or a past month on the plan): the same month a
    year earlier, or the mean of its past 12 ended months."""

    volumes: dict[tuple[int, str], float]
    means: dict[int, float]
    last_ended: str

    def volume(self, site: int, month: str) -> float | None:
        ref = reference_month(month, self.last_ended)
        q = self.volumes.get((site, ref))
        return q if q is not None else self.means.get(site)


def references(
    session: Session, volume_kpi_id: int, site_ids: list[int], months: list[str], today: date
) -> References:
    last = last_ended_month(today)
    window = months_between(add_months(last, -11), last)
    needed = {reference_month(m, last) for m in months} | {window[0]}
    volumes = queries.site_monthly_volumes(
        session, volume_kpi_id, sorted(site_ids), month_start(min(needed)), month_end(last)
    )
    sums: dict[int, list[float]] = {}
    for (site, month), q in volumes.items():
        if month >= window[0]:
            sums.setdefault(site, []).append(q)
    means = {site: sum(qs) / len(qs) for site, qs in sums.items()}
    return References(volumes, means, last)


def site_volumes(
    refs: References, go_lives: dict[int, date], months: list[str]
) -> dict[tuple[int, str], float]:
    """{(site, month): reference volume × the share of the month the site is live}."""
    out: dict[tuple[int, str], float] = {}
    for site, go_live in go_lives.items():
        for month in months:
            fraction = live_fraction(month, go_live)
            if fraction > 0:
                out[(site, month)] = (refs.volume(site, month) or 0.0) * fraction
    return out


# --- attribution -----------------------------------------------------------------------------


def claimants(session: Session, kpi_id: int) -> dict[int, dict[int, float]]:
    """Site → {driver id: attribution share} of every driver on this KPI whose package has
    the site in one of its waves."""
    rows = session.execute(
        select(WaveSite.site_id, ValueDriver.id, ValueDriver.attribution)
        .join(Wave, Wave.id == WaveSite.wave_id)
        .join(ValueDriver, ValueDriver.package_id == Wave.package_id)
        .where(ValueDriver.kpi_id == kpi_id)
        .distinct()
    ).all()
    out: dict[int, dict[int, float]] = {}
    for site, driver, share in rows:
        out.setdefault(int(site), {})[int(driver)] = float(share)
    return out


def site_shares(session: Session, driver: ValueDriver) -> dict[int, float]:
    """Site → the share of the value this driver counts there: 1 where the package is the
    only claimant for the KPI, its attribution share where others claim the site too (scaled
    down when the shares there sum over 1, e.g. after a wave added a shared site)."""
    out = {}
    for site, shares in claimants(session, driver.kpi_id).items():
        if driver.id not in shares:
            continue
        if len(shares) == 1:
            out[site] = 1.0
        else:
            out[site] = shares[driver.id] / max(1.0, sum(shares.values()))
    return out


def over_attributed(session: Session, kpi_id: int) -> list[int]:
    """Sites whose claimants' shares on this KPI sum over 1."""
    return sorted(
        site
        for site, shares in claimants(session, kpi_id).items()
        if len(shares) > 1 and sum(shares.values()) > 1 + 1e-9
    )


# --- the pilot's effect ----------------------------------------------------------------------


@dataclass(frozen=True)
class Effect:
    estimate: float | None
    ci_low: float | None
    ci_high: float | None
    source: str  # "pilot" or "deployment"
    reading: str = ""
    origin: tuple = ()  # where Δ comes from: ("pilot", pilot, KPI) or ("deployment", …)

    @property
    def usable(self) -> bool:
        return self.estimate is not None

    @property
    def key(self) -> tuple:
        """Drivers with the same Δ (same origin, same figures) share its draws."""
        return (self.origin, self.source, self.estimate, self.ci_low, self.ci_high)


def pilot_effect(session: Session, package: Package, kpi, memo: dict | None = None) -> Effect:
    """The pilot's effect on this KPI (the estimate its reading leads with) and its 95 %
    interval, or an Effect without estimate and the reason."""
    from programme.pilots import services as pilots

    pilot = package.pilot
    if pilot is None:
        return Effect(None, None, None, "pilot", _("The package has no pilot."))
    key = ("pilot", pilot.id, kpi.id)
    if memo is not None and key in memo:
        return memo[key]
    pk = next((pk for pk in pilot.kpis if pk.kpi_id == kpi.id), None)
    if pk is None:
        effect = Effect(
            None,
            None,
            None,
            "pilot",
            _("The pilot %(pilot)s was not judged on %(kpi)s.", pilot=pilot.name, kpi=kpi.code),
        )
    else:
        from programme.pilots import results

        result = results.kpi_result(
            session,
            kpi,
            pilot.site_ids("pilot"),
            pilot.site_ids("control"),
            pilots.periods(pilot),
            pk.target_relative,
            pairs=pilot.pairs,
        )
        lead = result.lead or result.estimate
        if lead.effect is None:
            effect = Effect(
                None, None, None, "pilot", _("The pilot's effect cannot be computed yet.")
            )
        else:
            effect = Effect(lead.effect, lead.ci_low, lead.ci_high, "pilot", origin=key)
    if memo is not None:
        memo[key] = effect
    return effect


# --- planned series --------------------------------------------------------------------------


@dataclass
class Series:
    """Volumes of one driver per (region, month): as is and weighted by the attribution
    shares, and (for the actual) per site."""

    volume: dict[tuple[int, str], float]
    attributed: dict[tuple[int, str], float]
    by_site: dict[tuple[int, str], float] | None = None


def regional(
    site_months: dict[tuple[int, str], float],
    regions: dict[int, int],
    shares: dict[int, float],
    keep_sites: bool = False,
) -> Series:
    volume: dict[tuple[int, str], float] = {}
    attributed: dict[tuple[int, str], float] = {}
    for (site, month), q in site_months.items():
        key = (regions.get(site, 0), month)
        volume[key] = volume.get(key, 0.0) + q
        attributed[key] = attributed.get(key, 0.0) + q * shares.get(site, 1.0)
    return Series(volume, attributed, dict(site_months) if keep_sites else None)


def site_regions(session: Session) -> dict[int, int]:
    return {int(s): int(r) for s, r in session.execute(select(Site.id, Site.region_id))}


def horizon(calendar_rows) -> list[str]:
    """The months a frozen plan covers: HORIZON_MONTHS from the first go-live's month."""
    if not calendar_rows:
        return []
    first = month_of(min(g for _s, g, _st in calendar_rows))
    return months_between(first, add_months(first, HORIZON_MONTHS - 1))


def planned_series(
    session: Session,
    driver: ValueDriver,
    months: list[str],
    today: date,
    regions: dict[int, int] | None = None,
    calendar_rows=None,
) -> Series:
    """The driver's planned volumes per (region, month) on the waves' go-lives."""
    rows = calendar_rows if calendar_rows is not None else queries.wave_calendar(
        session, driver.package_id
    )  # fmt: skip
    go_lives = planned_go_lives(rows)
    refs = references(session, driver.volume_kpi_id, list(go_lives), months, today)
    return regional(
        site_volumes(refs, go_lives, months),
        regions if regions is not None else site_regions(session),
        site_shares(session, driver),
    )


def frozen_plan(session: Session, driver: ValueDriver) -> ValuePlan | None:
    """The latest frozen plan of the driver (package × KPI), if any."""
    return session.scalar(
        select(ValuePlan)
        .where(ValuePlan.package_id == driver.package_id, ValuePlan.kpi_id == driver.kpi_id)
        .order_by(ValuePlan.id.desc())
        .limit(1)
    )


def freeze(session: Session, package: Package, gate_move_id: int | None, today: date) -> list:
    """Store every driver's planned series of the package (the pass of gate L3)."""
    rows = queries.wave_calendar(session, package.id)
    months = horizon(rows)
    regions = site_regions(session)
    memo: dict = {}
    plans = []
    for driver in session.scalars(
        select(ValueDriver).where(ValueDriver.package_id == package.id).order_by(ValueDriver.id)
    ):
        effect = pilot_effect(session, package, driver.kpi, memo)
        series = planned_series(session, driver, months, today, regions, rows)
        unit = driver.unit_most_likely if driver.financial else None
        plan = ValuePlan(
            package_id=package.id,
            kpi_id=driver.kpi_id,
            gate_move_id=gate_move_id,
            effect=effect.estimate,
            ci_low=effect.ci_low,
            ci_high=effect.ci_high,
            reading=effect.reading
            or (_("No wave is planned yet: nothing is planned.") if not rows else ""),
        )
        for (region, month), q in sorted(series.volume.items()):
            q_att = series.attributed[(region, month)]
            planned = (
                compute.value(effect.estimate, driver.kpi.better, q_att, unit)
                if effect.usable and unit is not None
                else None
            )
            plan.months.append(
                ValuePlanMonth(
                    region_id=region,
                    month=month,
                    volume=q,
                    attributed_volume=q_att,
                    planned=planned,
                )
            )
        session.add(plan)
        plans.append(plan)
    session.flush()
    return plans


def plan_series(plan: ValuePlan) -> Series:
    volume = {(m.region_id, m.month): m.volume for m in plan.months}
    attributed = {(m.region_id, m.month): m.attributed_volume for m in plan.months}
    return Series(volume, attributed)
