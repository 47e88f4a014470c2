"""A field coach on a phone opens one of their sites from "My sites", records a visit, ticks
two package elements in place with the htmx toggles, and the site's, the wave's and the
programme view's progress move accordingly."""

from __future__ import annotations

import re

import pytest

from programme.extensions import db
from tests.browser.support import (
    check_page,
    save_screenshot,
)
from tests.deployment_factories import assign, make_coach, make_package, make_sites, make_wave
from tests.factories import PASSWORD, make_user


@pytest.mark.parametrize("viewport", ["mobile", "desktop"])
def test_coach_records_a_visit_and_ticks_two_elements(app, open_page, viewport):
    with app.app_context():
        package = make_package(4)
        mine, other = make_sites(2, prefix="COA")
        wave = make_wave(package, [mine, other], name=f"Vague terrain {viewport}")
        user = make_user("coach", name="Sophie Coach")
        assign(wave, mine, make_coach(user=user, name="Sophie Coach"))
        email, wave_id, site_id, code = user.email, wave.id, mine.id, mine.code
        db.session.remove()

    page = open_page(viewport)
    page.goto("/login")
    page.locator("#email").fill(email)
    page.locator("#password").fill(PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/$"))
    assert "No site is assigned to you yet" not in page.locator("main").inner_text()
    check_page(page, viewport)

    page.get_by_role("link", name=re.compile(code)).click()
    page.wait_for_url(re.compile(rf"/waves/{wave_id}/sites/{site_id}$"))
    assert "Site progress: 0%" in page.locator("#site-progress").inner_text()
    check_page(page, viewport)

    # The visit.
    page.locator("#duration_minutes").fill("90")
    page.locator("#worked_on").fill("Accueil au flux avec l'équipe du matin")
    page.locator("#blocker_category").select_option("tools")
    page.locator("#blockers").fill("Borne d'accueil en panne")
    page.get_by_role("button", name="Save the visit").click()
    page.wait_for_url(re.compile(rf"/waves/{wave_id}/sites/{site_id}$"))
    assert "Visit recorded." in page.locator(".flashes").inner_text()
    assert "Borne d'accueil en panne" in page.locator(".visit-log").inner_text()

    # Two elements in place, with the htmx toggles (no page load).
    for index in (0, 1):
        item = page.locator(".checklist-item").nth(index)
        item.get_by_role("button", name="In place").click()
        page.locator(".checklist-item").nth(index).locator(
            "button[aria-pressed=true]", has_text="In place"
        ).wait_for()
    page.locator("#site-progress", has_text="50%").wait_for()
    check_page(page, viewport)
    # A second visit right after the toggles updates a third element through the visit form:
    # the form follows the toggles' versions, so it is not refused as stale.
    page.locator("#duration_minutes").fill("30")
    page.locator("#worked_on").fill("Point flux du matin")
    page.locator("#visit-form select[name^=element-]").nth(2).select_option("in_progress")
    page.get_by_role("button", name="Save the visit").click()
    page.wait_for_url(re.compile(rf"/waves/{wave_id}/sites/{site_id}$"))
    assert "Visit recorded." in page.locator(".flashes").inner_text()
    assert "Site progress: 50%" in page.locator("#site-progress").inner_text()
    save_screenshot(page, f"coach-site-{viewport}")

    # The wave (one site of two at 50 %) and the programme view move.
    page.goto(f"/waves/{wave_id}")
    assert "Wave progress: 25%" in page.locator("#wave-progress").inner_text()
    check_page(page, viewport)
    page.goto("/waves")
    row = page.locator("tr", has_text=f"Vague terrain {viewport}")
    assert "25%" in row.inner_text()
    chart = page.locator("[data-vl-spec] canvas, [data-vl-spec] svg").first
    if viewport == "mobile":
        # On a phone the timeline gives way to the waves as a list of cards, one per wave.
        chart.wait_for(state="attached")
        assert not chart.is_visible()
        assert row.evaluate("tr => getComputedStyle(tr).display") == "block"
        assert row.locator('td[data-label="Go-live"]').count() == 1  # dates labelled
    else:
        chart.wait_for()
    check_page(page, viewport)
    save_screenshot(page, f"coach-waves-{viewport}")


def test_admin_creates_a_coach_on_a_phone(app, open_page):
    with app.app_context():
        (home,) = make_sites(1, prefix="CRE")
        admin = make_user("admin")
        email, code, region = admin.email, home.code, home.region.name
        db.session.remove()

    page = open_page("mobile")
    page.goto("/login")
    page.locator("#email").fill(email)
    page.locator("#password").fill(PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/$"))
    page.get_by_role("button", name="Coaches", exact=True).click()
    page.wait_for_url(re.compile(r"/coaches$"))
    check_page(page, "mobile")
    page.get_by_role("button", name="New coach").click()
    page.wait_for_url(re.compile(r"/coaches/new$"))
    check_page(page, "mobile")

    page.locator("#email").fill("lea.navigateur@example.org")
    page.locator("#full_name").fill("Léa Navigateur")
    page.locator("#home_site").fill(code)
    page.locator("#secondment_start").fill("2026-03-01")
    page.locator("#secondment_end").fill("2026-12-31")
    page.get_by_label(region).check()
    page.locator("#trainings-0-module").fill("Conduite du changement")
    page.locator("#trainings-0-completed_on").fill("2026-03-10")
    # Another training row, with the keyboard.
    page.get_by_role("button", name="Add a training module").focus()
    page.keyboard.press("Enter")
    page.locator("#trainings-1-module").wait_for()
    page.locator("#trainings-1-module").fill("Animation d'équipe")
    page.locator("#trainings-1-completed_on").fill("2026-04-02")
    assert page.locator("#email").input_value() == "lea.navigateur@example.org"
    check_page(page, "mobile")
    # Bad input (422, message next to the field) is covered in tests/web/test_deployment_coaches.py.
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_url(re.compile(r"/coaches$"))
    assert "Coach “Léa Navigateur” saved." in page.locator(".flashes").inner_text()
    row = page.locator("tr", has_text="Léa Navigateur")
    assert code in row.inner_text() and "Animation d'équipe" in row.inner_text()
    check_page(page, "mobile")
    save_screenshot(page, "admin-coaches-mobile")
