"""What the programme is worth: planned / forecast / actual / estimate by month
with P10/P50/P90, per package, region and network. What needs the deployment impact
(programme/reports/impact/) sits here, in the reports layer (value → reports, never the
other way round).

- Actual (ended months): Δ = the deployment-impact estimate (window W weeks) × d × Q × u,
  Q = Σ of the volume KPI at the package's deployed sites on dates of the month on or after
  the site's go-live; its ends from the effect's 95 % interval (swapped when d·Q·u < 0).
- Forecast: Δ = the deployment impact once at least one wave has a result, else the
  pilot's effect (`effect.source`), on the current wave calendar (programme/value/plan.py).
- Planned: the pilot's effect on the waves' go-lives, frozen at gate L3 (then read from the
  stored plan).
- Estimate: actual, else forecast, else planned (Wave's rule), driver by driver.
- P10/P50/P90: 10,000 seeded draws of the estimate (Δ ~ Normal(Δ̂, SE), u ~ Triangular);
  totals add draws across months and packages, never percentiles; drivers whose Δ is the
  same (same source and figures) share its draws.
- At sites claimed by several packages for one KPI, each package counts its attribution
  share of the value (volumes are shown as they are)."""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from datetime import date

import numpy as np
from flask_babel import format_date, ngettext
from flask_babel import gettext as _
from sqlalchemy import select

from programme.errors import Invalid
from programme.kpis.models import Kpi
from programme.network.models import Region, Site
from programme.pilots.models import Package, Pilot
from programme.reports import impact
from programme.value import compute, plan, queries, services
from programme.value.models import ValueDriver

FIGURES = ("planned", "forecast", "actual", "actual_low", "actual_high", "estimate", "volume",
           "p10", "p50", "p90")  # fmt: skip


def effect_excludes_zero(session, package: Package) -> bool:
    """True when the deployment impact of at least one of the package's valued KPIs has a
    95 % interval that excludes 0 (default window)."""
    for driver in services.drivers(session, package.id):
        result = impact.compute_impact(
            session, driver.kpi.code, package.id, with_regions=False, with_chart=False
        )
        if result.clear_effect:
            return True
    return False


def _months(first: str, last: str) -> list[str]:
    return plan.months_between(first, last)


def _month_end(month: str) -> date:
    return plan.month_end(month)


# --- the drivers' inputs ----------------------------------------------------------------------


@dataclass
class _Item:
    """One value driver (package × KPI) with everything its figures need."""

    driver: ValueDriver
    package: Package
    kpi: Kpi
    unit: float | None  # u most likely; None for a non-financial lever
    deployment: plan.Effect
    forecast_effect: plan.Effect
    planned_effect: plan.Effect
    planned: plan.Series
    forecast: plan.Series
    actual: plan.Series
    go_lives: dict[int, date]
    frozen: bool
    plan_last: str | None  # last month of the frozen plan
    shares: dict[int, float]  # site → the share of the value this driver counts there
    units: np.ndarray | None = None
    notes: list[str] = field(default_factory=list)


def _deployment_effect(session, driver, window_weeks, today) -> plan.Effect:
    result = impact.compute_impact(
        session, driver.kpi.code, driver.package_id, window_weeks,
        with_regions=False, with_chart=False, today=today,
    )  # fmt: skip
    if result.estimate is None or result.ci_low is None:
        return plan.Effect(None, None, None, "deployment", str(result.reading))
    return plan.Effect(result.estimate, result.ci_low, result.ci_high, "deployment",
                       origin=("deployment", driver.package_id, driver.kpi_id, window_weeks))  # fmt: skip


