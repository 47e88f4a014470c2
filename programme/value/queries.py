"""Read-side SQL for value: the volume Q of a package's deployed sites, per month, and the
lists the value screens choose from."""

from __future__ import annotations

from datetime import date

from sqlalchemy import extract, func, select
from sqlalchemy.orm import Session

from programme.deployment.models import Wave, WaveSite
from programme.kpis.models import Kpi, Measurement
from programme.network.models import Region
from programme.pilots.models import Package

# A site is deployed (live) once its wave is deploying, stabilising or closed: a wave still
# "planned" or "preparing" after its go-live date is late, its sites are not live yet.
LIVE_STATUSES = ("deploying", "stabilising", "closed")


def _go_lives(package_id: int, end: date):
    """Each deployed site's go-live for the package: its earliest live wave (deploying,
    stabilising or closed) with a go-live on or before `end` (a subquery: site_id, go_live)."""
    return (
        select(WaveSite.site_id, func.min(Wave.go_live).label("go_live"))
        .join(Wave, Wave.id == WaveSite.wave_id)
        .where(
            Wave.package_id == package_id,
            Wave.go_live <= end,
            Wave.status.in_(LIVE_STATUSES),
        )
        .group_by(WaveSite.site_id)
        .subquery()
    )


def monthly_volumes(
    session: Session, package_id: int, volume_kpi_id: int, start: date, end: date
) -> dict[str, float]:
    """Σ of the volume KPI's measurements at the package's deployed sites, per month
    ("YYYY-MM"), on dates in [start, end] on or after each site's go-live (its earliest live
    wave of the package with a go-live on or before `end`). One SQL aggregation."""
    go_live = _go_lives(package_id, end)
    year = extract("year", Measurement.period_date)
    month = extract("month", Measurement.period_date)
    rows = session.execute(
        select(year, month, func.sum(Measurement.value))
        .join(go_live, go_live.c.site_id == Measurement.site_id)
        .where(
            Measurement.kpi_id == volume_kpi_id,
            Measurement.period_date >= start,
            Measurement.period_date <= end,
            Measurement.period_date >= go_live.c.go_live,
        )
        .group_by(year, month)
    ).all()
    return {f"{int(y):04d}-{int(m):02d}": float(total) for y, m, total in rows}


def _month_columns():
    return extract("year", Measurement.period_date), extract("month", Measurement.period_date)


def site_monthly_volumes(
    session: Session, volume_kpi_id: int, site_ids: list[int], start: date, end: date
) -> dict[tuple[int, str], float]:
    """{(site, "YYYY-MM"): Σ of the volume KPI's measurements} on dates in [start, end], for
    the given sites (the reference volumes of planned and forecast). One SQL aggregation;
    a site-month without any measurement is absent."""
    if not site_ids:
        return {}
    year, month = _month_columns()
    rows = session.execute(
        select(Measurement.site_id, year, month, func.sum(Measurement.value))
        .where(
            Measurement.kpi_id == volume_kpi_id,
            Measurement.site_id.in_(site_ids),
            Measurement.period_date >= start,
            Measurement.period_date <= end,
        )
        .group_by(Measurement.site_id, year, month)
    ).all()
    return {(int(s), f"{int(y):04d}-{int(m):02d}"): float(t) for s, y, m, t in rows}


def site_monthly_actual_volumes(
    session: Session, package_id: int, volume_kpi_id: int, start: date, end: date
) -> dict[tuple[int, str], float]:
    """{(site, "YYYY-MM"): Σ of the volume KPI's measurements} at the package's deployed
    sites on dates in [start, end] on or after the site's go-live (its earliest live wave of
    the package — deploying, stabilising or closed — with a go-live on or before `end`): the
    Q of the actual, per site. One SQL aggregation."""
    go_live = _go_lives(package_id, end)
    year, month = _month_columns()
    rows = session.execute(
        select(Measurement.site_id, year, month, func.sum(Measurement.value))
        .join(go_live, go_live.c.site_id == Measurement.site_id)
        .where(
            Measurement.kpi_id == volume_kpi_id,
            Measurement.period_date >= start,
            Measurement.period_date <= end,
            Measurement.period_date >= go_live.c.go_live,
        )
        .group_by(Measurement.site_id, year, month)
    ).all()
    return {(int(s), f"{int(y):04d}-{int(m):02d}"): float(t) for s, y, m, t in rows}


def network_volume(session: Session, volume_kpi_id: int, start: date, end: date) -> float:
    """Σ of the volume KPI over every site on dates in [start, end] (one SQL sum)."""
    total = session.scalar(
        select(func.sum(Measurement.value)).where(
            Measurement.kpi_id == volume_kpi_id,
            Measurement.period_date >= start,
            Measurement.period_date <= end,
        )
    )
    return float(total or 0.0)


def wave_calendar(session: Session, package_id: int) -> list[tuple[int, date, str]]:
    """(site, go-live, wave status) of every site in the package's waves, earliest wave
    first."""
    return [
        (int(s), g, st)
        for s, g, st in session.execute(
            select(WaveSite.site_id, Wave.go_live, Wave.status)
            .join(Wave, Wave.id == WaveSite.wave_id)
            .where(Wave.package_id == package_id)
            .order_by(Wave.go_live, Wave.id)
        )
    ]


# --- the screens' lists --------------------------------------------------------------------


def driver_choices(session: Session) -> dict[str, list[tuple[str, str]]]:
    """The driver form's lists: packages, the KPIs whose effect is valued (not counts) and
    the volume KPIs (counts)."""
    packages = session.scalars(select(Package).order_by(Package.name)).all()
    kpis = session.scalars(select(Kpi).order_by(Kpi.code)).all()
    return {
        "package": [(str(p.id), p.name) for p in packages],
        "kpi": [(k.code, k.label) for k in kpis if k.kind != "count"],
        "volume_kpi": [(k.code, k.label) for k in kpis if k.kind == "count"],
    }


def regions(session: Session) -> list[Region]:
    return list(session.scalars(select(Region)))


def packages(session: Session) -> list[Package]:
    return list(session.scalars(select(Package)))


def kpis_by_code(session: Session) -> dict[str, Kpi]:
    return {k.code: k for k in session.scalars(select(Kpi))}
