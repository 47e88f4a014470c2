"""The role × route matrix: who may open which page and send which form.

Every route of the application has a row in ROUTES (method, rule, roles allowed, how to
build its URL and, for a POST, a valid form). A new route without a row fails
`test_every_route_is_in_the_matrix`; a row whose route disappeared fails too. For each row:

- every allowed role gets the page (GET → 200) or a successful post (→ 302 to an app page);
- every other role gets 403, the "no access" page, and nothing is written;
- an anonymous visitor is sent to /login?next=<the URL> (an API row sets
  `anonymous_status=401` instead), and nothing is written.

Posts use *valid* forms, so a refused post proves the refusal, not a validation error.
Record-level rules (a site manager sees only their site or region) are tested below the
matrix. Later issues: add rows to ROUTES (and fixtures to World if the URL needs ids).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import select

from programme.audit import AuditEvent
from programme.auth.models import User
from programme.auth.roles import (
    ADMIN,
    COACH,
    DIAGNOSTICIAN,
    EXECUTIVE,
    PILOT_TEAM,
    ROLES,
    SITE_MANAGER,
)
from programme.network.models import Region, Site
from tests.factories import PASSWORD, login_as, make_region, make_site, make_user
from tests.web.helpers import DENIED, count, h1, is_login_redirect, location, page

EVERYONE = frozenset(ROLES)
ADMIN_ONLY = frozenset({ADMIN})
ANONYMOUS = "anonymous"

# Routes that are not in the matrix: public by design (tested in test_auth.py) or static files.
PUBLIC_RULES = {"/healthz", "/readyz", "/login", "/logout", "/language"}
# The shareable team-feel form: the signed link is the key (tests/web/test_pilots_pages.py).
PUBLIC_RULES |= {"/pulse/<token>"}
EXCLUDED_ENDPOINTS = {"static"}


@dataclass
class World:
    """The records the matrix needs, as ids (each request has its own database session)."""

    region_id: int
    site_id: int  # inside the site manager's perimeter
    other_site_id: int  # in another region: outside it
    account_id: int  # an account for the user administration pages
    pilot_id: int = 0  # a pilot team member (site assignments, issue 5)


@pytest.fixture
def world(session) -> World:
    region = make_region("Île-de-France")
    site = make_site("PAR-001", region=region, name="Agence Paris Opéra")
    other = make_site(
        "LYO-001", region=make_region("Auvergne-Rhône-Alpes"), name="Agence Lyon Part-Dieu"
    )
    account = make_user("coach", email="target@example.org", name="Target")
    pilot = make_user("pilot_team", email="assigned.pilot@example.org", name="Assigned pilot")
    return World(region.id, site.id, other.id, account.id, pilot.id)


# --- valid forms for the POST rows ---------------------------------------------------------


def site_form(w: World, **values) -> dict[str, Any]:
    form = {
        "code": "NEW-001",
        "name": "Agence Nouvelle",
        "type": "shop",
        "region": "Île-de-France",
        "country": "FR",
        "city": "Paris",
        "time_zone": "Europe/Paris",
        "operator": "internal",
        "provider": "",
        "channels": ["in_person"],
        "manager_name": "",
        "manager_email": "",
    }
    form.update(values)
    return form


def site_edit_form(w: World) -> dict[str, Any]:
    return site_form(w, code="PAR-001", name="Agence Paris Opéra (rénovée)", version="1")


def user_new_form(w: World) -> dict[str, Any]:
    return {
        "email": "new.person@example.org",
        "name": "New Person",
        "role": "executive",
        "language": "",
        "site_id": "",
        "region_id": "",
        "active": "y",
        "password": "A-long-enough-password",
    }


def user_edit_form(w: World) -> dict[str, Any]:
    return {
        "email": "target@example.org",
        "name": "Target renamed",
        "role": "coach",
        "language": "",
        "site_id": "",
        "region_id": "",
        "active": "y",
        "password": "",
        "version": "1",
    }


def import_form(w: World) -> dict[str, Any]:
    csv = "code,name,type,region\nIMP-001,Agence importée,branch,Bretagne\n".encode()
    return {"file": (io.BytesIO(csv), "sites.csv"), "create_regions": "y"}


def password_form(w: World) -> dict[str, Any]:
    return {
        "current_password": PASSWORD,
        "new_password": "Another-password-42",
        "confirm": "Another-password-42",
    }


# --- the matrix ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    method: str
    rule: str  # exactly as in app.url_map
    allowed: frozenset[str]
    url: Callable[[World], str] | None = None  # None: the rule is the URL
    form: Callable[[World], dict[str, Any]] | None = None  # POST body (valid)
    status: int | None = None  # expected for an allowed role; default GET 200, POST 302
    allowed_redirect: str | None = None  # path a successful POST lands on, when it matters
    anonymous_status: int | None = None  # None: redirect to the login page (HTML); API: 401
    notes: str = field(default="", compare=False)

    @property
    def key(self) -> tuple[str, str]:
        return self.method, self.rule

    def build_url(self, w: World) -> str:
        return self.url(w) if self.url else self.rule

    @property
    def expected_status(self) -> int:
        return self.status or (200 if self.method == "GET" else 302)


# One row per (method, rule). Keep one line per row: this table is read more than written.
# fmt: off
ROUTES: list[Route] = [
    # home and account
    Route("GET",  "/",                          EVERYONE),
    Route("GET",  "/account",                   EVERYONE),
    Route("POST", "/account/language",          EVERYONE, form=lambda w: {"language": "en"}, allowed_redirect="/account"),
    Route("POST", "/account/password",          EVERYONE, form=password_form, allowed_redirect="/account"),
    Route("GET",  "/account/digest",            EVERYONE),
    Route("POST", "/account/digest",            EVERYONE, allowed_redirect="/account/digest",
          form=lambda w: {"frequency": "daily", "hour": "7", "time_zone": "Europe/Paris"}),
    Route("POST", "/account/logout-everywhere", EVERYONE, form=lambda w: {}, allowed_redirect="/login",
          notes="ends the session: lands on the login page without `next`"),
    # network
    Route("GET",  "/sites",                     EVERYONE),
    Route("GET",  "/sites/<int:site_id>",       EVERYONE, url=lambda w: f"/sites/{w.site_id}"),
    Route("GET",  "/sites/new",                 ADMIN_ONLY),
    Route("POST", "/sites/new",                 ADMIN_ONLY, form=site_form),
    Route("GET",  "/sites/<int:site_id>/edit",  ADMIN_ONLY, url=lambda w: f"/sites/{w.site_id}/edit"),
    Route("POST", "/sites/<int:site_id>/edit",  ADMIN_ONLY, url=lambda w: f"/sites/{w.site_id}/edit", form=site_edit_form),
    Route("GET",  "/sites/import",              ADMIN_ONLY),
    Route("POST", "/sites/import",              ADMIN_ONLY, form=import_form, status=200,
          notes="the import page shows the result instead of redirecting"),
    Route("GET",  "/regions",                   EVERYONE),
    Route("POST", "/regions",                   ADMIN_ONLY, form=lambda w: {"name": "Bretagne"}, allowed_redirect="/regions"),
    # user administration
    Route("GET",  "/users",                     ADMIN_ONLY),
    Route("GET",  "/users/new",                 ADMIN_ONLY),
    Route("POST", "/users/new",                 ADMIN_ONLY, form=user_new_form, allowed_redirect="/users"),
    Route("GET",  "/users/<int:user_id>/edit",  ADMIN_ONLY, url=lambda w: f"/users/{w.account_id}/edit"),
    Route("POST", "/users/<int:user_id>/edit",  ADMIN_ONLY, url=lambda w: f"/users/{w.account_id}/edit",
          form=user_edit_form, allowed_redirect="/users"),
    # audit trail
    Route("GET",  "/audit",                     ADMIN_ONLY),
    Route("GET",  "/audit/export.csv",          ADMIN_ONLY),
]
# fmt: on

# KPIs, measurements, imports, API tokens (issue 5); the token-authenticated /api/v1 routes
# answer 401/403 in JSON and have their own per-role tests in tests/web/test_api.py.
from tests.web.kpi_matrix import rows as kpi_rows  # noqa: E402

ROUTES += kpi_rows(Route)
# In-situ diagnostics (issue 4): records made on demand, see tests/web/diagnostics_matrix.py.
from tests.web.diagnostics_matrix import rows as diagnostics_rows  # noqa: E402

ROUTES += diagnostics_rows(Route)

# Pilots (issue 6)
from tests.web.pilots_matrix import rows as pilots_rows  # noqa: E402

ROUTES += pilots_rows(Route)

# Deployment in waves (issue 7)
from tests.web.deployment_matrix import rows as deployment_rows  # noqa: E402

ROUTES += deployment_rows(Route)

# Leadership roll-ups (issue 8): reports, deployment impact, exports and snapshots.
from tests.web.exports_matrix import rows as exports_rows  # noqa: E402
from tests.web.impact_matrix import rows as impact_rows  # noqa: E402
from tests.web.reports_matrix import rows as reports_rows  # noqa: E402

ROUTES += reports_rows(Route) + impact_rows(Route) + exports_rows(Route)

# Close the loop (issue 19): customer cases and the counter note
from tests.web.feedback_matrix import rows as feedback_rows  # noqa: E402

ROUTES += feedback_rows(Route)

# What the programme is worth (issue 18): value drivers, gates, the value page.
from tests.web.value_matrix import rows as value_rows  # noqa: E402

ROUTES += value_rows(Route)
API_PREFIX = "/api/"

MATRIX = {route.key: route for route in ROUTES}
assert len(MATRIX) == len(ROUTES), "a route appears twice in ROUTES"


def _app_routes(app) -> set[tuple[str, str]]:
    found = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint in EXCLUDED_ENDPOINTS or rule.rule in PUBLIC_RULES:
            continue
        if rule.rule.startswith(API_PREFIX):
            continue
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            found.add((method, rule.rule))
    return found


def test_every_route_is_in_the_matrix(app):
    missing = _app_routes(app) - MATRIX.keys()
    assert not missing, f"add these routes to ROUTES in {__file__}: {sorted(missing)}"


def test_every_matrix_row_is_a_route(app):
    stale = MATRIX.keys() - _app_routes(app)
    assert not stale, f"these rows name routes that no longer exist: {sorted(stale)}"


def test_public_routes_need_no_login(client):
    assert client.get("/login").status_code == 200
    assert client.get("/healthz").get_json() == {"status": "ok"}


# --- one test per (route, role) ------------------------------------------------------------


def _user_for(role: str, w: World) -> User:
    # A site manager's perimeter is the matrix site, so record rules do not get in the way.
    return make_user(role, site_id=w.site_id if role == SITE_MANAGER else None)


def _send(client, route: Route, w: World):
    url = route.build_url(w)
    if route.method == "GET":
        return client.get(url)
    return client.post(
        url, data=route.form(w) if route.form else {}, content_type="multipart/form-data"
    )


def _audit_count(session) -> int:
    return count(session, AuditEvent)


CASES = [
    pytest.param(route, role, id=f"{route.method} {route.rule} as {role}")
    for route in ROUTES
    for role in (*ROLES, ANONYMOUS)
]


@pytest.mark.parametrize(("route", "role"), CASES)
def test_route_access(client, session, world, route: Route, role: str):
    if role != ANONYMOUS:
        login_as(client, _user_for(role, world))
    audit_before = _audit_count(session)
    url = route.build_url(world)

    response = _send(client, route, world)

    if role == ANONYMOUS:
        if route.anonymous_status is None:
            assert is_login_redirect(response, url), (response.status_code, location(response))
        else:
            assert response.status_code == route.anonymous_status
        assert _audit_count(session) == audit_before, "an anonymous request wrote something"
    elif role in route.allowed:
        assert response.status_code == route.expected_status, page(response)[:2000]
        if response.status_code == 302:
            assert not is_login_redirect(response), location(response)
            if route.allowed_redirect:
                assert location(response) == route.allowed_redirect
        if (
            route.method == "POST"
            and route.expected_status == 302
            and route.rule != "/account/logout-everywhere"
        ):
            assert _audit_count(session) > audit_before, "a successful post should leave a trace"
    else:
        assert response.status_code == 403
        assert DENIED in page(response)
        assert _audit_count(session) == audit_before, "a refused request wrote something"


# --- record-level rules: a site manager sees their site or their region ---------------------


@pytest.fixture
def network(session):
    """Two regions; the north has two sites, the south one."""
    north = make_region("Hauts-de-France")
    south = make_region("Occitanie")
    lille = make_site("LIL-001", region=north, name="Agence Lille Centre")
    roubaix = make_site("RBX-001", region=north, name="Agence Roubaix")
    toulouse = make_site("TLS-001", region=south, name="Agence Toulouse Capitole")
    return {
        "north": north.id,
        "south": south.id,
        "lille": lille.id,
        "roubaix": roubaix.id,
        "toulouse": toulouse.id,
    }


SITE_NAMES = {
    "lille": "Agence Lille Centre",
    "roubaix": "Agence Roubaix",
    "toulouse": "Agence Toulouse Capitole",
}


def _listed(text: str) -> set[str]:
    return {key for key, name in SITE_NAMES.items() if name in text}


@pytest.mark.parametrize(
    ("perimeter", "visible"),
    [
        pytest.param({"site": "lille"}, {"lille"}, id="own site"),
        pytest.param({"region": "north"}, {"lille", "roubaix"}, id="own region"),
        pytest.param(
            {"site": "toulouse", "region": "north"},
            {"lille", "roubaix", "toulouse"},
            id="site and region",
        ),
        pytest.param({}, set(), id="no perimeter yet"),
    ],
)
def test_site_manager_sees_only_their_perimeter(client, session, network, perimeter, visible):
    manager = make_user(
        SITE_MANAGER,
        site_id=network[perimeter["site"]] if "site" in perimeter else None,
        region_id=network[perimeter["region"]] if "region" in perimeter else None,
    )
    login_as(client, manager)

    for key in SITE_NAMES:
        response = client.get(f"/sites/{network[key]}")
        assert response.status_code == (200 if key in visible else 403), key
        if key not in visible:
            assert DENIED in page(response)
            assert SITE_NAMES[key] not in page(response)

    listing = page(client.get("/sites"))
    assert _listed(listing) == visible
    assert f"{len(visible)} site" in listing
    # the live search fragment goes through the same filter
    fragment = page(client.get("/sites?q=agence", headers={"HX-Request": "true"}))
    assert _listed(fragment) == visible
    # searching for a site outside the perimeter finds nothing
    if "toulouse" not in visible:
        assert _listed(page(client.get("/sites?q=toulouse"))) == set()
    # home page: "my sites"
    assert _listed(page(client.get("/"))) == visible


def test_site_manager_region_filter_cannot_widen_the_perimeter(client, session, network):
    login_as(client, make_user(SITE_MANAGER, site_id=network["lille"]))
    listing = page(client.get(f"/sites?region={network['south']}"))
    assert _listed(listing) == set()
    listing = page(client.get(f"/sites?region={network['north']}"))
    assert _listed(listing) == {"lille"}


def test_site_manager_regions_page_shows_only_their_regions(client, session, network):
    login_as(client, make_user(SITE_MANAGER, site_id=network["lille"]))
    text = page(client.get("/regions"))
    assert "Hauts-de-France" in text
    assert "Occitanie" not in text


@pytest.mark.parametrize("role", [ADMIN, DIAGNOSTICIAN, PILOT_TEAM, COACH, EXECUTIVE])
def test_other_roles_see_the_whole_network(client, session, network, role):
    login_as(client, make_user(role))
    assert _listed(page(client.get("/sites"))) == set(SITE_NAMES)
    for key in SITE_NAMES:
        assert client.get(f"/sites/{network[key]}").status_code == 200


def test_unknown_site_is_404_not_403(client, session, network):
    login_as(client, make_user(SITE_MANAGER, site_id=network["lille"]))
    assert client.get("/sites/999999").status_code == 404


def test_site_manager_home_lists_only_their_sites(client, session, network):
    login_as(client, make_user(SITE_MANAGER, region_id=network["north"]))
    text = page(client.get("/"))
    assert h1(text) == "My sites"
    assert _listed(text) == {"lille", "roubaix"}


def test_perimeter_follows_the_account_not_the_session(client, session, network):
    """Moving a manager to another site takes effect on their next request."""
    manager = make_user(SITE_MANAGER, site_id=network["lille"])
    login_as(client, manager)
    assert client.get(f"/sites/{network['lille']}").status_code == 200
    user = session.get(User, manager.id)
    user.site_id = network["toulouse"]
    session.commit()
    assert client.get(f"/sites/{network['lille']}").status_code == 403
    assert client.get(f"/sites/{network['toulouse']}").status_code == 200


def test_nothing_written_when_a_site_manager_posts_to_admin_forms(client, session, world):
    """Belt and braces for the matrix: the refused posts really left the data alone."""
    login_as(client, _user_for(SITE_MANAGER, world))
    sites, regions, users = count(session, Site), count(session, Region), count(session, User)
    for route in ROUTES:
        if route.method == "POST" and SITE_MANAGER not in route.allowed:
            assert _send(client, route, world).status_code == 403, route.key
    assert (count(session, Site), count(session, Region), count(session, User)) == (
        sites,
        regions,
        users,
    )
    session.expire_all()
    assert session.get(Site, world.site_id).name == "Agence Paris Opéra"
    assert session.get(User, world.account_id).name == "Target"
    assert (
        session.scalars(select(AuditEvent.action).where(AuditEvent.action != "create")).all() == []
    )