def _items(session, drivers, months, window_weeks, today) -> list[_Item]:
    regions = plan.site_regions(session)
    memo: dict = {}
    ended = [m for m in months if plan.month_end(m) < today]
    items = []
    for driver in drivers:
        rows = queries.wave_calendar(session, driver.package_id)
        shares = plan.site_shares(session, driver)
        forecast_lives = plan.forecast_go_lives(rows, today)
        refs = plan.references(session, driver.volume_kpi_id, list(forecast_lives), months, today)
        forecast = plan.regional(plan.site_volumes(refs, forecast_lives, months), regions, shares)
        actual_sites = (
            queries.site_monthly_actual_volumes(
                session, driver.package_id, driver.volume_kpi_id,
                plan.month_start(ended[0]), plan.month_end(ended[-1]),
            )
            if ended
            else {}
        )  # fmt: skip
        actual = plan.regional(actual_sites, regions, shares, keep_sites=True)
        pilot = plan.pilot_effect(session, driver.package, driver.kpi, memo)
        deployment = _deployment_effect(session, driver, window_weeks, today)
        frozen = services.planned_is_frozen(session, driver.package_id)
        stored = plan.frozen_plan(session, driver) if frozen else None
        if stored is not None:
            planned = plan.plan_series(stored)
            planned_effect = plan.Effect(
                stored.effect, stored.ci_low, stored.ci_high, "pilot", stored.reading,
                origin=("pilot", driver.package.pilot_id, driver.kpi_id),
            )  # fmt: skip
            plan_last = max((m.month for m in stored.months), default=None)
        else:
            planned = plan.regional(
                plan.site_volumes(refs, plan.planned_go_lives(rows), months), regions, shares
            )
            planned_effect, plan_last = pilot, None
        item = _Item(
            driver=driver,
            package=driver.package,
            kpi=driver.kpi,
            unit=driver.unit_most_likely if driver.financial else None,
            deployment=deployment,
            forecast_effect=deployment if deployment.usable else pilot,
            planned_effect=planned_effect,
            planned=planned,
            forecast=forecast,
            actual=actual,
            go_lives=forecast_lives,
            frozen=stored is not None,
            plan_last=plan_last,
            shares=shares,
        )
        if driver.financial:
            item.units = compute.unit_draws(
                driver.unit_low, driver.unit_most_likely, driver.unit_high,
                np.random.default_rng([compute.SEED, driver.id]),
            )  # fmt: skip
        if frozen and stored is None:
            item.notes.append(
                _(
                    "%(package)s passed L3 before plans were stored: its planned value is "
                    "computed on today's data.",
                    package=driver.package.name,
                )  # fmt: skip
            )
        if not rows:
            item.notes.append(
                _(
                    "%(package)s has no deployment wave yet: nothing is planned or forecast.",
                    package=driver.package.name,
                )  # fmt: skip
            )
        missing = [s for s in forecast_lives if s not in refs.means]
        if missing:
            item.notes.append(
                ngettext(
                    "%(num)d site of %(package)s has no %(volume)s figure over the past 12 "
                    "months: it counts for no volume in planned and forecast.",
                    "%(num)d sites of %(package)s have no %(volume)s figure over the past 12 "
                    "months: they count for no volume in planned and forecast.",
                    len(missing),
                    package=driver.package.name,
                    volume=driver.volume_kpi.code,
                )  # fmt: skip
            )
        if plan.over_attributed(session, driver.kpi_id):
            item.notes.append(
                _(
                    "Some sites are claimed for %(kpi)s by packages whose attribution shares "
                    "sum over 1: the shares are scaled down there.",
                    kpi=driver.kpi.code,
                )  # fmt: skip
            )
        items.append(item)
    return items


# --- figures ----------------------------------------------------------------------------------


class _Draws:
    """Seeded draws of each Δ, shared by the drivers that use the same one."""

    def __init__(self):
        self._effects: dict[tuple, np.ndarray] = {}

    def effect(self, effect: plan.Effect) -> np.ndarray:
        key = effect.key
        if key not in self._effects:
            seed = zlib.crc32(repr(key).encode())
            self._effects[key] = compute.effect_draws(
                effect.estimate, effect.ci_low, effect.ci_high, compute.rng(seed)
            )
        return self._effects[key]


def _monthly(series: plan.Series, region_id: int | None, attributed: bool) -> dict[str, float]:
    """{month: volume} of the region, or of the network (all regions added)."""
    out: dict[str, float] = {}
    for (region, month), q in (series.attributed if attributed else series.volume).items():
        if region_id is None or region == region_id:
            out[month] = out.get(month, 0.0) + q
    return out


def _sum(values) -> float | None:
    present = [v for v in values if v is not None]
    return sum(present) if present else None


