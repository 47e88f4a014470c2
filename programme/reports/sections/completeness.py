"""Data completeness of a scope over the last 4 full weeks (`programme.kpis.completeness`
defines it), cached against the KPI data stamp."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from programme.kpis import completeness as kpi_completeness
from programme.kpis.completeness import Completeness
from programme.kpis.stamps import data_stamp
from programme.network.access import Scope, scope_clause
from programme.reports import cache
from programme.weeks import week_start


def completeness(session: Session, scope: Scope, today: date) -> Completeness:
    key = ("completeness", scope.key, scope.site_ids, week_start(today))
    return cache.cached(
        session,
        key,
        lambda s: kpi_completeness.recent(s, scope_clause(scope), today),
        data_stamp,
    )
