"""A pilot team member designs their pilot (control sites proposed by the helper, power
estimate shown), reads the results, records team feel and the go decision with its reason,
and the package appears with an element."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from programme.extensions import db
from tests.browser.support import (
    check_page,
    save_screenshot,
)
from tests.factories import PASSWORD, make_user
from tests.pilot_factories import PILOT_START, make_pilot, measured_sites


@pytest.mark.parametrize("viewport", ["mobile", "desktop"])
def test_pilot_team_member_designs_decides_and_gets_a_package(app, open_page, viewport):
    with app.app_context():
        admin = make_user("admin")
        measured_sites(admin)
        member = make_user("pilot_team")
        pilot = make_pilot(admin, members=[member], name="Accueil au flux", control_sites=(),
                           pilot_end=PILOT_START + timedelta(days=13))  # fmt: skip
        email, pilot_id = member.email, pilot.id
        db.session.remove()

    page = open_page(viewport)
    page.goto("/login")
    page.locator("#email").fill(email)
    page.locator("#password").fill(PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/$"))

    page.goto("/pilots")
    page.get_by_role("link", name="Accueil au flux").click()
    page.wait_for_url(re.compile(rf"/pilots/{pilot_id}$"))
    check_page(page, viewport)
    page.get_by_role("button", name="Edit the design").click()
    page.wait_for_url(re.compile(rf"/pilots/{pilot_id}/edit$"))
    check_page(page, viewport)

    # The helper proposes comparable sites; the member keeps them as the control arm.
    page.get_by_role("button", name="Propose control sites").click()
    codes = page.locator("#proposal .proposal-codes")
    codes.wait_for()
    proposed = codes.inner_text().split()
    assert len(proposed) == 4 and not {"PIL-1", "PIL-2", "PIL-3", "PIL-4"} & set(proposed)
    page.locator("#control_sites").fill(" ".join(proposed))
    page.get_by_role("button", name="Update the power estimate").click()
    page.locator("#power", has_text="4 control sites").wait_for()
    assert "smallest effect this design detects" in page.locator("#power").inner_text()
    check_page(page, viewport)
    page.locator("#pilot-form button.save").click()
    page.wait_for_url(re.compile(rf"/pilots/{pilot_id}$"))
    assert "Control site" in page.locator("main").inner_text()

    page.get_by_role("link", name="Results").click()
    page.wait_for_url(re.compile(rf"/pilots/{pilot_id}/results$"))
    page.locator("[data-vl-spec] canvas, [data-vl-spec] svg").first.wait_for()
    assert "Waiting time fell by" in page.locator(".reading").first.inner_text()
    check_page(page, viewport)
    save_screenshot(page, f"pilot-results-{viewport}")

    page.get_by_role("link", name="Team feel").click()
    page.wait_for_url(re.compile(rf"/pilots/{pilot_id}/team-feel$"))
    page.get_by_label("4", exact=True).check()
    page.locator("#comment").fill("Moins de tension à l'accueil")
    page.get_by_role("button", name="Record").click()
    page.wait_for_url(re.compile(rf"/pilots/{pilot_id}/team-feel$"))
    assert "4.0 / 5 from 1 answers" in page.locator(".team-feel").inner_text()
    check_page(page, viewport)

    page.get_by_role("link", name="Decision").click()
    page.wait_for_url(re.compile(rf"/pilots/{pilot_id}/decision$"))
    assert "Waiting time fell by" in page.locator(".reading").first.inner_text()
    assert "4.0 / 5" in page.locator(".team-feel").inner_text()  # side by side
    check_page(page, viewport)
    page.get_by_label("Go (roll out)").check()
    page.locator("#reason").fill("−25 % d'attente face aux sites témoins, équipes convaincues")
    page.locator("#decision-form button[type=submit]").click()
    page.wait_for_url(re.compile(rf"/pilots/{pilot_id}/package$"))

    page.locator("#kind").select_option("routine")
    page.locator("#title").fill("Point flux de 10 minutes")
    page.locator("#description").fill("Chaque matin, revue de l'attente de la veille")
    page.locator("#deployment_step").select_option("coach")
    page.get_by_role("button", name="Add").click()
    page.wait_for_url(re.compile(rf"/pilots/{pilot_id}/package$"))
    table = page.locator("#package-elements").inner_text()
    assert "Point flux de 10 minutes" in table and "Field coaching" in table
    check_page(page, viewport)
    save_screenshot(page, f"pilot-journey-{viewport}")
