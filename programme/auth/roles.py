"""The roles people have in the programme."""

from flask_babel import lazy_gettext as _l

ADMIN = "admin"
DIAGNOSTICIAN = "diagnostician"
PILOT_TEAM = "pilot_team"
COACH = "coach"
SITE_MANAGER = "site_manager"
EXECUTIVE = "executive"
FINANCE = "finance"

ROLES = (ADMIN, DIAGNOSTICIAN, PILOT_TEAM, COACH, SITE_MANAGER, EXECUTIVE, FINANCE)

ROLE_LABELS = {
    ADMIN: _l("Programme office (admin)"),
    DIAGNOSTICIAN: _l("Diagnostician"),
    PILOT_TEAM: _l("Pilot team member"),
    COACH: _l("Field coach"),
    SITE_MANAGER: _l("Site / regional manager"),
    EXECUTIVE: _l("Executive"),
    FINANCE: _l("Management controller (finance)"),
}


def normalise_role(value: str) -> str | None:
    """Accept `pilot_team` and `pilot-team`; None when unknown."""
    role = (value or "").strip().lower().replace("-", "_")
    return role if role in ROLES else None