def _figures(items: list[_Item], months: list[str], today: date, draws: _Draws,
             region_id: int | None = None) -> dict:  # fmt: skip
    """Monthly rows, total and the total draws of the actual (for `value_to_date`)."""
    one_volume = len({i.driver.volume_kpi_id for i in items}) == 1
    rows = []
    month_draws: list[np.ndarray | None] = []
    actual_total = None
    volumes = [
        (
            _monthly(i.actual, region_id, False),
            _monthly(i.actual, region_id, True),
            _monthly(i.forecast, region_id, False),
            _monthly(i.forecast, region_id, True),
            _monthly(i.planned, region_id, True),
        )
        for i in items
    ]
    for month in months:
        ended = plan.month_end(month) < today
        parts = {f: [] for f in FIGURES}
        vector = None
        actual_vector = None
        for item, (actual_q, actual_att, forecast_q, forecast_att, planned_att) in zip(
            items, volumes, strict=True
        ):
            better = item.kpi.better
            q_actual = actual_q.get(month, 0.0) if ended else None
            q_actual_att = actual_att.get(month, 0.0) if ended else None
            q_forecast = forecast_q.get(month, 0.0)
            q_forecast_att = forecast_att.get(month, 0.0)
            q_planned_att = planned_att.get(month, 0.0)
            planned = forecast = actual = low = high = None
            money = item.unit is not None
            if (
                money
                and item.planned_effect.usable
                and not (item.frozen and (item.plan_last is None or month > item.plan_last))
            ):
                planned = compute.value(
                    item.planned_effect.estimate, better, q_planned_att, item.unit
                )
            if money and item.forecast_effect.usable:
                forecast = compute.value(
                    item.forecast_effect.estimate, better, q_forecast_att, item.unit
                )
            if money and ended and item.deployment.usable:
                actual = compute.value(item.deployment.estimate, better, q_actual_att, item.unit)
                low, high = compute.value_interval(
                    item.deployment.ci_low, item.deployment.ci_high, better, q_actual_att, item.unit
                )
            estimate, source = None, None
            for candidate, effect, q in (
                (actual, item.deployment, q_actual_att),
                (forecast, item.forecast_effect, q_forecast_att),
                (planned, item.planned_effect, q_planned_att),
            ):
                if candidate is not None:
                    estimate, source = candidate, (effect, q)
                    break
            if source is not None and item.units is not None and source[0].ci_low is not None:
                d = draws.effect(source[0]) * item.units * compute.direction(better) * source[1]
                vector = d if vector is None else vector + d
                if actual is not None:
                    actual_vector = d if actual_vector is None else actual_vector + d
            for name, value in (("planned", planned), ("forecast", forecast), ("actual", actual),
                                ("actual_low", low), ("actual_high", high),
                                ("estimate", estimate),
                                ("volume", q_actual if ended else q_forecast)):  # fmt: skip
                parts[name].append(value)
        row = {"month": month}
        for name in FIGURES[:7]:
            row[name] = _sum(parts[name])
        if not one_volume:
            row["volume"] = None
        p = compute.percentiles(vector) if vector is not None else None
        row.update(p10=p.p10 if p else None, p50=p.p50 if p else None, p90=p.p90 if p else None)
        rows.append(row)
        month_draws.append(vector)
        if actual_vector is not None:
            actual_total = actual_vector if actual_total is None else actual_total + actual_vector
    total = {name: _sum(r[name] for r in rows) for name in FIGURES[:7]}
    if not one_volume:
        total["volume"] = None
    present = [v for v in month_draws if v is not None]
    p = compute.percentiles(compute.total_draws(*present)) if present else None
    total.update(p10=p.p10 if p else None, p50=p.p50 if p else None, p90=p.p90 if p else None)
    return {"months": rows, "total": total, "actual_draws": actual_total}


