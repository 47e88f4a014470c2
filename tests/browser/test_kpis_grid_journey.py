"""A pilot team member enters a week of measurements in the grid with the keyboard: a
value that came from a feed is marked with its source, a typo is shown inside its cell and
then fixed, a correction asks for its reason; on a phone, the same person enters one site
and one day at a time."""

from __future__ import annotations

import re
from datetime import timedelta

from flask_babel import force_locale
from playwright.sync_api import expect
from sqlalchemy import select

from tests.browser.support import (
    SCREENSHOTS,
    assert_no_horizontal_overflow,
    check_page,
    save_screenshot,
)
from tests.factories import PASSWORD, make_region, make_site, make_user
from tests.kpi_factories import MONDAY, assign, default_kpis, item, put

WEEK = f"{MONDAY.isocalendar()[0]}-W{MONDAY.isocalendar()[1]:02d}"
DAY = MONDAY.isoformat()


def _world(app):
    with app.app_context():
        default_kpis()
        region = make_region("Bretagne")
        sites = [make_site(f"BRE-00{i}", region, name=f"Agence {i}") for i in (1, 2, 3)]
        pilot = make_user("pilot_team")
        for site in sites:
            assign(pilot, site)
        with force_locale("en"):
            put(make_user("admin"), [item(sites[0], value=7.8, n=50)], source="qms-feed")
        return pilot.email


def _screenshot(page, name: str) -> None:
    """Playwright hides the caret with an inline style on the focused input by default;
    htmx would copy that style attribute when it swaps the cell (a CSP violation that only
    the test causes), so keep the caret."""
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True, caret="initial")


