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


def test_feedback_pages_hold_on_a_phone(app, open_page):
    """The counter note, the file import, the figures and the irritant counts: axe and
    375 px on each; a counter note from an unhappy customer opens a case."""
    with app.app_context():
        site = make_site("ARA-001", make_region("Auvergne-Rhône-Alpes"), name="Agence Lyon")
        email = make_user("admin", name="Bureau de programme").email
        make_user("site_manager", site_id=site.id)
    page = open_page("mobile")
    page.goto("/login")
    page.locator("#email").fill(email)
    page.locator("#password").fill(PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/$"))

    page.goto("/feedback/counter")
    check_page(page, "mobile")
    page.get_by_label("Score").fill("3")
    page.get_by_label("What the customer said").fill("Trop d'attente au guichet.")
    page.get_by_label("The customer agrees to be called back").check()
    page.get_by_label("Contact reference").fill("07 11 22 33 44")
    page.get_by_role("button", name="Record the note").click()
    page.wait_for_url(re.compile(r"/feedback/counter$"))
    assert "a case was opened" in page.get_by_role("status").inner_text()
    check_page(page, "mobile")

    for path in ("/feedback/import", "/cases/figures", "/cases/irritants", "/cases"):
        page.goto(path)
        check_page(page, "mobile")
    assert page.locator("#case-table article").count() == 1
    save_screenshot(page, "feedback-cases-mobile")