def _sites(session, items: list[_Item], months: list[str], today: date, region_id) -> list[dict]:
    """Per deployed site over the ended months: volume and actual value with its ends."""
    ended = {m for m in months if plan.month_end(m) < today}
    ids = {s for i in items for s in i.go_lives}
    if not ids:
        return []
    meta = {
        s.id: s
        for s in session.scalars(select(Site).where(Site.id.in_(sorted(ids))).order_by(Site.code))
    }
    one_volume = len({i.driver.volume_kpi_id for i in items}) == 1
    per_site = []
    for item in items:
        totals: dict[int, float] = {}
        for (site, month), q in (item.actual.by_site or {}).items():
            if month in ended:
                totals[site] = totals.get(site, 0.0) + q
        per_site.append(totals)
    out = []
    for site_id, site in meta.items():
        if region_id is not None and site.region_id != region_id:
            continue
        volume = 0.0
        actual = low = high = None
        for item, by_site in zip(items, per_site, strict=True):
            if site_id not in item.go_lives:
                continue
            q = by_site.get(site_id, 0.0)
            volume += q
            if item.unit is None or not item.deployment.usable:
                continue
            q_att = q * item.shares.get(site_id, 1.0)
            a = compute.value(item.deployment.estimate, item.kpi.better, q_att, item.unit)
            lo, hi = compute.value_interval(item.deployment.ci_low, item.deployment.ci_high,
                                            item.kpi.better, q_att, item.unit)  # fmt: skip
            actual, low, high = (a + (actual or 0.0), lo + (low or 0.0), hi + (high or 0.0))
        go_live = min((i.go_lives[site_id] for i in items if site_id in i.go_lives), default=None)
        out.append({"id": site.id, "code": site.code, "name": site.name, "go_live": go_live,
                    "volume": volume if one_volume else None, "actual": actual,
                    "actual_low": low, "actual_high": high})  # fmt: skip
    return out


def _reading(items: list[_Item], window_weeks: int) -> str:
    if not items:
        return _("No value driver: nothing to value yet.")
    sentences = [
        _(
            "Actual for the months that have ended, from the deployment impact over %(weeks)d "
            "weeks; forecast on the current wave calendar; planned from the pilot's effect; "
            "the estimate takes the actual, else the forecast, else the planned value.",
            weeks=window_weeks,
        )  # fmt: skip
    ]
    for item in items:
        who = f"{item.package.name} × {item.kpi.code}"
        if item.unit is None:
            sentences.append(
                _(
                    "%(driver)s: a non-financial lever, effect and volume only, no money.",
                    driver=who,
                )  # fmt: skip
            )
        if not item.deployment.usable:
            sentences.append(
                _(
                    "%(driver)s: no actual yet (%(why)s).",
                    driver=who,
                    why=item.deployment.reading.rstrip("."),
                )  # fmt: skip
            )
        if not item.planned_effect.usable:
            sentences.append(
                _(
                    "%(driver)s: no planned value (%(why)s).",
                    driver=who,
                    why=(item.planned_effect.reading or "").rstrip("."),
                )  # fmt: skip
            )
        if item.frozen:
            sentences.append(_("%(driver)s: planned value frozen at gate L3.", driver=who))
        sentences.extend(item.notes)
    return " ".join(sentences)


def _resolve(session, package_id, kpi_code, region_id, first, last):
    errors = {}
    package = kpi = region = None
    if package_id is not None:
        package = session.get(Package, package_id)
        if package is None:
            errors["package"] = _("No such package.")
    if kpi_code:
        kpi = session.scalar(select(Kpi).where(Kpi.code == kpi_code.strip().upper()))
        if kpi is None:
            errors["kpi"] = _("Choose a KPI of the catalogue.")
    if region_id is not None:
        region = session.get(Region, region_id)
        if region is None:
            errors["region"] = _("No such region.")
    if first > last:
        errors["to"] = _("The last month must not be before the first.")
    if errors:
        raise Invalid.from_fields({k: [m] for k, m in errors.items()})
    return package, kpi, region


def _drivers(session, package, kpi) -> list[ValueDriver]:
    stmt = select(ValueDriver).order_by(ValueDriver.package_id, ValueDriver.id)
    if package is not None:
        stmt = stmt.where(ValueDriver.package_id == package.id)
    if kpi is not None:
        stmt = stmt.where(ValueDriver.kpi_id == kpi.id)
    return list(session.scalars(stmt))


def _effect(items: list[_Item]) -> dict:
    if len(items) != 1:
        return {"estimate": None, "ci_low": None, "ci_high": None, "source": None}
    effect = items[0].forecast_effect
    return {"estimate": effect.estimate, "ci_low": effect.ci_low, "ci_high": effect.ci_high,
            "source": effect.source}  # fmt: skip


# --- the services the screens and the API call -----------------------------------------------