def _login(page, email):
    page.goto("/login")
    page.locator("#email").fill(email)
    page.locator("#password").fill(PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/$"))


def _current(app, site_code, day=MONDAY):
    from programme.extensions import db
    from programme.kpis.models import Measurement
    from programme.network.models import Site

    with app.app_context():
        return db.session.execute(
            select(Measurement.value, Measurement.n, Measurement.source)
            .join(Site, Site.id == Measurement.site_id)
            .where(Site.code == site_code, Measurement.period_date == day)
        ).one_or_none()


def test_keyboard_entry_an_error_fixed_and_a_correction_with_its_reason(app, open_page):
    email = _world(app)
    page = open_page("desktop", expected_statuses=(422,))
    page.set_viewport_size({"width": 1366, "height": 900})
    posts: list[str] = []
    page.on(
        "request",
        lambda r: posts.append(r.url) if r.url.endswith("/measurements/grid/cell") else None,
    )
    _login(page, email)
    page.goto(f"/measurements/grid?kpi=WAIT&week={WEEK}")
    # seven days fit a 1,366 px screen: neither the page nor the table scrolls sideways
    assert_no_horizontal_overflow(page, 1366)
    scroll = page.locator(".grid-week")
    assert scroll.evaluate("e => e.scrollWidth <= e.clientWidth"), "the grid scrolls sideways"
    check_page(page, "desktop")

    # the feed's value is shown, marked with its source
    feed = page.locator(f"#c-WAIT-BRE-001-{DAY}")
    assert feed.locator("input[name=value]").input_value() == "7.8"
    assert "qms-feed" in feed.locator(".cell-source").get_attribute("title")

    # keyboard: a typo, Tab to n (nothing sent yet), Enter goes down and saves the cell
    cell = f"#c-WAIT-BRE-002-{DAY}"
    page.locator(f"{cell}-v").click()
    page.keyboard.type("abc")
    page.keyboard.press("Tab")
    page.keyboard.type("40")
    page.wait_for_timeout(300)
    assert posts == []
    page.keyboard.press("Enter")
    error = page.locator(f"{cell}-e")
    error.wait_for()
    assert "Not a number." in error.inner_text()
    assert error.get_attribute("aria-live") == "assertive"
    value = page.locator(f"{cell}-v")
    assert value.get_attribute("aria-invalid") == "true"
    assert f"{cell[1:]}-e" in value.get_attribute("aria-describedby")
    assert value.input_value() == "abc"  # what was typed stays
    assert page.evaluate("document.activeElement.id") == f"c-WAIT-BRE-003-{DAY}-n"
    assert _current(app, "BRE-002") is None
    check_page(page, "desktop")
    _screenshot(page, "grid-error")

    # fixed: the message goes, the value is saved
    value.click()
    value.fill("6,5")
    page.keyboard.press("ArrowDown")
    page.locator(f"{cell}.cell-saved").wait_for()
    assert page.locator(f"{cell}-e").count() == 0
    assert _current(app, "BRE-002") == (6.5, 40, "form")
    assert len(posts) == 2

    # a correction of the feed's value asks for its reason, prefilled and editable
    page.locator(f"#c-WAIT-BRE-001-{DAY}-v").fill("6.8")
    page.locator(f"#c-WAIT-BRE-001-{DAY}-n").fill("120")
    page.keyboard.press("ArrowDown")
    reason = page.locator(f"#c-WAIT-BRE-001-{DAY}-r")
    reason.wait_for()
    assert reason.input_value() == "Corrected in the entry grid"
    expect(reason).to_be_focused()  # focused once the cell is swapped in (retried)
    assert _current(app, "BRE-001") == (7.8, 50, "qms-feed")  # nothing written yet
    check_page(page, "desktop")
    _screenshot(page, "grid-correction")
    reason.fill("Recount of the queue")
    reason.press("Enter")
    page.locator(f"#c-WAIT-BRE-001-{DAY}.cell-saved").wait_for()
    assert _current(app, "BRE-001") == (6.8, 120, "form")
    with app.app_context():
        from programme.extensions import db
        from programme.kpis.models import MeasurementRevision

        revision = db.session.scalars(select(MeasurementRevision)).one()
        assert (revision.source, revision.value, revision.reason) == (
            "qms-feed",
            7.8,
            "Recount of the queue",
        )


def test_the_phone_form_one_site_one_day(app, open_page):
    email = _world(app)
    page = open_page("mobile")
    _login(page, email)
    page.goto(f"/measurements/grid?kpi=WAIT&week={WEEK}")
    check_page(page, "mobile")
    assert not page.locator(".grid-week").is_visible()
    page.locator(".grid-phone").get_by_role("link", name=re.compile("BRE-001")).click()
    page.wait_for_url(re.compile(r"view=day"))
    check_page(page, "mobile")
    save_screenshot(page, "grid-day-phone")
    shown = page.url.split("date=")[1][:10]

    # the KPIs are the rows; the feed's value for WAIT is there when the day is Monday
    page.goto(f"/measurements/grid?view=day&site=BRE-001&date={DAY}")
    check_page(page, "mobile")
    wait = page.locator(f"#c-WAIT-BRE-001-{DAY}")
    assert wait.locator("input[name=value]").input_value() == "7.8"
    conv = f"#c-CONV-BRE-001-{DAY}"
    page.locator(f"{conv}-v").fill("0,42")
    page.locator(f"{conv}-n").fill("80")
    page.keyboard.press("Enter")
    page.locator(f"{conv}.cell-saved").wait_for()
    assert_no_horizontal_overflow(page)

    # previous and next day
    page.get_by_role("button", name=re.compile("Previous day")).click()
    before = (MONDAY - timedelta(days=1)).isoformat()
    page.wait_for_url(re.compile(f"date={before}"))
    check_page(page, "mobile")
    page.get_by_role("button", name=re.compile("Next day")).click()
    page.wait_for_url(re.compile(f"date={DAY}"))
    assert shown  # the grid's phone link opened a day of the shown week


def test_seven_days_fit_1366_px_in_french_with_the_source_tooltip(app, open_page):
    email = _world(app)
    page = open_page("desktop", locale="fr-FR")
    page.set_viewport_size({"width": 1366, "height": 900})
    _login(page, email)
    page.goto(f"/measurements/grid?kpi=CONV&week={WEEK}")
    assert "Plage valide\u202f: de 0 à 1." in page.locator("#grid-help").inner_text()
    page.goto(f"/measurements/grid?kpi=WAIT&week={WEEK}")
    assert_no_horizontal_overflow(page, 1366)
    assert page.locator(".grid-week").evaluate("e => e.scrollWidth <= e.clientWidth")
    title = page.locator(f"#c-WAIT-BRE-001-{DAY} .cell-source").get_attribute("title")
    assert title.startswith("Provient de «\u00a0qms-feed\u00a0», saisie par ")
    check_page(page, "desktop")
