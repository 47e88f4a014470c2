"""Rows of the role × route matrix for the leadership reports screens (issue 8).

The matrix's site manager manages one site (PAR-001) and no region: they see the programme
at a glance and the wave report for their perimeter, but the region report is 403 (a
regional manager's own region is tested in tests/web/test_reports_pages.py)."""

from __future__ import annotations

from programme.auth.roles import ADMIN, EXECUTIVE, ROLES, SITE_MANAGER
from tests.web.deployment_matrix import wave_id

EVERYONE = frozenset(ROLES)
REPORTS = frozenset({ADMIN, EXECUTIVE, SITE_MANAGER})
WHOLE_NETWORK_REPORTS = frozenset({ADMIN, EXECUTIVE})


def rows(Route) -> list:
    return [
        Route("GET", "/reports/", REPORTS, notes="a site manager sees their perimeter only"),
        Route("GET", "/reports/stages/<stage>", REPORTS, url=lambda w: "/reports/stages/live"),
        Route("GET", "/reports/regions/<int:region_id>", WHOLE_NETWORK_REPORTS,
              url=lambda w: f"/reports/regions/{w.region_id}",
              notes="and a regional manager for their own region"),
        Route("GET", "/reports/waves/<int:wave_id>", REPORTS, url=lambda w: f"/reports/waves/{wave_id(w)}",
              notes="a site manager only for a wave with a site of their perimeter"),
        Route("GET", "/reports/sites/<int:site_id>", EVERYONE, url=lambda w: f"/reports/sites/{w.site_id}",
              notes="a site manager only for a site of their perimeter"),
    ]  # fmt: skip