def value_report(session, *, package_id: int | None = None, kpi_code: str | None = None,
                 region_id: int | None = None, first: str, last: str,
                 window_weeks: int = impact.DEFAULT_WINDOW_WEEKS, today=None) -> dict:  # fmt: skip
    """Planned / forecast / actual / estimate by month with P10/P50/P90, for one package (or
    the whole portfolio: every package with a value driver, `package_id=None`), one KPI (or
    all, `kpi_code=None`) and one region (or the network, `region_id=None`).

    Returns the API shape (`currency`, `months`, `total`, `effect`, `reading`) plus
    `packages` [{"id", "name", "kpi", "total"}], `regions` [{"id", "name", "total"}] and
    `sites` [{"id", "code", "name", "go_live", "volume", "actual", "actual_low",
    "actual_high"}] (ended months) for the drill-down. Raises Invalid for an
    unknown package, KPI or region or months out of order."""
    today = today or date.today()
    package, kpi, region = _resolve(session, package_id, kpi_code, region_id, first, last)
    months = _months(first, last)
    items = _items(session, _drivers(session, package, kpi), months, window_weeks, today)
    draws = _Draws()
    rid = region.id if region else None
    figures = _figures(items, months, today, draws, rid)
    names = dict(session.execute(select(Region.id, Region.name)).all())
    present = sorted(
        {r for i in items for s in (i.forecast, i.planned, i.actual) for (r, _m) in s.volume},
        key=lambda r: impact.sort_key(names.get(r, "")),
    )
    return {
        "currency": "EUR",
        "months": figures["months"],
        "total": figures["total"],
        "effect": _effect(items),
        "reading": _reading(items, window_weeks),
        "packages": [
            {
                "id": i.package.id,
                "name": i.package.name,
                "kpi": i.kpi.code,
                "total": _figures([i], months, today, draws, rid)["total"],
            }  # fmt: skip
            for i in items
        ],
        "regions": [
            {
                "id": r,
                "name": names.get(r, str(r)),
                "total": _figures(items, months, today, draws, r)["total"],
            }  # fmt: skip
            for r in present
            if rid is None or r == rid
        ],
        "sites": _sites(session, items, months, today, rid),
    }


def monthly_value(session, package_id: int, kpi_code: str, first: str, last: str,
                  window_weeks: int = impact.DEFAULT_WINDOW_WEEKS, today=None,
                  region_id: int | None = None) -> dict:  # fmt: skip
    """The API's value of one package on one KPI by month (`value_report`'s shape without
    the breakdowns). Raises Invalid for unknown input or a missing driver."""
    errors = {}
    kpi = session.scalar(select(Kpi).where(Kpi.code == kpi_code.strip().upper()))
    if session.get(Package, package_id) is None:
        errors["package"] = _("No such package.")
    if kpi is None:
        errors["kpi"] = _("Choose a KPI of the catalogue.")
    elif not errors and not session.scalar(
        select(ValueDriver.id).where(ValueDriver.package_id == package_id, ValueDriver.kpi_id == kpi.id)
    ):  # fmt: skip
        errors["kpi"] = _("This package has no value driver for %(code)s.", code=kpi.code)
    if errors:
        raise Invalid.from_fields({k: [m] for k, m in errors.items()})
    body = value_report(session, package_id=package_id, kpi_code=kpi.code, region_id=region_id,
                        first=first, last=last, window_weeks=window_weeks, today=today)  # fmt: skip
    return {k: body[k] for k in ("currency", "months", "total", "effect", "reading")}


def value_to_date(session, *, region_id: int | None = None, today=None) -> dict:
    """The executive home's line: actual value to date (every package with a driver, ended
    months from the first go-live) with its P10/P50/P90, against planned over the same
    months. {"currency", "actual", "p10", "p50", "p90", "planned", "first_month",
    "last_month", "reading"}."""
    today = today or date.today()
    _p, _k, region = _resolve(session, None, None, region_id, "0000-01", "0000-01")
    drivers = _drivers(session, None, None)
    lives = [g for d in drivers for _s, g, _st in queries.wave_calendar(session, d.package_id)]
    last = plan.last_ended_month(today)
    out = {"currency": "EUR", "actual": None, "p10": None, "p50": None, "p90": None,
           "planned": None, "first_month": None, "last_month": None}  # fmt: skip
    if not drivers:
        return {**out, "reading": _("No value driver: nothing to value yet.")}
    first = plan.month_of(min(lives)) if lives else None
    if first is None or first > last:
        return {**out, "reading": _("No site has been live for a whole month yet.")}
    months = _months(first, last)
    items = _items(session, drivers, months, impact.DEFAULT_WINDOW_WEEKS, today)
    figures = _figures(items, months, today, _Draws(), region.id if region else None)
    p = (
        compute.percentiles(figures["actual_draws"])
        if figures["actual_draws"] is not None
        else None
    )
    return {
        **out,
        "actual": figures["total"]["actual"],
        "p10": p.p10 if p else None,
        "p50": p.p50 if p else None,
        "p90": p.p90 if p else None,
        "planned": figures["total"]["planned"],
        "first_month": first,
        "last_month": last,
        "reading": _reading(items, impact.DEFAULT_WINDOW_WEEKS),
    }


