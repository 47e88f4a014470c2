"""Rows of the role × route matrix for the deployment impact screen (issue 8).

The URL names a KPI and a package with a wave (PAR-001 and LYO-001, created on demand with
Core inserts by the KPI and deployment matrices: no audit event), so every allowed role
gets a real (if not computable: no measurements) result. Bad input and the figures are
tested in tests/web/test_impact_pages.py. /reports/impact/headline is the executive home's
deployment-impact block alone (htmx polls it while the figures are computed)."""

from __future__ import annotations

from programme.auth.roles import ADMIN, EXECUTIVE, FINANCE, PILOT_TEAM
from tests.web.deployment_matrix import package_id, wave_id
from tests.web.kpi_matrix import kpi_id

VIEW_IMPACT = frozenset({ADMIN, EXECUTIVE, PILOT_TEAM, FINANCE})


def impact_url(w) -> str:
    kpi_id(w)
    wave_id(w)
    return f"/reports/impact/?kpi=WAIT&package={package_id(w)}&window_weeks=8"


# fmt: off
def rows(Route) -> list:
    return [
        Route("GET", "/reports/impact/", VIEW_IMPACT, url=impact_url),
        Route("GET", "/reports/impact/headline", VIEW_IMPACT),
    ]
# fmt: on
