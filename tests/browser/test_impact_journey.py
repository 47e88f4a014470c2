"""An executive opens the deployment impact, reads the estimate and the chart, changes the
window (htmx updates the result region), narrows to a region and reads the table fallback."""

from __future__ import annotations

import re

import pytest

from programme.extensions import db
from tests.browser.support import (
    assert_no_horizontal_overflow,
    check_accessibility,
    save_screenshot,
)
from tests.factories import PASSWORD, make_user
from tests.integration.test_impact import MONDAYS, build


def _settled(page) -> None:
    """No htmx request in flight (Enter in the window field sends change, then submit)."""
    page.locator(".htmx-request").first.wait_for(state="detached")


def _checks(page, viewport) -> None:
    _settled(page)
    check_accessibility(page)
    if viewport == "mobile":
        assert_no_horizontal_overflow(page)


@pytest.mark.parametrize("viewport", ["mobile", "desktop"])
def test_executive_reads_the_deployment_impact(app, open_page, viewport):
    with app.app_context():
        build(MONDAYS[:2], sites_per_wave=4, never=6)
        executive = make_user("executive")
        email = executive.email
        db.session.remove()

    page = open_page(viewport)
    page.goto("/login")
    page.locator("#email").fill(email)
    page.locator("#password").fill(PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/$"))

    page.goto("/reports/impact/")
    reading = page.get_by_test_id("impact-reading")
    assert reading.inner_text().startswith(
        "Waiting time: sites that deployed the package lowered it by"
    )
    assert "over 8 weeks, 2 waves" in reading.inner_text()
    page.locator("[data-vl-spec] canvas, [data-vl-spec] svg").first.wait_for()
    _checks(page, viewport)
    save_screenshot(page, f"impact-{viewport}")

    # A shorter window: htmx replaces the result region and the URL follows.
    page.locator("#impact-window").fill("4")
    page.locator("#impact-window").press("Enter")
    page.get_by_test_id("impact-reading").filter(has_text="over 4 weeks").wait_for()
    page.wait_for_url(re.compile(r"window_weeks=4"))
    page.locator("[data-vl-spec] canvas, [data-vl-spec] svg").first.wait_for()
    _checks(page, viewport)

    # One region's deployed sites against the same comparison sites.
    _settled(page)
    page.locator("#impact-region").select_option(label="Nord")
    page.get_by_test_id("impact-reading").filter(has_text="Waiting time, Nord:").wait_for()
    _settled(page)
    assert "Waiting time, Nord:" in page.get_by_test_id("impact-reading").inner_text()

    # The chart's figures as a table.
    page.get_by_text("Show the figures as a table").click()
    table = page.locator("details.series-table table")
    assert "Deployed sites" in table.inner_text()
    assert "Sites not yet deployed" in table.inner_text()
    _checks(page, viewport)
