"""Value read with the deployment impact (issue 18): what needs programme/reports/impact.py
sits here, in the reports layer (value → reports, never the other way round)."""

from __future__ import annotations

from programme.pilots.models import Package
from programme.reports import impact
from programme.value import services


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
    y, m = int(first[:4]), int(first[5:7])
    out = []
    while f"{y:04d}-{m:02d}" <= last and len(out) < 240:
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def _month_end(month: str):
    from datetime import date, timedelta

    y, m = int(month[:4]), int(month[5:7])
    nxt = date(y + 1, 1, 1) if m == 12 else date(y, m + 1, 1)
    return nxt - timedelta(days=1)


def monthly_value(session, package_id: int, kpi_code: str, first: str, last: str,
                  window_weeks: int = impact.DEFAULT_WINDOW_WEEKS, today=None) -> dict:  # fmt: skip
    """Actual value per month with its interval, estimate (Wave's rule) and P10/P50/P90
    from seeded draws (totals add draws). Planned and forecast are not computed yet: they
    are null and `reading` says so. Raises services.ValueRefused for unknown input."""
    from datetime import date

    from flask_babel import gettext as _
    from sqlalchemy import select

    from programme.kpis.models import Kpi
    from programme.value import compute, queries
    from programme.value.models import ValueDriver

    today = today or date.today()
    errors = {}
    kpi = session.scalar(select(Kpi).where(Kpi.code == kpi_code.strip().upper()))
    package = session.get(Package, package_id)
    if package is None:
        errors["package"] = _("No such package.")
    if kpi is None:
        errors["kpi"] = _("Choose a KPI of the catalogue.")
    if first > last:
        errors["to"] = _("The last month must not be before the first.")
    driver = None
    if not errors:
        driver = session.scalar(
            select(ValueDriver).where(ValueDriver.package_id == package_id, ValueDriver.kpi_id == kpi.id)
        )  # fmt: skip
        if driver is None:
            errors["kpi"] = _("This package has no value driver for %(code)s.", code=kpi.code)
    if errors:
        raise services.ValueRefused(errors)
    months = _months(first, last)
    result = impact.compute_impact(
        session, kpi.code, package_id, window_weeks, with_regions=False, with_chart=False, today=today
    )  # fmt: skip
    ended = [m for m in months if _month_end(m) < today]
    volumes = {m: 0.0 for m in ended}
    if ended:
        volumes.update(
            queries.monthly_volumes(
                session, package_id, driver.volume_kpi_id, date(int(first[:4]), int(first[5:7]), 1), _month_end(ended[-1])
            )
        )  # fmt: skip
    unit = driver.unit_most_likely if driver.financial else None
    rows = {a.month: a for a in compute.actuals(volumes, result.estimate, result.ci_low, result.ci_high, kpi.better, unit)}  # fmt: skip
    draws = None
    if unit is not None and result.estimate is not None and result.ci_low is not None and ended:
        rng = compute.rng()
        deltas = compute.effect_draws(result.estimate, result.ci_low, result.ci_high, rng)
        units = compute.unit_draws(driver.unit_low, driver.unit_most_likely, driver.unit_high, rng)
        draws = compute.value_draws(deltas, units, kpi.better, [volumes[m] for m in ended])
    actual = [rows[m].actual if m in rows else None for m in months]
    estimate = compute.estimate([None] * len(months), actual, [None] * len(months))
    out_months = []
    for i, month in enumerate(months):
        row = rows.get(month)
        p = (
            compute.percentiles(draws[:, ended.index(month)])
            if draws is not None and month in ended
            else None
        )
        out_months.append({
            "month": month, "planned": None, "forecast": None,
            "actual": row.actual if row else None,
            "actual_low": row.actual_low if row else None,
            "actual_high": row.actual_high if row else None,
            "estimate": estimate[i], "volume": row.volume if row else None,
            "p10": p.p10 if p else None, "p50": p.p50 if p else None, "p90": p.p90 if p else None,
        })  # fmt: skip

    def total(field):
        values = [m[field] for m in out_months if m[field] is not None]
        return sum(values) if values else None

    p = compute.percentiles(compute.total_draws(draws)) if draws is not None else None
    reading = _(
        "Actual value for the months that have ended, from the deployment impact over "
        "%(weeks)d weeks; planned and forecast are not computed yet.",
        weeks=window_weeks,
    )
    if result.estimate is None:
        reading = result.reading
    elif unit is None:
        reading = _("A non-financial lever: effect and volume only, no money.")
    return {
        "currency": "EUR",
        "months": out_months,
        "total": {
            "planned": None,
            "forecast": None,
            "actual": total("actual"),
            "actual_low": total("actual_low"),
            "actual_high": total("actual_high"),
            "estimate": total("estimate"),
            "volume": total("volume"),
            "p10": p.p10 if p else None,
            "p50": p.p50 if p else None,
            "p90": p.p90 if p else None,
        },  # fmt: skip
        "effect": {
            "estimate": result.estimate,
            "ci_low": result.ci_low,
            "ci_high": result.ci_high,
            "source": "deployment",
        },  # fmt: skip
        "reading": reading,
    }


