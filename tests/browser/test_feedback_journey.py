"""A site manager, on a 375 px phone, calls back a customer whose detractor score a survey
tool posted through the API (the case is due two working days later; their home says who
to call back), then closes the case with its cause: the irritant's count moves, and the
pilot addressing it shows it. A regional manager follows an escalated case from their home."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask_babel import force_locale, format_datetime

from programme.api.tokens import create_token
from programme.extensions import db
from programme.feedback.services import add_working_days
from tests.browser.support import check_page, save_screenshot
from tests.diagnostics_factories import make_campaign, make_irritant
from tests.factories import PASSWORD, make_region, make_site, make_user

PARIS = ZoneInfo("Europe/Paris")


def _login(open_page, email):
    page = open_page("mobile")
    page.goto("/login")
    page.locator("#email").fill(email)
    page.locator("#password").fill(PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/$"))
    return page


def _irritant_cases(open_page, email) -> str:
    """The closed-cases cell of "Attente sans information" on /cases/irritants (on a phone)."""
    page = _login(open_page, email)
    page.goto("/cases/irritants")
    check_page(page, "mobile")
    row = page.locator("tbody tr", has_text="Attente sans information")
    return row.locator("td").first.inner_text() if row.count() else "absent"


def test_site_manager_closes_the_loop_on_a_phone(app, open_page):
    with app.app_context():
        site = make_site("PAR-001", make_region("Île-de-France"), name="Agence Paris Opéra")
        email = make_user("site_manager", site_id=site.id, name="Camille Martin").email
        make_irritant(make_campaign(), name="Attente sans information")
        executive = make_user("executive").email
        _row, token = create_token(db.session, make_user("admin"), "survey-tool")
        db.session.commit()
        db.session.remove()
    assert _irritant_cases(open_page, executive) == "absent"  # no finding, no case yet
    received = (datetime.now(PARIS) - timedelta(hours=2)).replace(microsecond=0)
    with app.test_request_context(), force_locale("en"):
        # Monday to Friday, the same local time in the site's time zone
        due = format_datetime(add_working_days(received, 2, PARIS), "short")
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

    page = _login(open_page, email)
    # the home says who to call back, and leads to the cases still to contact
    line = page.locator('[data-kind="cases_to_call"]')
    assert line.inner_text().strip() == "1 customer to call back at PAR-001."
    check_page(page, "mobile")
    line.get_by_role("link").click()
    page.wait_for_url(re.compile(r"/cases\?site=\d+&status=open$"))
    check_page(page, "mobile")
    cards = page.locator("#case-table article")
    assert cards.count() == 1
    assert "PAR-001" in cards.first.inner_text()
    assert f"due {due}" in cards.first.inner_text()  # two working days after it arrived

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
    # closing it with its cause moved the irritant's count
    assert _irritant_cases(open_page, executive) == "1"


def test_a_regional_manager_follows_an_escalated_case_from_their_home(app, open_page):
    from programme.feedback.models import FeedbackCase
    from programme.feedback.services import record_responses

    with app.app_context():
        region = make_region("Bretagne")
        make_site("BRE-001", region, name="Agence Rennes")
        email = make_user("site_manager", region_id=region.id, name="Régis Régional").email
        long_ago = datetime.now(PARIS) - timedelta(days=10)
        record_responses(db.session, None, [{
            "source": "qualtrics", "external_id": "R-1", "site": "BRE-001",
            "received_at": long_ago.isoformat(), "channel": "in_person", "score": 1,
            "scale": "nps", "contact_consent": True, "contact": "06 01 02 03 04",
        }])  # fmt: skip
        case_id = db.session.query(FeedbackCase.id).scalar()
        db.session.commit()
        db.session.remove()
    page = _login(open_page, email)
    line = page.locator('[data-kind="case_escalated"]')
    assert line.count() == 1
    assert "Escalated to you: case" in line.inner_text() and "BRE-001" in line.inner_text()
    check_page(page, "mobile")
    save_screenshot(page, "feedback-regional-home-mobile")
    line.get_by_role("link").click()
    page.wait_for_url(re.compile(rf"/cases/{case_id}$"))
    check_page(page, "mobile")


def test_feedback_pages_hold_on_a_phone(app, open_page):
    """The counter note, the file import, the figures and the irritant counts: axe and
    375 px on each; a counter note from an unhappy customer opens a case."""
    with app.app_context():
        site = make_site("ARA-001", make_region("Auvergne-Rhône-Alpes"), name="Agence Lyon")
        email = make_user("admin", name="Bureau de programme").email
        make_user("site_manager", site_id=site.id)
    page = _login(open_page, email)

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
