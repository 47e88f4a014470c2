"""Who sees which sites: the perimeter of a user (whole network, a region, a site)."""

from __future__ import annotations

from flask import abort
from flask_login import current_user
from sqlalchemy import Select, false, or_

from programme.auth.permissions import WHOLE_NETWORK, can
from programme.extensions import db
from programme.network.models import Site


def filter_sites(stmt: Select, user) -> Select:
    """Restrict a statement over `Site` to the sites `user` may see."""
    if user.role in WHOLE_NETWORK:
        return stmt
    clauses = []
    if user.site_id:
        clauses.append(Site.id == user.site_id)
    if user.region_id:
        clauses.append(Site.region_id == user.region_id)
    return stmt.where(or_(*clauses) if clauses else false())


def may_see_site(user, site) -> bool:
    if user.role in WHOLE_NETWORK:
        return True
    return site.id == user.site_id or (
        user.region_id is not None and site.region_id == user.region_id
    )


def get_site_or_403(site_id: int, action: str = "view_network", user=None):
    """Load a site, 404 if it does not exist, 403 if `user` (default: the current user) may
    not perform `action` on it. The API passes the token's user."""
    user = user if user is not None else current_user
    if not can(user, action):
        abort(403)
    site = db.session.get(Site, site_id)
    if site is None:
        abort(404)
    if not may_see_site(user, site):
        abort(403)
    return site
