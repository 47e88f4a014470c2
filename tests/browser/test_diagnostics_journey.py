"""Diagnostics in a real browser: a diagnostician records a session with ten findings on a
375 px screen (rows added inline by htmx, with the keyboard); the irritant Pareto renders
under the strict CSP and follows the filters; the synthesis prints."""

from __future__ import annotations

import re
from datetime import date

from playwright.sync_api import expect

from tests.browser.support import (
    assert_no_horizontal_overflow,
    check_accessibility,
    save_screenshot,
)
from tests.diagnostics_factories import make_campaign, make_irritant, make_observation
from tests.factories import PASSWORD, make_region, make_site, make_user


def _visit_checks(page, width: int | None = 375) -> None:
    check_accessibility(page)
    if width:
        assert_no_horizontal_overflow(page, width)


def _log_in(page, email: str) -> None:
    page.goto("/login")
    page.locator("#email").fill(email)
    page.locator("#password").fill(PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/$"))


STEPS = ["first_contact", "waiting", "needs_discovery", "advice_sale", "payment"]
CAUSES = ["technical", "ergonomic", "relational", "commercial"]


def _fill_row(page, index: int) -> None:
    prefix = f"#findings-{index}-"
    page.locator(prefix + "journey_step").select_option(STEPS[index % len(STEPS)])
    page.locator(prefix + "outcome").select_option("drop_off" if index % 3 == 0 else "degraded")
    page.locator(prefix + "cause").select_option(CAUSES[index % len(CAUSES)])
    page.locator(prefix + "severity").select_option(str(index % 4 + 1))
    page.locator(prefix + "occurrences").fill(str(index + 1))
    page.locator(prefix + "description").fill(f"Constat n°{index + 1} observé en agence")


def test_diagnostician_records_ten_findings_on_a_phone(app, open_page):
    with app.app_context():
        diagnostician = make_user("diagnostician", name="Claire Diagnostic")
        region = make_region("Bretagne")
        site = make_site("BRE-001", region, name="Agence Brest Siam")
        campaign = make_campaign(
            sites=[site],
            site_types=("branch",),
            channels=("in_person",),
            lead=diagnostician,
            name="Printemps",
            start=date(2026, 3, 2),
            end=date(2026, 3, 31),
        )
        email, campaign_id = diagnostician.email, campaign.id
    page = open_page("mobile")

    _log_in(page, email)
    _visit_checks(page)
    page.locator("header nav").get_by_role("link", name="Diagnostics", exact=True).click()
    page.wait_for_url(re.compile(r"/diagnostics/$"))
    _visit_checks(page)
    page.get_by_role("link", name="Printemps").click()
    page.wait_for_url(re.compile(rf"/diagnostics/campaigns/{campaign_id}$"))
    _visit_checks(page)
    page.get_by_role("button", name="Record a session").click()
    page.wait_for_url(re.compile(r"/sessions/new$"))
    _visit_checks(page)

    page.locator("#site_id").select_option(label="BRE-001 – Agence Brest Siam")
    page.locator("#observed_on").fill("2026-03-12")
    page.locator("#start_time").fill("09:30")
    page.locator("#end_time").fill("11:30")
    page.locator("#channel").select_option("in_person")
    page.locator("#interactions").fill("24")
    _fill_row(page, 0)

    # Nine more rows, each added with the keyboard: the new row arrives by htmx (no reload)
    # and the focus lands in its first field, ready to go on with Tab.
    page.evaluate("window.__samePage = true")
    add = page.get_by_role("button", name="Add a finding")
    rows = page.locator("#finding-rows fieldset.finding-row")
    for index in range(1, 10):
        add.focus()
        with page.expect_response(lambda r: "/finding-row?" in r.url) as added:
            page.keyboard.press("Enter")
        assert added.value.ok
        rows.nth(index).wait_for()
        assert rows.count() == index + 1
        expect(page.locator(f"#findings-{index}-journey_step")).to_be_focused()
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.id") == f"findings-{index}-outcome"
        _fill_row(page, index)
    assert page.evaluate("window.__samePage === true")
    assert page.locator("#next_index").input_value() == "10"
    _visit_checks(page)
    save_screenshot(page, "diagnostics-session-entry-mobile")

    page.get_by_role("button", name="Save the session").click()
    page.wait_for_url(re.compile(r"/diagnostics/sessions/\d+$"))
    assert page.get_by_role("status").inner_text() == "Session recorded with 10 findings."
    assert page.locator("main table tbody tr").count() == 10
    assert page.locator("h2").first.inner_text() == "10 findings"
    _visit_checks(page)
    save_screenshot(page, "diagnostics-session-saved-mobile")


def _campaign_with_irritants(app) -> tuple[str, int]:
    with app.app_context():
        coach = make_user("coach")
        north, south = make_region("Hauts-de-France"), make_region("Occitanie")
        lille = make_site("LIL-001", north, name="Agence Lille", channel_phone=True)
        toulouse = make_site("TLS-001", south, name="Boutique Toulouse", type="shop")
        campaign = make_campaign(sites=[lille, toulouse], regions=[north, south], name="Diagnostic")
        wait = make_irritant(
            campaign, "Attente sans information", stakes=["waiting_time"], determinants=["staffing"]
        )
        calls = make_irritant(campaign, "Appels non décrochés", stakes=["pick_up_rate"])
        greet = make_irritant(campaign, "Accueil tardif", stakes=["satisfaction"])
        make_observation(campaign, lille, interactions=20, findings=[
            {"irritant": wait, "occurrences": 8, "severity": 3},
            {"irritant": greet, "occurrences": 3, "severity": 2},
        ])  # fmt: skip
        make_observation(campaign, lille, channel="phone", interactions=30, findings=[
            {"irritant": calls, "occurrences": 12, "severity": 4, "outcome": "drop_off"},
        ])  # fmt: skip
        make_observation(campaign, toulouse, interactions=15, findings=[
            {"irritant": wait, "occurrences": 5, "severity": 2},
            {"irritant": greet, "occurrences": 6, "severity": 3},
        ])  # fmt: skip
        return coach.email, campaign.id


def test_pareto_renders_under_the_csp_and_follows_the_filters(app, open_page):
    email, campaign_id = _campaign_with_irritants(app)
    for viewport, width in (("desktop", None), ("mobile", 375)):
        page = open_page(viewport)
        _log_in(page, email)
        page.goto(f"/diagnostics/campaigns/{campaign_id}/irritants")
        page.wait_for_selector("#ranking-results .chart canvas, #ranking-results .chart svg")
        names = page.locator("table.ranking tbody tr td:nth-child(2)").all_inner_texts()
        assert names == ["Appels non décrochés", "Attente sans information", "Accueil tardif"]
        _visit_checks(page, width)
        save_screenshot(page, f"diagnostics-pareto-{viewport}")

    # a filter swaps the ranking in place (htmx) and the chart is drawn again
    page.evaluate("window.__samePage = true")
    with page.expect_response(
        lambda r: "/irritants?" in r.url and r.request.headers.get("hx-request") == "true"
    ):
        page.get_by_label("Channel").select_option("in_person")
    expect(page.locator("table.ranking tbody tr")).to_have_count(2)
    page.wait_for_selector(
        "#ranking-results .chart[data-vl-rendered] canvas, #ranking-results .chart[data-vl-rendered] svg"
    )
    assert page.evaluate("window.__samePage === true")
    names = page.locator("table.ranking tbody tr td:nth-child(2)").all_inner_texts()
    assert names == ["Attente sans information", "Accueil tardif"]
    assert "channel=in_person" in page.url
    _visit_checks(page)


def test_synthesis_reads_and_prints(app, open_page):
    email, campaign_id = _campaign_with_irritants(app)
    page = open_page("desktop")
    _log_in(page, email)
    page.goto(f"/diagnostics/campaigns/{campaign_id}/synthesis")
    assert page.locator("h1").inner_text().startswith("Diagnostic synthesis")
    top = page.locator("table.synthesis-top tbody tr")
    assert top.count() == 3
    assert "Staffing" in top.nth(1).inner_text()
    _visit_checks(page, None)
    page.emulate_media(media="print")
    assert not page.locator("header.app-header").is_visible()
    assert not page.get_by_role("button", name="Print").is_visible()
    save_screenshot(page, "diagnostics-synthesis-print")