def pilot_projected_value(session, pilot_id: int, today=None) -> dict | None:
    """Projected annual value of going network-wide with the pilot's package: per driver,
    pilot effect × d × the network's volume over the last 12 ended months × u; low/high from
    the effect's 95 % interval and the unit range (the extreme corners), P10/P50/P90 from
    seeded draws (drivers with the same Δ share them; the total adds draws). None when the
    pilot has no package with a value driver.
    {"currency", "drivers": [{"package", "package_name", "kpi", "volume_kpi",
    "annual_volume", "value", "low", "high", "p10", "p50", "p90", "financial"}],
    "total": {"value", "low", "high", "p10", "p50", "p90"}, "reading"}."""
    today = today or date.today()
    pilot = session.get(Pilot, pilot_id)
    if pilot is None:
        return None
    drivers = list(session.scalars(
        select(ValueDriver).join(Package, Package.id == ValueDriver.package_id)
        .where(Package.pilot_id == pilot.id).order_by(ValueDriver.id)
    ))  # fmt: skip
    if not drivers:
        return None
    last = plan.last_ended_month(today)
    start, end = plan.month_start(plan.add_months(last, -11)), plan.month_end(last)
    memo: dict = {}
    draws = _Draws()
    rows, vectors, reasons = [], [], []
    for driver in drivers:
        effect = plan.pilot_effect(session, driver.package, driver.kpi, memo)
        q = queries.network_volume(session, driver.volume_kpi_id, start, end)
        row = {"package": driver.package_id, "package_name": driver.package.name,
               "kpi": driver.kpi.code, "volume_kpi": driver.volume_kpi.code,
               "annual_volume": q, "value": None, "low": None, "high": None,
               "p10": None, "p50": None, "p90": None, "financial": driver.financial}  # fmt: skip
        if not effect.usable:
            reasons.append(f"{driver.kpi.code}: {effect.reading}")
        elif driver.financial:
            better = driver.kpi.better
            row["value"] = compute.value(effect.estimate, better, q, driver.unit_most_likely)
            if effect.ci_low is not None:
                corners = [compute.value(e, better, q, u)
                           for e in (effect.ci_low, effect.ci_high)
                           for u in (driver.unit_low, driver.unit_high)]  # fmt: skip
                row["low"], row["high"] = min(corners), max(corners)
                units = compute.unit_draws(driver.unit_low, driver.unit_most_likely, driver.unit_high,
                                           np.random.default_rng([compute.SEED, driver.id]))  # fmt: skip
                vector = draws.effect(effect) * units * compute.direction(better) * q
                p = compute.percentiles(vector)
                row.update(p10=p.p10, p50=p.p50, p90=p.p90)
                vectors.append(vector)
        rows.append(row)
    p = compute.percentiles(compute.total_draws(*vectors)) if vectors else None
    total = {
        "value": _sum(r["value"] for r in rows),
        "low": _sum(r["low"] for r in rows),
        "high": _sum(r["high"] for r in rows),
        "p10": p.p10 if p else None, "p50": p.p50 if p else None, "p90": p.p90 if p else None,
    }  # fmt: skip
    reading = _(
        "Projected value of one year network-wide: the pilot's effect × the network's volume "
        "over the 12 months to %(last)s × the unit value; low and high from the effect's 95 %% "
        "interval and the unit range; P10–P90 from 10,000 seeded draws.",
        last=format_date(plan.month_end(last), "MMMM y"),
    )
    if reasons:
        reading += " " + " ".join(reasons)
    return {"currency": "EUR", "drivers": rows, "total": total, "reading": reading}
