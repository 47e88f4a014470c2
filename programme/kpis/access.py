"""Who may enter measurements for which site, and the loaders of the KPI screens' records.

Admins write for every site; a site manager for their own site; a pilot team member for the
sites an admin assigned to them directly, plus the sites that higher domains grant (pilots
register their members' sites through `register_writable_sites`, so this module imports
nothing above it).

Each loader checks the role first (403), then loads (404), then the record rules (403)."""

from __future__ import annotations

from collections.abc import Callable

from flask import abort
from flask_login import current_user
from sqlalchemy import select

from programme.auth.permissions import ACTIONS, can, checked_user, load_checked
from programme.auth.roles import ADMIN, PILOT_TEAM, SITE_MANAGER
from programme.extensions import db
from programme.kpis.models import Kpi, KpiUpload, Measurement, PilotSiteAssignment
from programme.network.access import may_see_site
from programme.network.models import Site
from programme.network.services import find_site

# Functions (session, user) -> iterable of site ids a pilot team member may also write to.
_WRITABLE_SOURCES: list[Callable] = []


def register_writable_sites(source: Callable) -> Callable:
    """Register a source of writable sites for pilot team members (idempotent)."""
    if source not in _WRITABLE_SOURCES:
        _WRITABLE_SOURCES.append(source)
    return source


def writable_site_ids(session, user) -> set[int] | None:
    """Sites `user` may enter measurements for: None means every site (admins)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return set()
    if user.role not in ACTIONS["write_measurements"]:
        return set()
    if user.role == ADMIN:
        return None
    if user.role == PILOT_TEAM:
        assigned = select(PilotSiteAssignment.site_id).where(PilotSiteAssignment.user_id == user.id)
        sites = set(session.scalars(assigned))
        for source in _WRITABLE_SOURCES:
            sites.update(source(session, user))
        return sites
    if user.role == SITE_MANAGER:
        return {user.site_id} if user.site_id else set()
    return set()


def may_write_site(session, user, site_id: int) -> bool:
    writable = writable_site_ids(session, user)
    return writable is None or site_id in writable


def may_enter_for(user, site_id: int) -> bool:
    """The role may write measurements and the site is one of the user's writable sites
    (what a page shows as its "enter" and "correct" links)."""
    return can(user, "write_measurements") and may_write_site(db.session, user, site_id)


def get_kpi_or_403(kpi_id: int, action: str = "view_kpis", user=None) -> Kpi:
    return load_checked(Kpi, kpi_id, action, user)


def get_measurement_or_403(
    measurement_id: int, action: str = "view_kpis", user=None
) -> Measurement:
    """A measurement of a site the user sees; to write (`write_measurements`), of a site
    the user may enter measurements for."""
    measurement = load_checked(Measurement, measurement_id, action, user)
    user = user if user is not None else current_user
    if not may_see_site(user, measurement.site):
        abort(403)
    if action == "write_measurements" and not may_write_site(db.session, user, measurement.site_id):
        abort(403)
    return measurement


def get_cell_or_403(kpi_code: str, site_code: str, user=None) -> tuple[Kpi, Site]:
    """The KPI and the site of one cell of the entry grid, by their codes: 404 when either
    is unknown, 403 unless the user may enter measurements for the site."""
    user = checked_user("write_measurements", user)
    kpi = db.session.scalar(select(Kpi).where(Kpi.code == kpi_code))
    site = find_site(db.session, site_code)
    if kpi is None or site is None:
        abort(404)
    if not may_write_site(db.session, user, site.id):
        abort(403)
    return kpi, site


def writable_site_by_code(code: str, user=None) -> Site | None:
    """The site a grid page asks for by its code (None when unknown); 403 unless the user
    may enter measurements for it. The route has checked the role."""
    user = user if user is not None else current_user
    site = find_site(db.session, code) if code else None
    if site is not None and not may_write_site(db.session, user, site.id):
        abort(403)
    return site


def get_upload_or_403(upload_id: int, user=None) -> KpiUpload:
    """A file import: its uploader's, or any for an admin."""
    upload = load_checked(KpiUpload, upload_id, "write_measurements", user)
    user = user if user is not None else current_user
    if upload.user_id != user.id and user.role != ADMIN:
        abort(403)
    return upload


def get_assignment_or_403(assignment_id: int, user=None) -> PilotSiteAssignment:
    return load_checked(PilotSiteAssignment, assignment_id, "assign_pilot_sites", user)
