"""Role rules: which role may perform which action (`ACTIONS`, `can`, `require`).

Record rules (which sites, campaigns, pilots, waves a user may see or edit) live with their
domain, each in its `access.py` (`network.access`, `diagnostics.access`, `kpis.access`,
`pilots.access`, `deployment.access`, `feedback.access`): load once, check once, 404 or 403.
This module imports nothing above `auth`.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import abort
from flask_login import current_user, login_required

from programme.auth.roles import (
    ADMIN,
    COACH,
    DIAGNOSTICIAN,
    EXECUTIVE,
    FINANCE,
    PILOT_TEAM,
    ROLES,
    SITE_MANAGER,
)
from programme.extensions import db

EVERYONE = frozenset(ROLES)

ACTIONS: dict[str, frozenset[str]] = {
    "view_home": EVERYONE,
    "view_network": EVERYONE,
    "edit_network": frozenset({ADMIN}),
    "import_sites": frozenset({ADMIN}),
    "manage_users": frozenset({ADMIN}),
    "view_audit": frozenset({ADMIN}),
    # KPIs and measurements
    "view_kpis": EVERYONE,
    "manage_kpis": frozenset({ADMIN}),
    "write_measurements": frozenset({ADMIN, PILOT_TEAM, SITE_MANAGER}),
    "assign_pilot_sites": frozenset({ADMIN}),
    "use_api": EVERYONE,
    "sync_sites_api": frozenset({ADMIN}),
    # In-situ diagnostics. Executives read syntheses and irritant rankings only;
    # site managers read the findings of their own site(s); coaches and pilot teams read.
    "view_campaigns": EVERYONE,
    "view_diagnostics": frozenset({ADMIN, DIAGNOSTICIAN, PILOT_TEAM, COACH, SITE_MANAGER}),
    "view_analysis": frozenset({ADMIN, DIAGNOSTICIAN, PILOT_TEAM, COACH}),
    "view_irritants": frozenset({ADMIN, DIAGNOSTICIAN, PILOT_TEAM, COACH, EXECUTIVE}),
    "view_synthesis": frozenset({ADMIN, DIAGNOSTICIAN, PILOT_TEAM, COACH, EXECUTIVE}),
    "manage_campaigns": frozenset({ADMIN}),
    "record_sessions": frozenset({ADMIN, DIAGNOSTICIAN}),
    "assess_determinants": frozenset({ADMIN, DIAGNOSTICIAN}),
    "record_customer_voice": frozenset({ADMIN, DIAGNOSTICIAN}),
    "manage_irritants": frozenset({ADMIN, DIAGNOSTICIAN}),
    "edit_synthesis": frozenset({ADMIN, DIAGNOSTICIAN}),
    "complete_campaign": frozenset({ADMIN, DIAGNOSTICIAN}),
    # Pilots. Everyone reads the pilots of their perimeter (results and decisions
    # included); admins create and edit; pilot team members edit the pilots they belong to,
    # record team feel, the decision and the package.
    "view_pilots": EVERYONE,
    "create_pilots": frozenset({ADMIN}),
    "edit_pilot": frozenset({ADMIN, PILOT_TEAM}),
    "record_pulse": frozenset({ADMIN, PILOT_TEAM}),
    "decide_pilot": frozenset({ADMIN, PILOT_TEAM}),
    # Deployment in waves. Everyone reads waves and progress in their perimeter;
    # admins plan waves, tick the communication plan and assign coaches; coaches update the
    # checklist and log visits for the sites assigned to them in an active wave (record rule
    # `may_edit_progress`); coaches and site managers record engagement (`may_record_engagement`).
    "view_deployment": EVERYONE,
    "plan_waves": frozenset({ADMIN}),
    "assign_coaches": frozenset({ADMIN}),
    "edit_progress": frozenset({ADMIN, COACH}),
    "record_engagement": frozenset({ADMIN, COACH, SITE_MANAGER}),
    "view_capacity": frozenset({ADMIN, COACH, EXECUTIVE}),
    # Leadership roll-ups. Executives and admins see the whole network; site
    # managers (site or regional) see their own perimeter only (record rules below);
    # everyone may read the story of a site they can see. Deployment impact is a
    # network-wide comparison: leadership and the pilot team who designed the package.
    "view_reports": frozenset({ADMIN, EXECUTIVE, SITE_MANAGER}),
    "export_reports": frozenset({ADMIN, EXECUTIVE, SITE_MANAGER}),
    "view_site_story": EVERYONE,
    # Finance reads the impact behind the value it signs off (Δ of the value page, L5).
    "view_impact": frozenset({ADMIN, EXECUTIVE, PILOT_TEAM, FINANCE}),
    "take_snapshots": frozenset({ADMIN}),
    # Close the loop. Cases carry a customer's contact reference, so only the
    # people who handle them see them: admins everywhere, a site manager for their site,
    # a regional manager (site_manager with a region) for their region, who also reassigns.
    # Executives will read the close-the-loop figures only (no case, no contact reference);
    # coaches, diagnosticians and pilot teams see no case (they read the irritants).
    "view_cases": frozenset({ADMIN, SITE_MANAGER}),
    "handle_cases": frozenset({ADMIN, SITE_MANAGER}),
    "reassign_cases": frozenset({ADMIN, SITE_MANAGER}),
    "record_feedback": frozenset({ADMIN, SITE_MANAGER}),
    "view_loop_figures": frozenset({ADMIN, EXECUTIVE, SITE_MANAGER}),
    # What the programme is worth. The management controller (finance) and the
    # programme office set the value drivers; leadership reads the value; the programme
    # office moves a package's stage gates, and only finance signs off L5 (value confirmed).
    "view_value": frozenset({ADMIN, EXECUTIVE, FINANCE}),
    "manage_value_drivers": frozenset({ADMIN, FINANCE}),
    "move_gates": frozenset({ADMIN, FINANCE}),
}

# Roles that see the whole network; a site manager sees only their site and/or region.
WHOLE_NETWORK = frozenset({ADMIN, DIAGNOSTICIAN, PILOT_TEAM, COACH, EXECUTIVE, FINANCE})


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


def checked_user(action: str, user=None):
    """`user` (default: the signed-in person) when their role may `action`, else 403: the
    first step of every loader (`<domain>/access.py`)."""
    user = user if user is not None else current_user
    if not can(user, action):
        abort(403)
    return user


def load_checked(model, record_id: int, action: str, user=None):
    """The first two steps of every loader: the role (403), then the record (404; an id
    outside the database's integer range is missing too). The loader then checks the
    record rules (403)."""
    checked_user(action, user)
    record = db.session.get(model, record_id) if 0 < record_id < 2**31 else None
    if record is None:
        abort(404)
    return record
