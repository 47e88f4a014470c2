"""An executive on a phone reads the programme at a glance on their home page, opens a
region report, then the story of one site, down to its evidence."""

from __future__ import annotations

import re

from programme.extensions import db
from tests.browser.support import (
    assert_no_horizontal_overflow,
    check_accessibility,
    save_screenshot,
)
from tests.factories import PASSWORD, make_user
from tests.reports_factories import build_programme


def _checks(page) -> None:
    check_accessibility(page)
    assert_no_horizontal_overflow(page)


def test_executive_home_to_region_to_site_story(app, open_page):
    with app.app_context():
        programme = build_programme()
        email = make_user("executive", name="Claire Direction").email
        n1 = programme.sites["N1"]
        nord = programme.nord_id
        db.session.remove()

    page = open_page("mobile")
    page.goto("/login")
    page.locator("#email").fill(email)
    page.locator("#password").fill(PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/$"))
    main = page.locator("main")
    assert "Programme at a glance" in main.inner_text()
    funnel = page.locator("#funnel-table").inner_text()
    assert re.search(r"Live\s+3\s+50%", funnel)
    # The charts are drawn (vega-embed) next to their tables.
    page.locator(
        "[data-vl-spec=funnel-spec] svg, [data-vl-spec=funnel-spec] canvas"
    ).first.wait_for()
    # On a phone the waves' timeline gives way to the wave table, read as cards.
    assert page.locator(".timeline-chart").first.is_hidden()
    assert page.locator("table.wave-table").first.is_visible()
    assert "Red" in page.locator(".wave-table").inner_text()
    _checks(page)
    save_screenshot(page, "reports-executive-home-mobile")

    page.locator("#region-table").get_by_role("link", name="Nord").click()
    page.wait_for_url(re.compile(rf"/reports/regions/{nord}$"))
    assert "Region report: Nord" in page.locator("h1").inner_text()
    assert "3.5/5" in page.locator("#region-engagement").inner_text()
    page.locator(
        "[data-vl-spec=trend-spec-1] svg, [data-vl-spec=trend-spec-1] canvas"
    ).first.wait_for()
    _checks(page)
    save_screenshot(page, "reports-region-mobile")

    page.locator("#site-table").get_by_role("link", name=re.compile("NOR-N1")).click()
    page.wait_for_url(re.compile(rf"/reports/sites/{n1}$"))
    assert "The story of NOR-N1" in page.locator("h1").inner_text()
    assert "Pilot site of “Accueil”" in page.locator("#pilot-roles").inner_text()
    _checks(page)
    save_screenshot(page, "reports-site-story-mobile")

    # Down to the evidence: the site's KPI series.
    page.get_by_role("link", name="Weekly series and measurements of this site").click()
    page.wait_for_url(re.compile(rf"/sites/{n1}/kpis"))
