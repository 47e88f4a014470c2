"""Deployment screens through the test client: planning a wave (bad input included), the
coach's checklist toggles with optimistic locking, visits, engagement, the coach's rights
limited to their assigned sites, the coach's home page and the capacity view."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from programme.deployment.models import (
    Assignment,
    ChecklistItem,
    Engagement,
    ProgressEvent,
    Visit,
    Wave,
)
from tests.deployment_factories import (
    GO_LIVE,
    START,
    assign,
    make_coach,
    make_package,
    make_sites,
    make_wave,
)
from tests.factories import login_as, make_user
from tests.web.helpers import DENIED, count, page


@pytest.fixture
def world(session):
    package = make_package(3)
    mine, other = make_sites(2, prefix="DEP")
    wave = make_wave(package, [mine, other])
    coach_user = make_user("coach", name="Camille Coach")
    coach = make_coach(user=coach_user, name="Camille Coach")
    assign(wave, mine, coach)
    return {
        "session": session,
        "package": package,
        "wave": wave,
        "mine": mine,
        "other": other,
        "coach_user": coach_user,
        "coach": coach,
        "admin": make_user("admin"),
    }


def _item(session, wave, site, index=0) -> ChecklistItem:
    session.expire_all()
    return session.scalars(
        select(ChecklistItem)
        .where(ChecklistItem.wave_id == wave.id, ChecklistItem.site_id == site.id)
        .order_by(ChecklistItem.id)
    ).all()[index]


def _item_url(w, site, item) -> str:
    return f"/waves/{w['wave'].id}/sites/{site.id}/items/{item.id}"


HX = {"HX-Request": "true"}


# --- planning a wave ---------------------------------------------------------------------------


def _wave_form(w, **values):
    form = {
        "name": "Vague Ouest",
        "package": str(w["package"].id),
        "start": "2026-06-01",
        "go_live": "2026-07-01",
        "status": "planned",
        "sites": [],
    }
    form.update(values)
    return form


def test_admin_plans_a_wave_with_sites(client, world):
    (extra,) = make_sites(1, prefix="NEW")
    login_as(client, world["admin"])
    response = client.post("/waves/new", data=_wave_form(world, sites=[extra.code]))
    assert response.status_code == 302
    wave = world["session"].scalar(select(Wave).where(Wave.name == "Vague Ouest"))
    assert [ws.site_id for ws in wave.sites] == [extra.id]
    detail = page(client.get(response.headers["Location"]))
    assert "Vague Ouest" in detail and "J−30" in detail and extra.code in detail


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"go_live": "2026-05-01"}, "The go-live cannot come before the start."),
        ({"sites": ["NOPE-1"]}, "Unknown site codes: NOPE-1."),
        ({"name": ""}, "This field is required."),
    ],
)
def test_bad_wave_is_refused_next_to_the_field_and_nothing_saved(client, world, overrides, message):
    login_as(client, world["admin"])
    before = count(world["session"], Wave)
    response = client.post("/waves/new", data=_wave_form(world, **overrides))
    assert response.status_code == 422
    assert message in page(response)
    assert 'class="field-error"' in page(response)
    assert count(world["session"], Wave) == before


def test_a_site_already_in_an_active_wave_is_refused(client, world):
    login_as(client, world["admin"])
    response = client.post("/waves/new", data=_wave_form(world, sites=[world["mine"].code]))
    assert response.status_code == 422
    assert "is already in the active wave" in page(response)
    assert count(world["session"], Wave) == 1


def test_site_picker_filters_by_type_and_keeps_the_chosen_sites(client, world):
    login_as(client, world["admin"])
    response = client.get(
        f"/waves/site-picker?type=call_centre&sites={world['mine'].code}", headers=HX
    )
    text = page(response)
    assert response.status_code == 200
    assert "<html" not in text
    assert world["mine"].code in text and "checked" in text
    assert world["other"].code not in text  # a branch, filtered out


def test_assignment_beyond_capacity_is_refused_with_the_reason(client, world):
    session = world["session"]
    world["coach"].capacity = 1
    session.commit()
    login_as(client, world["admin"])
    response = client.post(
        f"/waves/{world['wave'].id}/assignments",
        data={"site": str(world["other"].id), "coach": str(world["coach"].id),
              "start": START.isoformat(), "end": GO_LIVE.isoformat()},
    )  # fmt: skip
    assert response.status_code == 422
    assert "capacity 1" in page(response)
    assert count(session, Assignment) == 1


def test_milestone_tick_off_with_htmx(client, world):
    login_as(client, world["admin"])
    milestone = world["wave"].milestones[0]
    response = client.post(
        f"/waves/{world['wave'].id}/milestones/{milestone.id}", data={"done": "1"}, headers=HX
    )
    assert response.status_code == 200
    assert "Mark as not done" in page(response)


# --- the coach's checklist ---------------------------------------------------------------------


def test_coach_toggles_an_element_with_htmx_and_the_progress_moves(client, world):
    session, wave, mine = world["session"], world["wave"], world["mine"]
    login_as(client, world["coach_user"])
    item = _item(session, wave, mine)
    response = client.post(
        _item_url(world, mine, item), data={"state": "in_place", "version": "1"}, headers=HX
    )
    assert response.status_code == 200
    text = page(response)
    assert 'id="site-progress" hx-swap-oob="true"' in text
    # The visit form's version of the element follows, so a visit saved next is not stale.
    assert (
        f'id="visit-version-{item.element_id}" name="version-{item.element_id}" value="2"' in text
    )
    assert "33%" in text.replace("\xa0", "")
    assert _item(session, wave, mine).state == "in_place"
    event = session.scalar(select(ProgressEvent))
    assert (event.from_state, event.to_state, event.by) == (
        "not_started",
        "in_place",
        world["coach_user"].email,
    )


def test_a_stale_save_gets_409_with_the_current_state(client, new_client, world):
    session, wave, mine = world["session"], world["wave"], world["mine"]
    item = _item(session, wave, mine)
    other_browser = new_client()
    login_as(client, world["coach_user"])
    login_as(other_browser, world["admin"])
    # Both loaded the form at version 1; the admin saves first.
    assert other_browser.post(
        _item_url(world, mine, item), data={"state": "in_progress", "version": "1"}, headers=HX
    ).status_code == 200  # fmt: skip
    response = client.post(
        _item_url(world, mine, item), data={"state": "sustained", "version": "1"}, headers=HX
    )
    assert response.status_code == 409
    text = page(response)
    assert "Someone else changed this element" in text
    assert "State: In progress" in text
    assert 'name="version" value="2"' in text
    assert _item(session, wave, mine).state == "in_progress"
    assert count(session, ProgressEvent) == 1


def test_moving_backwards_needs_a_note(client, world):
    session, wave, mine = world["session"], world["wave"], world["mine"]
    login_as(client, world["coach_user"])
    item = _item(session, wave, mine)
    client.post(_item_url(world, mine, item), data={"state": "in_place", "version": "1"})
    response = client.post(
        _item_url(world, mine, item), data={"state": "not_started", "version": "2"}, headers=HX
    )
    assert response.status_code == 422
    assert "needs a note" in page(response) and 'class="field-error"' in page(response)
    assert _item(session, wave, mine).state == "in_place"
    response = client.post(
        _item_url(world, mine, item),
        data={"state": "not_started", "version": "2", "note": "Borne retirée"},
        headers=HX,
    )
    assert response.status_code == 200
    assert count(session, ProgressEvent) == 2


def test_a_coach_cannot_edit_a_site_that_is_not_theirs(client, world):
    session, wave, mine, other = world["session"], world["wave"], world["mine"], world["other"]
    login_as(client, world["coach_user"])
    foreign = _item(session, wave, other)
    response = client.post(_item_url(world, other, foreign), data={"state": "in_place"})
    assert response.status_code == 403 and DENIED in page(response)
    # A forged id: the other site's item under the coach's own site.
    response = client.post(_item_url(world, mine, foreign), data={"state": "in_place"})
    assert response.status_code == 404
    response = client.post(
        f"/waves/{wave.id}/sites/{other.id}/visits",
        data={"visited_on": "2026-03-10", "duration_minutes": "30", "worked_on": "x"},
    )
    assert response.status_code == 403
    assert client.get(f"/sites/{other.id}/engagement").status_code == 403
    assert _item(session, wave, other).state == "not_started"
    assert count(session, Visit) == 0
    # Closed wave: the coach's own site is read-only too.
    world["wave"].status = "closed"
    session.commit()
    mine_item = _item(session, wave, mine)
    assert (
        client.post(_item_url(world, mine, mine_item), data={"state": "in_place"}).status_code
        == 403
    )


# --- visits ------------------------------------------------------------------------------------


def test_coach_records_a_visit_updating_two_elements(client, world):
    session, wave, mine = world["session"], world["wave"], world["mine"]
    login_as(client, world["coach_user"])
    first, second = _item(session, wave, mine, 0), _item(session, wave, mine, 1)
    response = client.post(
        f"/waves/{wave.id}/sites/{mine.id}/visits",
        data={
            "visited_on": "2026-03-10",
            "duration_minutes": "90",
            "worked_on": "Accueil",
            "blocker_category": "tools",
            "blockers": "Agenda partagé",
            "next_visit_on": "2026-03-17",
            f"element-{first.element_id}": "in_place",
            f"version-{first.element_id}": "1",
            f"element-{second.element_id}": "in_place",
            f"version-{second.element_id}": "1",
        },
    )
    assert response.status_code == 302
    visit = session.scalar(select(Visit))
    assert visit.coach_id == world["coach"].id and visit.blocker_category == "tools"
    text = page(client.get(f"/waves/{wave.id}/sites/{mine.id}"))
    assert "Agenda partagé" in text
    assert "67%" in text.replace("\xa0", "")
    wave_page = page(client.get(f"/waves/{wave.id}"))
    assert "33%" in wave_page.replace("\xa0", "")  # (2/3 + 0) / 2
    assert "Planned vs actual" in wave_page and 'id="curve-spec"' in wave_page
    assert "Missing: checklist, manager engagement" in " ".join(wave_page.split())


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"duration_minutes": "0"}, "Number must be between 1 and 1440."),
        ({"worked_on": ""}, "This field is required."),
        ({"element-999999": "in_place"}, "Unknown package elements: 999999."),
        ({"blockers": "rupture", "blocker_category": ""}, "Choose the category of the blocker."),
    ],
)
def test_bad_visit_is_refused_and_nothing_saved(client, world, overrides, message):
    session, wave, mine = world["session"], world["wave"], world["mine"]
    login_as(client, world["coach_user"])
    data = {"visited_on": "2026-03-10", "duration_minutes": "60", "worked_on": "Accueil"}
    data.update(overrides)
    response = client.post(f"/waves/{wave.id}/sites/{mine.id}/visits", data=data)
    assert response.status_code == 422
    assert message in page(response)
    assert count(session, Visit) == 0 and count(session, ProgressEvent) == 0


# --- engagement, home, capacity ----------------------------------------------------------------


def test_site_manager_records_engagement_for_their_own_site_only(client, world):
    session = world["session"]
    manager = make_user("site_manager", site_id=world["mine"].id)
    login_as(client, manager)
    response = client.post(
        f"/sites/{world['mine'].id}/engagement",
        data={"score": "5", "recorded_on": "2026-03-10", "note": "", "asked_earlier": "y"},
    )
    assert response.status_code == 302
    assert session.scalar(select(Engagement)).asked_earlier is True
    assert client.get(f"/sites/{world['other'].id}/engagement").status_code == 403
    bad = client.post(
        f"/sites/{world['mine'].id}/engagement", data={"score": "9", "recorded_on": ""}
    )
    assert bad.status_code == 422 and 'class="field-error"' in page(bad)
    assert count(session, Engagement) == 1
    # The manager reads their site's progress.
    assert client.get(f"/waves/{world['wave'].id}/sites/{world['mine'].id}").status_code == 200
    # The programme view shows engagement by region, within the manager's perimeter.
    listing = page(client.get("/waves"))
    assert "Line management engagement by region" in listing


def test_coach_home_lists_the_assigned_sites(client, world):
    login_as(client, world["coach_user"])
    text = page(client.get("/"))
    assert world["mine"].code in text
    assert world["other"].code not in text
    assert "No site is assigned to you yet" not in text
    assert re.search(r"Next actions:", text)


def test_capacity_view(client, world):
    login_as(client, world["admin"])
    text = page(client.get("/coaches/capacity"))
    assert "Camille Coach" in text
