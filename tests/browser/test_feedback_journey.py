"""A site manager, on a 375 px phone, calls back a customer whose detractor score a survey
tool posted through the API, then closes the case with its cause."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from programme.api.tokens import create_token
from programme.extensions import db
from tests.browser.support import check_page, save_screenshot
from tests.diagnostics_factories import make_campaign, make_irritant
from tests.factories import PASSWORD, make_region, make_site, make_user


def test_site_manager_closes_the_loop_on_a_phone(app, open_page):
    with app.app_context():
        site = make_site("PAR-001", make_region("Île-de-France"), name="Agence Paris Opéra")
        email = make_user("site_manager", site_id=site.id, name="Camille Martin").email
        make_irritant(make_campaign(), name="Attente sans information")
        _row, token = create_token(db.session, make_user("admin"), "survey-tool")
        db.session.commit()
        db.session.remove()
    received = (datetime.now(ZoneInfo("Europe/Paris")) - timedelta(hours=2)).replace(microsecond=0)
    posted = app.test_client().post(
        "/api/v1/feedback",
        json=[
            {
                "source": "qualtrics",
                "external_id": "R-58213",
                "site": "PAR-001",
                "received_at": received.isoformat(),
                "channel": "in_person",
                "journey_step": "waiting",
                "score": 2,
                "scale": "nps",
                "comment": "Une heure d'attente sans aucune information.",
                "contact_consent": True,
                "contact": "06 12 34 56 78",
            }
        ],
        headers={"Authorization": f"Bearer {token}"},
    )
    assert posted.status_code == 201 and posted.get_json()["cases_opened"] == 1

    page = open_page("mobile")
    page.goto("/login")
    page.locator("#email").fill(email)
    page.locator("#password").fill(PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/$"))

    page.locator("header nav").get_by_role("link", name="Customer cases").click()
    page.wait_for_url(re.compile(r"/cases$"))
    check_page(page, "mobile")
    cards = page.locator("#case-table article")
    assert cards.count() == 1
    assert "PAR-001" in cards.first.inner_text()

    cards.first.get_by_role("link").click()
    page.wait_for_url(re.compile(r"/cases/\d+$"))
    assert page.locator(".contact-ref").inner_text() == "06 12 34 56 78"
    assert "Une heure d'attente" in page.locator("main").inner_text()
    check_page(page, "mobile")

    page.get_by_role("button", name="I called the customer").click()
    page.wait_for_url(re.compile(r"/cases/\d+$"))
    assert page.get_by_role("status").inner_text() == "Marked as contacted."
    check_page(page, "mobile")

    page.get_by_label("Outcome of the call").select_option("explained")
    page.get_by_label("Root cause").select_option("ergonomic")
    page.get_by_label("Journey step").select_option("waiting")
    page.get_by_label("Known irritant (optional)").select_option(label="Attente sans information")
    page.get_by_label("Note").fill("Expliqué le nouvel affichage de l'attente.")
    page.get_by_role("button", name="Close the case").click()
    page.wait_for_url(re.compile(r"/cases/\d+$"))
    assert page.get_by_role("status").inner_text() == "Case closed."
    facts = page.locator(".case-facts").inner_text()
    assert "Closed" in facts and "Ergonomic" in facts and "Attente sans information" in facts
    check_page(page, "mobile")
    save_screenshot(page, "feedback-case-closed-mobile")
