"""Which sites a user may enter measurements for.

Admins: every site; a site manager: their own site; a pilot team member: the sites an admin
assigned to them directly, plus the sites that higher domains grant (pilots register their
members' sites through `register_writable_sites`, so this module imports nothing above it)."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select

from programme.auth.permissions import ACTIONS
from programme.auth.roles import ADMIN, PILOT_TEAM, SITE_MANAGER
from programme.kpis.models import PilotSiteAssignment

# Functions (session, user) -> iterable of site ids a pilot team member may also write to.
_WRITABLE_SOURCES: list[Callable] = []


def register_writable_sites(source: Callable) -> Callable:
    """Register a source of writable sites for pilot team members (idempotent)."""
    if source not in _WRITABLE_SOURCES:
        _WRITABLE_SOURCES.append(source)
    return source


def writable_site_ids(session, user) -> set[int] | None:
    """Sites `user` may enter measurements for: None means every site (admins).

    A pilot team member writes for the sites an admin assigned to them directly and those
    the registered sources grant (the sites of their pilots); a site manager for their own site;
    everyone else for none."""
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
