"""The programme office finds a site with the live search, opens it and renames it (375 px)."""

from __future__ import annotations

import re

from tests.browser.support import (
    assert_no_horizontal_overflow,
    check_accessibility,
    save_screenshot,
)
from tests.factories import PASSWORD, make_region, make_site, make_user


def _visit_checks(page) -> None:
    check_accessibility(page)
    assert_no_horizontal_overflow(page)


def test_admin_finds_and_renames_a_site_on_a_phone(app, open_page):
    with app.app_context():
        email = make_user("admin").email
        region = make_region("Bretagne")
        make_site("BRE-001", region, name="Agence de Brest Siam", city="Brest")
        make_site("LYO-001", name="Agence de Lyon Part-Dieu", city="Lyon")
        make_site("MAR-001", name="Plateforme Marseille", city="Marseille", type="call_centre")
    page = open_page("mobile")

    page.goto("/login")
    _visit_checks(page)
    page.locator("#email").fill(email)
    page.locator("#password").fill(PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/$"))
    _visit_checks(page)

    page.locator("header nav").get_by_role("link", name="Sites", exact=True).click()
    page.wait_for_url(re.compile(r"/sites$"))
    rows = page.locator("#site-results tbody tr")
    assert rows.count() == 3
    _visit_checks(page)

    # Live search: htmx swaps the results in place; a full reload would drop the marker.
    page.evaluate("window.__samePage = true")
    with page.expect_response(
        lambda r: "/sites?" in r.url and r.request.headers.get("hx-request") == "true"
    ) as search:
        page.get_by_role("search").get_by_label("Search by code, name or city").press_sequentially(
            "brest"
        )
    assert search.value.ok
    page.wait_for_function("document.querySelectorAll('#site-results tbody tr').length === 1")
    assert page.evaluate("window.__samePage === true")
    assert rows.first.get_by_role("link").inner_text() == "BRE-001"
    assert "q=brest" in page.url  # hx-push-url: the search can be bookmarked
    _visit_checks(page)

    rows.first.get_by_role("link", name="BRE-001").click()
    page.wait_for_url(re.compile(r"/sites/\d+$"))
    assert "Agence de Brest Siam" in page.locator("h1").inner_text()
    _visit_checks(page)

    page.locator("main .page-actions").get_by_role("button", name="Edit").click()
    page.wait_for_url(re.compile(r"/sites/\d+/edit$"))
    _visit_checks(page)
    page.locator("#name").fill("Agence de Brest Jaurès")
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/sites/\d+$"))

    assert "Agence de Brest Jaurès" in page.locator("h1").inner_text()
    assert page.get_by_role("status").inner_text() == "Site BRE-001 saved."
    _visit_checks(page)
    save_screenshot(page, "sites-admin-mobile")


def test_admin_creates_a_site_in_a_new_region_after_confirming_it(app, open_page):
    """The new region's name and confirmation appear only with "New region…" chosen (the
    refusals without confirmation are in tests/web/test_site_regions.py)."""
    with app.app_context():
        email = make_user("admin").email
        make_region("Bretagne")
    page = open_page("mobile")
    page.goto("/login")
    page.locator("#email").fill(email)
    page.locator("#password").fill(PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/$"))

    page.goto("/sites/new")
    new_region = page.locator("fieldset.new-region")
    assert new_region.is_hidden()  # nothing chosen yet: only the list
    _visit_checks(page)
    page.locator("#code").fill("OCC-001")
    page.locator("#name").fill("Agence Toulouse Capitole")
    page.locator("#type").select_option("branch")
    page.locator("#region").select_option("__new__")
    assert new_region.is_visible()
    page.locator("#new_region").fill("Occitanie")
    _visit_checks(page)
    page.locator("#confirm_new_region").check()
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/sites/\d+$"))
    assert page.get_by_role("status").inner_text() == "Site OCC-001 created."
    assert "Occitanie" in page.locator("main").inner_text()

    page.goto("/sites/new")
    page.locator("#region").select_option("Bretagne")
    assert new_region.is_hidden()
