"""Forms never save a value the user did not choose: the engagement score, an account's
role, a site's type, a wave's package, an assignment's site and coach, a package element's
kind and deployment step all start blank, and a form sent without them is refused (422,
a message next to the field, nothing written)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from programme.auth.models import User
from programme.deployment.models import Assignment, Engagement, Wave
from programme.network.models import Site
from programme.pilots.models import PackageElement
from tests.deployment_factories import (
    GO_LIVE,
    START,
    assign,
    make_coach,
    make_package,
    make_sites,
    make_wave,
)
from tests.factories import login_as, make_region, make_user
from tests.pilot_factories import make_pilot, measured_sites
from tests.web.helpers import count, field_error, page


def _selected(text: str, name: str) -> list[str]:
    """The values of the selected options of the <select name=...>."""
    select_html = re.search(rf'<select[^>]*name="{name}"[^>]*>(.*?)</select>', text, re.S)
    assert select_html, f"no <select name={name}>"
    return re.findall(r'<option selected value="([^"]*)"', select_html.group(1))


@pytest.fixture
def world(session):
    package = make_package(3)
    mine, other = make_sites(2, prefix="DEP")
    wave = make_wave(package, [mine, other])
    coach = make_coach(user=make_user("coach", name="Camille Coach"), name="Camille Coach")
    assign(wave, mine, coach)
    manager = make_user("site_manager", site_id=mine.id)
    return {"session": session, "package": package, "wave": wave, "mine": mine,
            "other": other, "coach": coach, "manager": manager, "admin": make_user("admin")}  # fmt: skip


# --- engagement score ----------------------------------------------------------------------


def test_the_engagement_form_has_no_score_chosen(client, world):
    login_as(client, world["manager"])
    text = page(client.get(f"/sites/{world['mine'].id}/engagement"))
    assert _selected(text, "score") in ([], [""])


@pytest.mark.parametrize(
    ("language", "message"),
    [("en", "Choose a score from 1 to 5."), ("fr", "Choisissez une note de 1 à 5.")],
)
def test_an_unchosen_engagement_score_is_refused(new_client, world, language, message):
    browser = new_client(language=language)
    login_as(browser, world["manager"])
    for data in ({"score": "", "recorded_on": "2026-03-10"}, {"recorded_on": "2026-03-10"}):
        response = browser.post(f"/sites/{world['mine'].id}/engagement", data=data)
        assert response.status_code == 422
        assert field_error(page(response), "score") == message
    assert count(world["session"], Engagement) == 0


def test_a_chosen_engagement_score_is_saved(client, world):
    login_as(client, world["manager"])
    response = client.post(
        f"/sites/{world['mine'].id}/engagement", data={"score": "3", "recorded_on": "2026-03-10"}
    )
    assert response.status_code == 302
    assert world["session"].scalar(select(Engagement.score)) == 3


# --- account role --------------------------------------------------------------------------


def test_a_new_account_has_no_role_chosen_and_needs_one(client, session):
    login_as(client, make_user("admin"))
    assert _selected(page(client.get("/users/new")), "role") in ([], [""])
    users = count(session, User)
    response = client.post(
        "/users/new",
        data={"email": "new.person@example.org", "name": "New", "role": "", "language": "",
              "site_id": "", "region_id": "", "active": "y", "password": "A-long-enough-password"},
    )  # fmt: skip
    assert response.status_code == 422
    assert field_error(page(response), "role") == "Choose a role."
    assert count(session, User) == users


# --- site type -----------------------------------------------------------------------------


def test_a_new_site_has_no_type_chosen_and_needs_one(client, session):
    login_as(client, make_user("admin"))
    make_region("Bretagne")
    assert _selected(page(client.get("/sites/new")), "type") in ([], [""])
    response = client.post(
        "/sites/new",
        data={"code": "BRE-010", "name": "Agence Brest", "type": "", "region": "Bretagne",
              "country": "FR", "time_zone": "Europe/Paris", "operator": "internal",
              "channels": ["in_person"]},
    )  # fmt: skip
    assert response.status_code == 422
    assert field_error(page(response), "type") == "Choose the site's type."
    assert count(session, Site) == 0


# --- wave package, assignment site and coach -----------------------------------------------


def test_a_new_wave_has_no_package_chosen_and_needs_one(client, world):
    login_as(client, world["admin"])
    assert _selected(page(client.get("/waves/new")), "package") in ([], [""])
    before = count(world["session"], Wave)
    response = client.post(
        "/waves/new",
        data={"name": "Vague Est", "package": "", "start": "2026-06-01",
              "go_live": "2026-07-01", "status": "planned"},
    )  # fmt: skip
    assert response.status_code == 422
    assert field_error(page(response), "package") == "Choose the package this wave deploys."
    assert count(world["session"], Wave) == before


@pytest.mark.parametrize(
    ("field", "message"), [("site", "Choose a site."), ("coach", "Choose a coach.")]
)
def test_an_assignment_needs_a_chosen_site_and_coach(client, world, field, message):
    login_as(client, world["admin"])
    text = page(client.get(f"/waves/{world['wave'].id}"))
    assert _selected(text, field) in ([], [""])
    data = {"site": str(world["other"].id), "coach": str(world["coach"].id),
            "start": START.isoformat(), "end": GO_LIVE.isoformat()}  # fmt: skip
    data[field] = ""
    response = client.post(f"/waves/{world['wave'].id}/assignments", data=data)
    assert response.status_code == 422
    assert message in page(response)
    assert count(world["session"], Assignment) == 1  # only the fixture's


# --- package element kind and deployment step ----------------------------------------------


@pytest.mark.parametrize(
    ("field", "message"),
    [
        ("kind", "Choose process, tool, indicator or management routine."),
        ("deployment_step", "Choose the deployment step that installs it."),
    ],
)
def test_a_package_element_needs_a_chosen_kind_and_step(client, session, field, message):
    admin = make_user("admin")
    measured_sites(admin)
    pilot = make_pilot(admin)
    package = make_package(0)
    package.pilot = pilot
    session.commit()
    login_as(client, admin)
    text = page(client.get(f"/pilots/{pilot.id}/package"))
    assert _selected(text, field) in ([], [""])
    data = {"kind": "process", "title": "Accueil au flux", "description": "Un conseiller",
            "deployment_step": "train"}  # fmt: skip
    data[field] = ""
    response = client.post(f"/pilots/{pilot.id}/package", data=data)
    assert response.status_code == 422
    assert field_error(page(response), field) == message
    assert count(session, PackageElement) == 0
