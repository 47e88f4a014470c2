"""The deployment alerts of a scope, most important first."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from programme.deployment import services as deployment
from programme.deployment.models import Wave, WaveSite
from programme.network.access import Scope, scope_clause, scope_sites
from programme.network.models import Site

TOP_ALERTS = 5


# Most important first.
ALERT_ORDER = ("late_site", "regression", "over_capacity", "no_visit", "milestone_overdue")


@dataclass(frozen=True)
class AlertRow:
    kind: str
    message: str
    wave_id: int | None
    wave_name: str | None
    site_id: int | None


def scoped_alerts(
    session: Session, scope: Scope, today: date, wave_id: int | None = None
) -> list[AlertRow]:
    """The deployment alerts of the scope, most important first (late sites, regressions,
    coaches over capacity, missing visits, overdue milestones). Alerts about a site are kept
    when the site is in scope; wave-level alerts when the wave has a site in scope; coach
    alerts for the whole network only."""
    found = deployment.alerts(session, today, wave_id)
    if not found:
        return []
    names = dict(session.execute(select(Wave.id, Wave.name)).all())
    if scope.whole_network:
        visible_sites = None
        visible_waves = None
    else:
        visible_sites = set(session.scalars(select(Site.id).where(scope_clause(scope))))
        visible_waves = set(
            session.scalars(
                select(WaveSite.wave_id).where(WaveSite.site_id.in_(scope_sites(scope)))
            )
        )
    rows = []
    for alert in found:
        if visible_sites is not None:
            if alert.site_id is not None:
                if alert.site_id not in visible_sites:
                    continue
            elif alert.coach_id is not None or alert.wave_id not in visible_waves:
                continue
        rows.append(
            AlertRow(
                alert.kind,
                alert.message,
                alert.wave_id,
                names.get(alert.wave_id),
                alert.site_id,
            )
        )
    rank = {kind: i for i, kind in enumerate(ALERT_ORDER)}
    rows.sort(key=lambda a: (rank.get(a.kind, len(rank)), a.wave_id or 0))
    return rows


def alerts_per_wave(rows: list[AlertRow]) -> dict[int, int]:
    counts: dict[int, int] = defaultdict(int)
    for row in rows:
        if row.wave_id is not None:
            counts[row.wave_id] += 1
    return dict(counts)
