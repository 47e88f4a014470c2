"""The programme-at-a-glance partials (the /reports/ page and the executive's home): the
overview, its chart specs and the deltas since last month's snapshot."""

from __future__ import annotations

import logging
from datetime import date

from sqlalchemy.orm import Session

from programme.network.access import Scope, scope_for
from programme.reports import charts, snapshots
from programme.reports.screens.glance import overview
from programme.reports.sections.waves import rag_rule_text

log = logging.getLogger(__name__)


def dashboard(session: Session, user, region_id: int | None, today: date) -> dict:
    """What the programme-at-a-glance partials render (the /reports/ page and the
    executive's home): the overview, its chart specs and the deltas since last month."""
    scope = scope_for(session, user, region_id)
    result = overview(session, scope, user, today)
    return {
        "ov": result,
        "funnel_spec": charts.funnel_spec(result.funnel),
        "waves_spec": charts.waves_timeline_spec(result.waves, today) if result.waves else None,
        "deltas": deltas_for(session, scope, result.headline, today),
        "rag_rule": rag_rule_text(),
    }


def deltas_for(session: Session, scope: Scope, headline: dict, today: date) -> list:
    """This month against the last monthly snapshot; [] when the comparison fails."""
    try:
        return list(snapshots.compare(session, scope, headline, today))
    except Exception:  # noqa: BLE001 - the dashboard must show even without deltas
        log.exception("snapshot comparison failed")
        return []
