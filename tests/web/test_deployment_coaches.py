"""The programme office's coach management (issue 7, section 3): the list, creating and
editing a coach, and bad input refused with the message next to the field, nothing written."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import select

from programme.deployment.models import Coach, CoachTraining
from programme.network.models import Person
from tests.deployment_factories import assign, make_coach, make_package, make_sites, make_wave
from tests.factories import login_as, make_region, make_site, make_user
from tests.web.helpers import DENIED, count, field_error, hidden_value, page


@pytest.fixture
def world(session):
    region = make_region("Bretagne")
    other_region = make_region("Normandie")
    home = make_site("RNS-001", region=region, name="Agence Rennes")
    return {
        "session": session,
        "region": region,
        "other_region": other_region,
        "home": home,
        "admin": make_user("admin"),
        "account": make_user("coach", email="camille@example.org", name="Camille"),
    }


def _form(w, **values) -> dict:
    form = {
        "email": "camille.martin@example.org",
        "full_name": "Camille Martin",
        "user": str(w["account"].id),
        "home_site": "RNS-001",
        "secondment_start": "2026-01-01",
        "secondment_end": "2026-12-31",
        "capacity": "5",
        "regions": [str(w["region"].id), str(w["other_region"].id)],
        "trainings-0-module": "Conduite du changement 1",
        "trainings-0-completed_on": "2026-01-15",
        "trainings-1-module": "Animation d'équipe",
        "trainings-1-completed_on": "2026-02-10",
    }
    form.update(values)
    return {k: v for k, v in form.items() if v is not None}


def test_admin_creates_a_coach_with_a_new_person(client, world):
    login_as(client, world["admin"])
    assert "New coach" in page(client.get("/coaches/new"))
    response = client.post("/coaches/new", data=_form(world))
    assert response.status_code == 302, page(response)[:2000]
    assert response.headers["Location"] == "/coaches"
    coach = world["session"].scalar(select(Coach))
    assert coach.person.full_name == "Camille Martin"
    assert coach.person.email == "camille.martin@example.org"
    assert coach.user_id == world["account"].id
    assert coach.home_site_id == world["home"].id
    assert (coach.secondment_start, coach.secondment_end) == (date(2026, 1, 1), date(2026, 12, 31))
    assert coach.capacity == 5
    assert {r.name for r in coach.regions} == {"Bretagne", "Normandie"}
    assert [(t.module, t.completed_on) for t in coach.trainings] == [
        ("Conduite du changement 1", date(2026, 1, 15)),
        ("Animation d'équipe", date(2026, 2, 10)),
    ]
    listing = page(client.get("/coaches"))
    assert "Camille Martin" in listing and "RNS-001" in listing
    assert "Conduite du changement 1" in listing and "/coaches/capacity" in listing


def test_an_existing_person_becomes_a_coach_by_email(client, world):
    person = Person(full_name="Dominique Leroy", email="dominique@example.org")
    world["session"].add(person)
    world["session"].commit()
    login_as(client, world["admin"])
    response = client.post(
        "/coaches/new", data=_form(world, email="Dominique@example.org", full_name="", user="0")
    )
    assert response.status_code == 302, page(response)[:2000]
    coach = world["session"].scalar(select(Coach))
    assert coach.person_id == person.id and coach.user_id is None
    assert count(world["session"], Person) == 1


def test_adding_a_training_row_keeps_the_form(client, world):
    login_as(client, world["admin"])
    response = client.post("/coaches/new", data=_form(world, add_training="1"))
    assert response.status_code == 200
    text = page(response)
    assert 'name="trainings-2-module"' in text and "Camille Martin" in text
    assert count(world["session"], Coach) == 0


def test_admin_edits_a_coach(client, world):
    coach = make_coach(user=world["account"], name="Camille")
    coach.trainings.append(CoachTraining(module="Module A", completed_on=date(2026, 1, 5)))
    world["session"].commit()
    login_as(client, world["admin"])
    text = page(client.get(f"/coaches/{coach.id}/edit"))
    assert 'value="Module A"' in text and 'name="trainings-1-module"' in text
    response = client.post(
        f"/coaches/{coach.id}/edit",
        data=_form(world, capacity="3", version=hidden_value(text, "version"),
                   **{"trainings-1-module": "", "trainings-1-completed_on": ""}),
    )  # fmt: skip
    assert response.status_code == 302, page(response)[:2000]
    world["session"].expire_all()
    coach = world["session"].get(Coach, coach.id)
    assert coach.capacity == 3 and coach.person.full_name == "Camille Martin"
    assert [t.module for t in coach.trainings] == ["Conduite du changement 1"]


@pytest.mark.parametrize(
    ("overrides", "field_id", "message"),
    [
        ({"secondment_end": "2025-12-31"}, "secondment_end",
         "The end of the secondment cannot be before its start."),
        ({"home_site": "NOPE-9"}, "home_site", "Unknown site code: NOPE-9."),
        ({"capacity": "0"}, "capacity", "Number must be between 1 and 20."),
        ({"capacity": "21"}, "capacity", "Number must be between 1 and 20."),
        ({"full_name": ""}, "full_name", "Enter the full name of this new person."),
        ({"trainings-1-completed_on": ""}, "trainings",
         "Each training module needs a name and a date."),
    ],
)  # fmt: skip
def test_bad_input_is_refused_next_to_the_field(client, world, overrides, field_id, message):
    login_as(client, world["admin"])
    response = client.post("/coaches/new", data=_form(world, **overrides))
    assert response.status_code == 422
    assert field_error(page(response), field_id) == message
    assert count(world["session"], Coach) == 0
    assert count(world["session"], Person) == 0


def test_a_person_already_a_coach_is_refused(client, world):
    existing = make_coach(name="Camille")
    existing.person.email = "camille.martin@example.org"
    world["session"].commit()
    login_as(client, world["admin"])
    response = client.post("/coaches/new", data=_form(world, user="0"))
    assert response.status_code == 422
    assert field_error(page(response), "email") == "This person is already a coach."
    assert count(world["session"], Coach) == 1


def test_an_account_linked_to_another_coach_is_refused(client, world):
    make_coach(user=world["account"])
    login_as(client, world["admin"])
    response = client.post("/coaches/new", data=_form(world))
    assert response.status_code == 422
    assert field_error(page(response), "user") == (
        "This account is already linked to another coach."
    )
    assert count(world["session"], Coach) == 1


def test_shortening_the_secondment_cannot_strand_an_assignment(client, world):
    package = make_package(2)
    (site,) = make_sites(1, prefix="ASG")
    wave = make_wave(package, [site])
    coach = make_coach(user=world["account"])
    assign(wave, site, coach)
    login_as(client, world["admin"])
    version = hidden_value(page(client.get(f"/coaches/{coach.id}/edit")), "version")
    response = client.post(
        f"/coaches/{coach.id}/edit",
        data=_form(world, secondment_end=wave.start.isoformat(), secondment_start="2025-01-01",
                   version=version),
    )  # fmt: skip
    assert response.status_code == 422
    assert "outside these dates" in field_error(page(response), "secondment_end")


def test_coaches_and_executives_read_the_list_but_cannot_edit(client, world):
    coach = make_coach(user=world["account"], name="Camille")
    for role in ("coach", "executive"):
        login_as(client, make_user(role))
        text = page(client.get("/coaches"))
        assert "Camille" in text and "/coaches/new" not in text
        response = client.post(f"/coaches/{coach.id}/edit", data=_form(world))
        assert response.status_code == 403 and DENIED in page(response)
    login_as(client, make_user("site_manager"))
    assert client.get("/coaches").status_code == 403


def test_a_stale_edit_is_refused_with_the_current_state(client, world):
    coach = make_coach(user=world["account"], name="Camille", capacity=4)
    login_as(client, world["admin"])
    stale = hidden_value(page(client.get(f"/coaches/{coach.id}/edit")), "version")
    # Someone else saves first.
    first = client.post(f"/coaches/{coach.id}/edit", data=_form(world, capacity="7", version=stale))
    assert first.status_code == 302, page(first)[:2000]
    second = client.post(
        f"/coaches/{coach.id}/edit", data=_form(world, capacity="2", version=stale)
    )
    assert second.status_code == 409
    text = page(second)
    assert "Someone else changed this coach in the meantime" in text
    assert re.search(r'<input[^>]*name="capacity"[^>]*value="7"', text)
    assert hidden_value(text, "version") != stale
    world["session"].expire_all()
    assert world["session"].get(Coach, coach.id).capacity == 7


def test_unknown_coach_is_404(client, world):
    login_as(client, world["admin"])
    assert client.get("/coaches/999999/edit").status_code == 404
