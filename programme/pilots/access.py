"""Pilots: who reads them (their sites' perimeter) and who edits them (their members)."""

from __future__ import annotations

from flask import abort
from flask_login import current_user
from sqlalchemy import Select, select

from programme.auth.permissions import WHOLE_NETWORK, can, load_checked
from programme.auth.roles import ADMIN, PILOT_TEAM
from programme.kpis.access import register_writable_sites
from programme.network.access import filter_sites, may_see_site
from programme.network.models import Site
from programme.pilots.models import Pilot, PilotMember, PilotSite


def is_pilot_member(user, pilot) -> bool:
    return any(member.user_id == user.id for member in pilot.members)


def may_see_pilot(user, pilot) -> bool:
    """Whole-network roles read every pilot; a site/regional manager the pilots with a site
    (either arm) in their perimeter."""
    if user.role in WHOLE_NETWORK:
        return True
    return any(may_see_site(user, ps.site) for ps in pilot.sites)


def may_edit_pilot(user, pilot) -> bool:
    """Admins edit every pilot; pilot team members the pilots they belong to."""
    if user.role == ADMIN:
        return True
    return user.role == PILOT_TEAM and is_pilot_member(user, pilot)


def may_work_on(user, action: str, pilot) -> bool:
    """The role may perform `action` (edit, team feel, decision) and the user edits the pilot
    (what a page shows as its forms)."""
    return can(user, action) and may_edit_pilot(user, pilot)


def filter_pilots(stmt: Select, user) -> Select:
    """Restrict a statement over `Pilot` to the pilots `user` may see."""
    if user.role in WHOLE_NETWORK:
        return stmt
    visible = filter_sites(select(Site.id), user)
    with_sites = select(PilotSite.pilot_id).where(PilotSite.site_id.in_(visible.scalar_subquery()))
    return stmt.where(Pilot.id.in_(with_sites.scalar_subquery()))


PILOT_WORK = frozenset({"edit_pilot", "record_pulse", "decide_pilot"})


def get_pilot_or_403(pilot_id: int, action: str = "view_pilots", user=None):
    """Load a pilot: 404 if missing, 403 if `user` (default: the current user) may not
    perform `action` on it. The API passes the token's user."""
    pilot = load_checked(Pilot, pilot_id, action, user)
    user = user if user is not None else current_user
    if not may_see_pilot(user, pilot):
        abort(403)
    if action in PILOT_WORK and not may_edit_pilot(user, pilot):
        abort(403)
    return pilot


@register_writable_sites
def member_pilot_sites(session, user) -> set[int]:
    """A pilot team member writes measurements for the sites (both arms) of their pilots."""
    piloted = (
        select(PilotSite.site_id)
        .join(PilotMember, PilotMember.pilot_id == PilotSite.pilot_id)
        .where(PilotMember.user_id == user.id)
    )
    return set(session.scalars(piloted))
