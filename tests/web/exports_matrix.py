"""Rows of the role × route matrix for the leadership exports and the monthly snapshots
(issue 8). The matrix world (two regions, PAR-001 in the site manager's perimeter) is enough:
the exports of an empty programme still open, and taking the snapshots writes one row per
scope plus an audit event. Record rules (a manager's perimeter, another region → 403) are
tested in tests/web/test_exports_pages.py."""

from __future__ import annotations

from programme.auth.roles import ADMIN, EXECUTIVE, SITE_MANAGER

REPORTERS = frozenset({ADMIN, EXECUTIVE, SITE_MANAGER})
ADMIN_ONLY = frozenset({ADMIN})


# fmt: off
def rows(Route) -> list:
    return [
        Route("GET",  "/reports/export.xlsx", REPORTERS),
        Route("GET",  "/reports/export.pdf",  REPORTERS),
        Route("GET",  "/reports/snapshots",   REPORTERS),
        Route("POST", "/reports/snapshots",   ADMIN_ONLY, form=lambda w: {}, allowed_redirect="/reports/snapshots"),
    ]
# fmt: on
