"""The permission rules as pure functions: role rules (`can`) and record rules
(`may_see_site`, `filter_sites`), without a database or a request."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from sqlalchemy import select
from sqlalchemy.dialects import sqlite

from programme.auth import permissions
from programme.auth.permissions import ACTIONS, can, require
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
from programme.deployment import access as deployment_access
from programme.network.access import filter_sites, may_see_site
from programme.network.models import Site
from programme.pilots import access as pilot_access

EVERYONE = set(ROLES)
READERS = {ADMIN, DIAGNOSTICIAN, PILOT_TEAM, COACH}  # the programme's working roles

# What each action is meant to allow, reviewed row by row. A new action in
# programme/auth/permissions.py fails `test_every_action_is_reviewed` until it has a row here.
EXPECTED: dict[str, set[str]] = {
    # network, accounts, audit (issues 1-3)
    "view_home": EVERYONE,
    "view_network": EVERYONE,
    "edit_network": {ADMIN},
    "import_sites": {ADMIN},
    "manage_users": {ADMIN},
    "view_audit": {ADMIN},
    # KPIs, measurements, API (issue 5)
    "view_kpis": EVERYONE,
    "manage_kpis": {ADMIN},
    "write_measurements": {ADMIN, PILOT_TEAM, SITE_MANAGER},
    "assign_pilot_sites": {ADMIN},
    "use_api": EVERYONE,
    "sync_sites_api": {ADMIN},
    # in-situ diagnostics (issue 4)
    "view_campaigns": EVERYONE,
    "view_diagnostics": READERS | {SITE_MANAGER},
    "view_analysis": READERS,
    "view_irritants": READERS | {EXECUTIVE},
    "view_synthesis": READERS | {EXECUTIVE},
    "manage_campaigns": {ADMIN},
    "record_sessions": {ADMIN, DIAGNOSTICIAN},
    "assess_determinants": {ADMIN, DIAGNOSTICIAN},
    "record_customer_voice": {ADMIN, DIAGNOSTICIAN},
    "manage_irritants": {ADMIN, DIAGNOSTICIAN},
    "edit_synthesis": {ADMIN, DIAGNOSTICIAN},
    "complete_campaign": {ADMIN, DIAGNOSTICIAN},
    # pilots (issue 6): members' rights are record rules on top of these
    "view_pilots": EVERYONE,
    "create_pilots": {ADMIN},
    "edit_pilot": {ADMIN, PILOT_TEAM},
    "record_pulse": {ADMIN, PILOT_TEAM},
    "decide_pilot": {ADMIN, PILOT_TEAM},
    # deployment in waves (issue 7): coaches' and site managers' rights are record rules
    # on top of these (tests/integration/test_deployment_services.py, test_deployment_pages.py)
    "view_deployment": EVERYONE,
    "plan_waves": {ADMIN},
    "assign_coaches": {ADMIN},
    "edit_progress": {ADMIN, COACH},
    "record_engagement": {ADMIN, COACH, SITE_MANAGER},
    "view_capacity": {ADMIN, COACH, EXECUTIVE},
    # Leadership roll-ups (issue 8)
    "view_reports": {ADMIN, EXECUTIVE, SITE_MANAGER},
    "export_reports": {ADMIN, EXECUTIVE, SITE_MANAGER},
    "view_site_story": EVERYONE,
    "view_impact": {ADMIN, EXECUTIVE, PILOT_TEAM, FINANCE},
    "take_snapshots": {ADMIN},
    # Close the loop (issue 19): cases carry contact references, so only the people who
    # handle them; perimeter rules in programme/feedback/access.py
    "view_cases": {ADMIN, SITE_MANAGER},
    "handle_cases": {ADMIN, SITE_MANAGER},
    "reassign_cases": {ADMIN, SITE_MANAGER},
    "record_feedback": {ADMIN, SITE_MANAGER},
    "view_loop_figures": {ADMIN, EXECUTIVE, SITE_MANAGER},
    # What the programme is worth (issue 18): finance sets drivers and signs off L5
    "view_value": {ADMIN, EXECUTIVE, FINANCE},
    "manage_value_drivers": {ADMIN, FINANCE},
    "move_gates": {ADMIN, FINANCE},
}
# Actions that only read (an executive "reads roll-ups and reports; never edits").
# Exporting a report is reading it in another format.
READ_PREFIXES = ("view_", "use_", "export_")


def user(
    role: str, site_id: int | None = None, region_id: int | None = None, authenticated: bool = True
):
    return SimpleNamespace(
        role=role, site_id=site_id, region_id=region_id, is_authenticated=authenticated
    )


def site(site_id: int, region_id: int):
    return SimpleNamespace(id=site_id, region_id=region_id)


def test_every_action_is_reviewed():
    unreviewed = set(ACTIONS) - set(EXPECTED)
    assert not unreviewed, f"add a row to EXPECTED in {__file__} for: {sorted(unreviewed)}"


@pytest.mark.parametrize("action", sorted(EXPECTED))
@pytest.mark.parametrize("role", ROLES)
def test_can(action, role):
    if action not in ACTIONS:
        pytest.skip(f"{action} is not defined (yet) in permissions.ACTIONS")
    assert can(user(role), action) is (role in EXPECTED[action])


def test_roles_in_rules_are_known_roles():
    for action, roles in ACTIONS.items():
        assert roles <= EVERYONE, action
    assert permissions.WHOLE_NETWORK <= EVERYONE


def test_executive_never_edits():
    allowed = {action for action in ACTIONS if can(user(EXECUTIVE), action)}
    assert allowed, "an executive reads the roll-ups"
    assert all(action.startswith(READ_PREFIXES) for action in allowed), allowed


@pytest.mark.parametrize(
    "who", [None, user(ADMIN, authenticated=False), SimpleNamespace(role=ADMIN)]
)
def test_nobody_anonymous_can_do_anything(who):
    for action in ACTIONS:
        assert can(who, action) is False


def test_unknown_role_can_do_nothing():
    for action in ACTIONS:
        assert can(user("superuser"), action) is False


def test_require_refuses_an_unknown_action_when_the_view_is_declared():
    with pytest.raises(KeyError):
        require("launch_missiles")


def test_unknown_action_is_an_error_not_a_refusal():
    with pytest.raises(KeyError):
        can(user(ADMIN), "launch_missiles")


# --- record rules ---------------------------------------------------------------------------

LILLE, ROUBAIX, TOULOUSE = site(1, region_id=10), site(2, region_id=10), site(3, region_id=20)


@pytest.mark.parametrize("role", [ADMIN, DIAGNOSTICIAN, PILOT_TEAM, COACH, EXECUTIVE])
def test_whole_network_roles_see_every_site(role):
    assert all(may_see_site(user(role), s) for s in (LILLE, ROUBAIX, TOULOUSE))


@pytest.mark.parametrize(
    ("manager", "visible"),
    [
        pytest.param(user(SITE_MANAGER, site_id=1), {1}, id="own site"),
        pytest.param(user(SITE_MANAGER, region_id=10), {1, 2}, id="own region"),
        pytest.param(user(SITE_MANAGER, site_id=3, region_id=10), {1, 2, 3}, id="site and region"),
        pytest.param(user(SITE_MANAGER), set(), id="no perimeter"),
    ],
)
def test_site_manager_sees_their_perimeter_only(manager, visible):
    assert {s.id for s in (LILLE, ROUBAIX, TOULOUSE) if may_see_site(manager, s)} == visible


def test_a_site_without_region_is_not_in_a_regionless_managers_perimeter():
    # region_id None on both sides must not count as "same region"
    assert may_see_site(user(SITE_MANAGER, site_id=1), site(5, region_id=None)) is False


def _where(stmt) -> str:
    sql = str(stmt.compile(dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True}))
    return sql.partition("WHERE")[2].strip()


def test_filter_sites_leaves_whole_network_queries_alone():
    stmt = select(Site)
    for role in (ADMIN, DIAGNOSTICIAN, PILOT_TEAM, COACH, EXECUTIVE):
        assert filter_sites(stmt, user(role)) is stmt


def test_filter_sites_for_a_site_manager():
    assert _where(filter_sites(select(Site), user(SITE_MANAGER, site_id=7))) == "site.id = 7"
    assert (
        _where(filter_sites(select(Site), user(SITE_MANAGER, region_id=3))) == "site.region_id = 3"
    )
    both = _where(filter_sites(select(Site), user(SITE_MANAGER, site_id=7, region_id=3)))
    assert both == "site.id = 7 OR site.region_id = 3"


def test_filter_sites_without_perimeter_matches_nothing():
    assert _where(filter_sites(select(Site), user(SITE_MANAGER))) in {"0 = 1", "false", "0"}


# --- pilots: record rules --------------------------------------------------------------------


def _pilot(member_ids, sites):
    return SimpleNamespace(
        members=[SimpleNamespace(user_id=i) for i in member_ids],
        sites=[SimpleNamespace(site=s) for s in sites],
    )


def test_pilot_record_rules():
    paris, lyon = site(1, 10), site(2, 20)
    pilot = _pilot([7], [paris, lyon])
    member = SimpleNamespace(id=7, role=PILOT_TEAM, site_id=None, region_id=None)
    other = SimpleNamespace(id=8, role=PILOT_TEAM, site_id=None, region_id=None)
    admin = SimpleNamespace(id=1, role=ADMIN, site_id=None, region_id=None)
    assert pilot_access.may_edit_pilot(member, pilot)
    assert not pilot_access.may_edit_pilot(other, pilot)
    assert pilot_access.may_edit_pilot(admin, pilot)
    assert not pilot_access.may_edit_pilot(user(EXECUTIVE), pilot)
    assert pilot_access.may_see_pilot(user(EXECUTIVE), pilot)
    assert pilot_access.may_see_pilot(user(SITE_MANAGER, region_id=20), pilot)
    assert not pilot_access.may_see_pilot(user(SITE_MANAGER, site_id=3, region_id=30), pilot)


# --- deployment: record rules (no database needed for these roles) -------------------------


def test_deployment_record_rules_without_assignments():
    manager = SimpleNamespace(id=5, role=SITE_MANAGER, site_id=1, region_id=None,
                              is_authenticated=True)  # fmt: skip
    admin = SimpleNamespace(id=1, role=ADMIN, site_id=None, region_id=None, is_authenticated=True)
    assert deployment_access.may_record_engagement(None, manager, 1)
    assert not deployment_access.may_record_engagement(None, manager, 2)
    assert deployment_access.may_edit_progress(None, admin, 2)
    assert deployment_access.may_record_engagement(None, admin, 2)
    assert not deployment_access.may_edit_progress(None, manager, 1)
    assert not deployment_access.may_edit_progress(None, user(EXECUTIVE), 1)
