"""Every permission rule in one place.

Role rules: which role may perform which action. Record rules: which records of the
network a user may see. Views call `require(action)` and the load-and-check helpers;
list queries go through `filter_sites`.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import abort
from flask_login import current_user, login_required
from sqlalchemy import Select, false, or_

from programme.auth.roles import (
    ADMIN,
    COACH,
    DIAGNOSTICIAN,
    EXECUTIVE,
    PILOT_TEAM,
    ROLES,
)

EVERYONE = frozenset(ROLES)

ACTIONS: dict[str, frozenset[str]] = {
    "view_home": EVERYONE,
    "view_network": EVERYONE,
    "edit_network": frozenset({ADMIN}),
    "import_sites": frozenset({ADMIN}),
    "manage_users": frozenset({ADMIN}),
    "view_audit": frozenset({ADMIN}),
}

# Roles that see the whole network; a site manager sees only their site and/or region.
WHOLE_NETWORK = frozenset({ADMIN, DIAGNOSTICIAN, PILOT_TEAM, COACH, EXECUTIVE})


def can(user, action: str) -> bool:
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return user.role in ACTIONS[action]


def require(action: str) -> Callable:
    """View decorator: anonymous → login page, authenticated without the right → 403."""
    if action not in ACTIONS:
        raise KeyError(action)

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if not can(current_user, action):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def filter_sites(stmt: Select, user) -> Select:
    """Restrict a statement over `Site` to the sites `user` may see."""
    from programme.network.models import Site

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


def get_site_or_403(site_id: int, action: str = "view_network"):
    """Load a site, 404 if it does not exist, 403 if the user may not perform `action` on it."""
    from programme.extensions import db
    from programme.network.models import Site

    site = db.session.get(Site, site_id)
    if site is None:
        abort(404)
    if not can(current_user, action) or not may_see_site(current_user, site):
        abort(403)
    return site
