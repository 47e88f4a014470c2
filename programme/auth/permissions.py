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
from sqlalchemy import Select, false, or_, select

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

EVERYONE = frozenset(ROLES)

ACTIONS: dict[str, frozenset[str]] = {
    "view_home": EVERYONE,
    "view_network": EVERYONE,
    "edit_network": frozenset({ADMIN}),
    "import_sites": frozenset({ADMIN}),
    "manage_users": frozenset({ADMIN}),
    "view_audit": frozenset({ADMIN}),
    # KPIs and measurements (issue 5)
    "view_kpis": EVERYONE,
    "manage_kpis": frozenset({ADMIN}),
    "write_measurements": frozenset({ADMIN, PILOT_TEAM, SITE_MANAGER}),
    "assign_pilot_sites": frozenset({ADMIN}),
    "use_api": EVERYONE,
    "sync_sites_api": frozenset({ADMIN}),
    # In-situ diagnostics (issue 4). Executives read syntheses and irritant rankings only;
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
    # Pilots (issue 6). Everyone reads the pilots of their perimeter (results and decisions
    # included); admins create and edit; pilot team members edit the pilots they belong to,
    # record team feel, the decision and the package.
    "view_pilots": EVERYONE,
    "create_pilots": frozenset({ADMIN}),
    "edit_pilot": frozenset({ADMIN, PILOT_TEAM}),
    "record_pulse": frozenset({ADMIN, PILOT_TEAM}),
    "decide_pilot": frozenset({ADMIN, PILOT_TEAM}),
    # Deployment in waves (issue 7). Everyone reads waves and progress in their perimeter;
    # admins plan waves, tick the communication plan and assign coaches; coaches update the
    # checklist and log visits for the sites assigned to them in an active wave (record rule
    # `may_edit_progress`); coaches and site managers record engagement (`may_record_engagement`).
    "view_deployment": EVERYONE,
    "plan_waves": frozenset({ADMIN}),
    "assign_coaches": frozenset({ADMIN}),
    "edit_progress": frozenset({ADMIN, COACH}),
    "record_engagement": frozenset({ADMIN, COACH, SITE_MANAGER}),
    "view_capacity": frozenset({ADMIN, COACH, EXECUTIVE}),
    # Leadership roll-ups (issue 8). Executives and admins see the whole network; site
    # managers (site or regional) see their own perimeter only (record rules below);
    # everyone may read the story of a site they can see. Deployment impact is a
    # network-wide comparison: leadership and the pilot team who designed the package.
    "view_reports": frozenset({ADMIN, EXECUTIVE, SITE_MANAGER}),
    "export_reports": frozenset({ADMIN, EXECUTIVE, SITE_MANAGER}),
    "view_site_story": EVERYONE,
    # Finance reads the impact behind the value it signs off (Δ of the value page, L5).
    "view_impact": frozenset({ADMIN, EXECUTIVE, PILOT_TEAM, FINANCE}),
    "take_snapshots": frozenset({ADMIN}),
    # Close the loop (issue 19). Cases carry a customer's contact reference, so only the
    # people who handle them see them: admins everywhere, a site manager for their site,
    # a regional manager (site_manager with a region) for their region, who also reassigns.
    # Executives will read the close-the-loop figures only (no case, no contact reference);
    # coaches, diagnosticians and pilot teams see no case (they read the irritants).
    "view_cases": frozenset({ADMIN, SITE_MANAGER}),
    "handle_cases": frozenset({ADMIN, SITE_MANAGER}),
    "reassign_cases": frozenset({ADMIN, SITE_MANAGER}),
    "record_feedback": frozenset({ADMIN, SITE_MANAGER}),
    "view_loop_figures": frozenset({ADMIN, EXECUTIVE, SITE_MANAGER}),
    # What the programme is worth (issue 18). The management controller (finance) and the
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


def writable_site_ids(session, user) -> set[int] | None:
    """Sites `user` may enter measurements for: None means every site (admins).

    A pilot team member writes for the sites (both arms) of the pilots they belong to, and
    for the sites an admin assigned to them directly; a site manager for their own site;
    everyone else for none."""
    from sqlalchemy import select

    if user is None or not getattr(user, "is_authenticated", False):
        return set()
    if user.role not in ACTIONS["write_measurements"]:
        return set()
    if user.role == ADMIN:
        return None
    if user.role == PILOT_TEAM:
        from programme.kpis.models import PilotSiteAssignment
        from programme.pilots.models import PilotMember, PilotSite

        assigned = select(PilotSiteAssignment.site_id).where(PilotSiteAssignment.user_id == user.id)
        piloted = (
            select(PilotSite.site_id)
            .join(PilotMember, PilotMember.pilot_id == PilotSite.pilot_id)
            .where(PilotMember.user_id == user.id)
        )
        return set(session.scalars(assigned)) | set(session.scalars(piloted))
    if user.role == SITE_MANAGER:
        return {user.site_id} if user.site_id else set()
    return set()


def may_write_site(session, user, site_id: int) -> bool:
    writable = writable_site_ids(session, user)
    return writable is None or site_id in writable


# --- in-situ diagnostics: record rules -------------------------------------------------------


def may_work_in_campaign(user, campaign) -> bool:
    """Recording in a campaign (sessions, determinants, customer voice, irritants): admins
    always; diagnosticians while the campaign is not complete."""
    if user.role == ADMIN:
        return True
    return user.role == DIAGNOSTICIAN and not campaign.completed


def may_lead_campaign(user, campaign) -> bool:
    """The synthesis and the completion belong to the campaign's lead (and admins)."""
    if user.role == ADMIN:
        return True
    return user.role == DIAGNOSTICIAN and campaign.lead_id == user.id and not campaign.completed


def may_edit_observation(user, observation) -> bool:
    """Diagnosticians edit only their own sessions, while the campaign is open."""
    if user.role == ADMIN:
        return True
    return (
        user.role == DIAGNOSTICIAN
        and observation.observer_id == user.id
        and not observation.campaign.completed
    )


CAMPAIGN_WORK = frozenset(
    {"record_sessions", "assess_determinants", "record_customer_voice", "manage_irritants"}
)


def get_campaign_or_403(campaign_id: int, action: str):
    from programme.diagnostics.models import Campaign
    from programme.extensions import db

    campaign = db.session.get(Campaign, campaign_id)
    if campaign is None:
        abort(404)
    if not can(current_user, action):
        abort(403)
    if action in CAMPAIGN_WORK and not may_work_in_campaign(current_user, campaign):
        abort(403)
    if action in {"edit_synthesis", "complete_campaign"} and not may_lead_campaign(
        current_user, campaign
    ):
        abort(403)
    return campaign


def get_observation_or_403(observation_id: int, action: str = "view_diagnostics"):
    """A session of a site the user may see; editing it needs `may_edit_observation`."""
    from programme.diagnostics.models import ObservationSession
    from programme.extensions import db

    observation = db.session.get(ObservationSession, observation_id)
    if observation is None:
        abort(404)
    if not can(current_user, action) or not may_see_site(current_user, observation.site):
        abort(403)
    if action == "record_sessions" and not may_edit_observation(current_user, observation):
        abort(403)
    return observation


def get_irritant_or_403(irritant_id: int, action: str):
    from programme.diagnostics.models import Irritant
    from programme.extensions import db

    irritant = db.session.get(Irritant, irritant_id)
    if irritant is None:
        abort(404)
    if not can(current_user, action):
        abort(403)
    if action == "manage_irritants" and not may_work_in_campaign(current_user, irritant.campaign):
        abort(403)
    return irritant


# --- pilots: record rules ------------------------------------------------------------------


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


def filter_pilots(stmt: Select, user) -> Select:
    """Restrict a statement over `Pilot` to the pilots `user` may see."""
    from sqlalchemy import select

    from programme.network.models import Site
    from programme.pilots.models import Pilot, PilotSite

    if user.role in WHOLE_NETWORK:
        return stmt
    visible = filter_sites(select(Site.id), user)
    with_sites = select(PilotSite.pilot_id).where(PilotSite.site_id.in_(visible.scalar_subquery()))
    return stmt.where(Pilot.id.in_(with_sites.scalar_subquery()))


PILOT_WORK = frozenset({"edit_pilot", "record_pulse", "decide_pilot"})


def get_pilot_or_403(pilot_id: int, action: str = "view_pilots", user=None):
    """Load a pilot: 404 if missing, 403 if `user` (default: the current user) may not
    perform `action` on it. The API passes the token's user."""
    from programme.extensions import db
    from programme.pilots.models import Pilot

    user = user if user is not None else current_user
    pilot = db.session.get(Pilot, pilot_id)
    if pilot is None:
        abort(404)
    if not can(user, action) or not may_see_pilot(user, pilot):
        abort(403)
    if action in PILOT_WORK and not may_edit_pilot(user, pilot):
        abort(403)
    return pilot


# --- deployment: record rules --------------------------------------------------------------


def may_edit_progress(session, user, site_id: int) -> bool:
    """Admins update every site's checklist; a coach only the sites assigned to them in an
    active (not closed) wave."""
    if not can(user, "edit_progress"):
        return False
    if user.role == ADMIN:
        return True
    from programme.deployment.services import coach_site_ids

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
    from programme.deployment.models import Wave
    from programme.extensions import db

    user = user if user is not None else current_user
    wave = db.session.get(Wave, wave_id)
    if wave is None:
        abort(404)
    if not can(user, action):
        abort(403)
    return wave


def get_wave_site_or_403(wave_id: int, site_id: int, action: str = "view_deployment"):
    """A site of a wave: 404 unless the site is in the wave; 403 outside the user's
    perimeter, or, to edit, unless `may_edit_progress` / `may_record_engagement`."""
    from programme.deployment.models import WaveSite
    from programme.extensions import db

    wave = get_wave_or_403(wave_id, action)
    link = db.session.scalar(
        select(WaveSite).where(WaveSite.wave_id == wave.id, WaveSite.site_id == site_id)
    )
    if link is None:
        abort(404)
    if not may_see_site(current_user, link.site):
        abort(403)
    if action == "edit_progress" and not may_edit_progress(db.session, current_user, site_id):
        abort(403)
    return wave, link.site
