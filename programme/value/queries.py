"""Read-side SQL for value: the volume Q of a package's deployed sites, per month."""

from __future__ import annotations

from datetime import date

from sqlalchemy import extract, func, select
from sqlalchemy.orm import Session

from programme.deployment.models import Wave, WaveSite
from programme.kpis.models import Measurement


def monthly_volumes(
    session: Session, package_id: int, volume_kpi_id: int, start: date, end: date
) -> dict[str, float]:
    """Σ of the volume KPI's measurements at the package's deployed sites, per month
    ("YYYY-MM"), on dates in [start, end] on or after each site's go-live (its earliest wave
    of the package with a go-live on or before `end`). One SQL aggregation."""
    go_live = (
        select(WaveSite.site_id, func.min(Wave.go_live).label("go_live"))
        .join(Wave, Wave.id == WaveSite.wave_id)
        .where(Wave.package_id == package_id, Wave.go_live <= end)
        .group_by(WaveSite.site_id)
        .subquery()
    )
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