# --- the value screens' services (issue 18, items 3 and 5) -----------------------------------
# Signatures are stable: the screens code against them. Money is unrounded euros; a field is
# None when it cannot be computed and `reading` says why.

_FIGURES = ("planned", "forecast", "actual", "actual_low", "actual_high", "estimate", "volume",
            "p10", "p50", "p90")  # fmt: skip


def _empty_figures() -> dict:
    return dict.fromkeys(_FIGURES)


def value_report(session, *, package_id: int | None = None, kpi_code: str | None = None,
                 region_id: int | None = None, first: str, last: str,
                 window_weeks: int = impact.DEFAULT_WINDOW_WEEKS, today=None) -> dict:  # fmt: skip
    """Planned / forecast / actual / estimate by month with P10/P50/P90, for one package (or
    the whole portfolio: every package with a value driver, `package_id=None`), one KPI (or
    all, `kpi_code=None`) and one region (or the network, `region_id=None`).

    Returns the API shape (`currency`, `months`, `total`, `effect`, `reading`) plus
    `packages` [{"id", "name", "kpi", "total"}], `regions` [{"id", "name", "total"}] and
    `sites` [{"id", "code", "name", "go_live", "volume", "actual", "actual_low",
    "actual_high"}] for the drill-down."""
    from flask_babel import gettext as _

    return {
        "currency": "EUR",
        "months": [{"month": m, **_empty_figures()} for m in _months(first, last)],
        "total": _empty_figures(),
        "effect": {"estimate": None, "ci_low": None, "ci_high": None, "source": None},
        "reading": _("Not computed yet."),
        "packages": [],
        "regions": [],
        "sites": [],
    }


def value_to_date(session, *, region_id: int | None = None, today=None) -> dict:
    """The executive home's line: actual value to date (every package with a driver, ended
    months from the first go-live) with its P10/P90, against planned to date.
    {"currency", "actual", "p10", "p50", "p90", "planned", "first_month", "last_month",
    "reading"}."""
    from flask_babel import gettext as _

    return {"currency": "EUR", "actual": None, "p10": None, "p50": None, "p90": None,
            "planned": None, "first_month": None, "last_month": None,
            "reading": _("Not computed yet.")}  # fmt: skip


def pilot_projected_value(session, pilot_id: int) -> dict | None:
    """Projected annual value of going network-wide with the pilot's package: per driver,
    pilot effect × d × the network's volume over the last 12 ended months × u; low/high from
    the effect's 95 % interval and the unit range, P10/P50/P90 from seeded draws. None when
    the pilot has no package with a value driver.
    {"currency", "drivers": [{"package", "package_name", "kpi", "volume_kpi",
    "annual_volume", "value", "low", "high", "p10", "p50", "p90", "financial"}],
    "total": {"value", "low", "high", "p10", "p50", "p90"}, "reading"}."""
    return None
