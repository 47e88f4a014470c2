"""Weekly KPI trends of a scope, and around a wave's go-live, from the weekly rollups."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import bindparam, select, text
from sqlalchemy.orm import Session

from programme.deployment.models import Wave
from programme.kpis.models import Kpi
from programme.network.access import Scope
from programme.web import words
from programme.weeks import week_start

TREND_WEEKS = 26


def weekly_rollups(
    session: Session,
    kpi_ids: list[int],
    first: date,
    last: date,
    region_id: int | None = None,
    site_ids: list[int] | None = None,
) -> list[tuple]:
    """(kpi_id, week, Σ value·n, Σ n, sites) per KPI and week over some sites' rollups.

    Written as `site CROSS JOIN kpi_rollup_week`: SQLite keeps that join order, so it walks
    the chosen sites and reads their rows through the rollup's primary key (site, KPI,
    week), ≈ 20,000 rows for a region at network scale, where its planner would otherwise
    (no statistics) take the (KPI, week) index and read every site's rows of those weeks.
    PostgreSQL plans it freely."""
    if not kpi_ids:
        return []
    clauses = [
        "r.site_id = s.id",
        "r.kpi_id IN :kpi_ids",
        "r.week_start >= :first",
        "r.week_start <= :last",
        "r.count > 0",
    ]
    params: dict[str, Any] = {"kpi_ids": list(kpi_ids), "first": first, "last": last}
    bind = [bindparam("kpi_ids", expanding=True)]
    if region_id is not None:
        clauses.append("s.region_id = :region_id")
        params["region_id"] = region_id
    if site_ids is not None:
        if not site_ids:
            return []
        clauses.append("s.id IN :site_ids")
        params["site_ids"] = list(site_ids)
        bind.append(bindparam("site_ids", expanding=True))
    sql = text(
        "SELECT r.kpi_id, r.week_start, SUM(r.sum_vn), SUM(r.sum_n), COUNT(r.site_id) "
        "FROM site AS s CROSS JOIN kpi_rollup_week AS r WHERE "
        + " AND ".join(clauses)
        + " GROUP BY r.kpi_id, r.week_start"
    ).bindparams(*bind)
    rows = session.execute(sql, params).all()
    # SQLite returns the week as text through a raw statement.
    return [
        (
            k,
            date.fromisoformat(w) if isinstance(w, str) else w,
            float(vn or 0.0),
            int(n or 0),
            int(c or 0),
        )
        for k, w, vn, n, c in rows
    ]


@dataclass
class KpiTrend:
    kpi_id: int
    code: str
    name: str
    kind: str
    unit: str
    points: list[dict[str, Any]]  # week, week_end, value, n, sites

    @property
    def latest(self) -> float | None:
        values = [p["value"] for p in self.points if p["value"] is not None]
        return values[-1] if values else None


def kpi_trends(
    session: Session,
    today: date,
    scope: Scope | None = None,
    site_ids: list[int] | None = None,
    weeks: int = TREND_WEEKS,
) -> list[KpiTrend]:
    """Weekly n-weighted mean of every active KPI over the scope's sites (or the given sites),
    last `weeks` full weeks: one GROUP BY over the rollups."""
    last = week_start(today) - timedelta(weeks=1)
    first = last - timedelta(weeks=weeks - 1)
    kpis = list(session.scalars(select(Kpi).where(Kpi.active.is_(True)).order_by(Kpi.code)))
    if not kpis:
        return []
    scoped_ids = None
    if scope is not None and scope.site_ids is not None:
        scoped_ids = sorted(scope.site_ids)
    if site_ids is not None:
        scoped_ids = sorted(set(site_ids) & set(scoped_ids)) if scoped_ids is not None else site_ids
    rows = weekly_rollups(
        session,
        [k.id for k in kpis],
        first,
        last,
        region_id=scope.region_id if scope is not None else None,
        site_ids=scoped_ids,
    )
    data = {(k, w): (vn, n, s) for k, w, vn, n, s in rows}
    trends = []
    for kpi in kpis:
        points = []
        for i in range(weeks):
            week = first + timedelta(weeks=i)
            vn, n, s = data.get((kpi.id, week), (0.0, 0, 0))
            points.append(
                {
                    "week": week.isoformat(),
                    "week_date": week,
                    "week_end": (week + timedelta(days=7)).isoformat(),
                    "value": (vn / n) if n else None,
                    "n": int(n or 0),
                    "sites": int(s or 0),
                }
            )
        if any(p["value"] is not None for p in points):
            trends.append(
                KpiTrend(kpi.id, kpi.code, words.kpi_name(kpi), kpi.kind, kpi.unit, points)
            )
    return trends


@dataclass
class EventTimeTrend:
    """A KPI around a wave's go-live: weekly mean of the wave's sites, weeks since go-live."""

    code: str
    name: str
    kind: str
    unit: str
    points: list[dict[str, Any]]  # offset (weeks since go-live), week, value, n
    pre_mean: float | None
    post_mean: float | None


def event_time_trends(
    session: Session, wave: Wave, site_ids: list[int], today: date, weeks: int = 8
) -> list[EventTimeTrend]:
    """Pre/post go-live KPI trend of the wave's sites: weeks −W..W−1 around the go-live
    week (only full weeks up to today), one GROUP BY over the rollups."""
    if not site_ids:
        return []
    g = week_start(wave.go_live)
    first = g - timedelta(weeks=weeks)
    last = min(g + timedelta(weeks=weeks - 1), week_start(today) - timedelta(weeks=1))
    kpis = list(session.scalars(select(Kpi).where(Kpi.active.is_(True)).order_by(Kpi.code)))
    rows = weekly_rollups(session, [k.id for k in kpis], first, last, site_ids=site_ids)
    data = {(k, w): (vn, n) for k, w, vn, n, _sites in rows}
    result = []
    for kpi in kpis:
        points = []
        sums = {"pre": [0.0, 0], "post": [0.0, 0]}
        week = first
        while week <= last:
            vn, n = data.get((kpi.id, week), (0.0, 0))
            offset = (week - g).days // 7
            points.append(
                {
                    "offset": offset,
                    "week": week.isoformat(),
                    "value": (vn / n) if n else None,
                    "n": int(n or 0),
                    "phase": "post" if offset >= 0 else "pre",
                }
            )
            phase = sums["post" if offset >= 0 else "pre"]
            phase[0] += vn or 0.0
            phase[1] += n or 0
            week += timedelta(weeks=1)
        if any(p["value"] is not None for p in points):
            result.append(
                EventTimeTrend(
                    kpi.code,
                    words.kpi_name(kpi),
                    kpi.kind,
                    kpi.unit,
                    points,
                    sums["pre"][0] / sums["pre"][1] if sums["pre"][1] else None,
                    sums["post"][0] / sums["post"][1] if sums["post"][1] else None,
                )
            )
    return result
