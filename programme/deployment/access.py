"""Waves: coaches update the checklists of their assigned sites; site managers record
their own site's engagement."""

from __future__ import annotations

from flask import abort
from flask_login import current_user
from sqlalchemy import select

from programme.auth.permissions import can, load_checked
from programme.auth.roles import ADMIN, COACH, SITE_MANAGER
from programme.deployment.models import ChecklistItem, Coach, Milestone, Wave, WaveSite
from programme.deployment.services import coach_site_ids
from programme.extensions import db
from programme.network.access import Scope, get_site_or_403, may_see_site, restrict


def may_edit_progress(session, user, site_id: int) -> bool:
    """Admins update every site's checklist; a coach only the sites assigned to them in an
    active (not closed) wave."""
    if not can(user, "edit_progress"):
        return False
    if user.role == ADMIN:
        return True
    return site_id in coach_site_ids(session, user)


def may_record_engagement(session, user, site_id: int) -> bool:
    """Admins for every site, coaches for their assigned sites, a site manager for their own
    site only."""
    if not can(user, "record_engagement"):
        return False
    if user.role == SITE_MANAGER:
        return user.site_id == site_id
    return may_edit_progress(session, user, site_id) if user.role == COACH else True


def get_wave_or_403(wave_id: int, action: str = "view_deployment", user=None):
    return load_checked(Wave, wave_id, action, user)


def get_milestone_or_403(wave_id: int, milestone_id: int, action: str = "plan_waves", user=None):
    """A milestone of a wave: 404 unless it belongs to the wave."""
    wave = get_wave_or_403(wave_id, action, user)
    milestone = db.session.get(Milestone, milestone_id)
    if milestone is None or milestone.wave_id != wave.id:
        abort(404)
    return wave, milestone


def get_wave_site_or_403(wave_id: int, site_id: int, action: str = "view_deployment", user=None):
    """A site of a wave: 404 unless the site is in the wave; 403 outside the user's
    perimeter, or, to edit, unless `may_edit_progress`."""
    user = user if user is not None else current_user
    wave = get_wave_or_403(wave_id, action, user)
    link = db.session.scalar(
        select(WaveSite).where(WaveSite.wave_id == wave.id, WaveSite.site_id == site_id)
    )
    if link is None:
        abort(404)
    if not may_see_site(user, link.site):
        abort(403)
    if action == "edit_progress" and not may_edit_progress(db.session, user, site_id):
        abort(403)
    return wave, link.site


def get_item_or_403(
    wave_id: int, site_id: int, item_id: int, action: str = "edit_progress", user=None
):
    """A checklist item of a site of a wave: 404 unless it belongs to both."""
    wave, site = get_wave_site_or_403(wave_id, site_id, action, user)
    item = db.session.get(ChecklistItem, item_id)
    if item is None or item.wave_id != wave.id or item.site_id != site.id:
        abort(404)
    return wave, site, item


def get_engagement_site_or_403(site_id: int):
    """A site whose engagement the current user may record (`may_record_engagement`)."""
    site = get_site_or_403(site_id, "record_engagement")
    if not may_record_engagement(db.session, current_user, site.id):
        abort(403)
    return site


def get_coach_or_403(coach_id: int, action: str = "assign_coaches", user=None):
    return load_checked(Coach, coach_id, action, user)


def get_wave_in_scope_or_403(session, wave_id: int, scope: Scope) -> tuple[Wave, list[int]]:
    """A wave and the ids of its sites in `scope`: 404 for an unknown wave, 403 when a
    restricted scope holds none of its sites."""
    wave = session.get(Wave, wave_id)
    if wave is None:
        abort(404)
    in_wave = select(WaveSite.site_id).where(WaveSite.wave_id == wave.id)
    site_ids = list(session.scalars(restrict(in_wave, WaveSite.site_id, scope)))
    if not scope.whole_network and not site_ids:
        abort(403)
    return wave, site_ids
