"""Finance on a phone (375 px): sets a value driver, reads the value page (chart, totals with
their interval, the deployed sites as cards), then signs off gate L5 — refused first without
evidence, then accepted because the deployment effect's interval excludes 0. Every page: no
console error, axe-core clean, nothing wider than the screen. Screenshots of the value page
at 375 and 1366 px, in English and French (tests/browser/screenshots/)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from programme.auth.models import User
from programme.extensions import db
from programme.pilots.models import Package
from programme.value import services
from tests.browser.support import check_page, save_screenshot
from tests.factories import PASSWORD, make_user
from tests.value_factories import valued_network


def _login(page, email: str) -> None:
    page.goto("/login")
    page.locator("#email").fill(email)
    page.locator("#password").fill(PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/$"))


def _chart_drawn(page) -> None:
    page.locator("[data-vl-spec] svg").first.wait_for()


def test_finance_sets_a_driver_reads_the_value_and_signs_off_l5(app, open_page):
    with app.app_context():
        package, _sites, _live = valued_network(driver=False)
        package_id, package_name = package.id, package.name
        email = make_user("finance").email
        admin_id = make_user("admin").id
        db.session.remove()

    page = open_page("mobile", expected_statuses=(422,))
    _login(page, email)
    check_page(page, "mobile")

    # Home → value drivers → a new driver: €0.30 / 0.50 / 0.60 per minute of waiting per visit.
    page.locator("main").get_by_role("button", name="Value drivers").click()
    page.locator("main").get_by_role("button", name="New value driver").click()
    page.locator("#package").select_option(str(package_id))
    page.locator("#kpi").select_option("WAIT")
    page.locator("#volume_kpi").select_option("VISITS")
    page.locator("#lever").select_option("cost")
    page.locator("#unit_low").fill("0.30")
    page.locator("#unit_most_likely").fill("0.50")
    page.locator("#unit_high").fill("0.60")
    page.locator("#source").fill("Contrôle de gestion 2026")
    check_page(page, "mobile")
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/value/drivers$"))
    assert "Value driver saved." in page.inner_text("body")
    check_page(page, "mobile")

    # The value page, from the home: totals with their interval, the chart, sites as cards.
    page.goto("/")
    page.locator("main").get_by_role("button", name="Value", exact=True).click()
    page.wait_for_url(re.compile(r"/value/$"))
    totals = page.get_by_test_id("value-totals").inner_text()
    assert re.search(r"Estimate\s+€[\d,]+\.\d\d \(P10 €[\d,]+\.\d\d – P90 €[\d,]+\.\d\d\)", totals)
    assert re.search(r"Actual\s+€[\d,]+\.\d\d \(95 % interval €", totals)
    _chart_drawn(page)
    sites = page.get_by_test_id("value-sites")
    assert sites.locator("td[data-label='Actual']").first.is_visible()
    check_page(page, "mobile")
    save_screenshot(page, "value-mobile-en")
    page.set_viewport_size({"width": 1366, "height": 900})
    save_screenshot(page, "value-desktop-en")
    page.set_viewport_size({"width": 375, "height": 812})

    # Drill-down: the deployment impact behind Δ.
    assert "Effect behind Δ (deployment impact)" in page.inner_text("main")
    page.get_by_role("link", name="See the impact behind Δ").click()
    page.wait_for_url(re.compile(r"/reports/impact/\?kpi=WAIT"))
    assert page.get_by_test_id("impact-reading").inner_text().startswith("Waiting time:")
    page.locator("[data-vl-spec] svg").first.wait_for()
    check_page(page, "mobile")
    # …and to a deployed site's story.
    page.go_back()
    page.get_by_test_id("value-sites").get_by_role("link").first.click()
    page.wait_for_url(re.compile(r"/reports/sites/\d+"))
    check_page(page, "mobile")

    # The package reaches L4 (the programme office's moves), then finance signs off L5.
    with app.app_context():
        admin = db.session.get(User, admin_id)
        pkg = db.session.get(Package, package_id)
        for gate in ("L1", "L2", "L3", "L4"):
            services.move_gate(db.session, admin, pkg, gate, f"to {gate}")
        db.session.commit()
        db.session.remove()
    page.goto("/")
    page.get_by_test_id("value-gates").get_by_role("link", name=package_name).click()
    assert "Current gate: L4 – deploying (actuals accrue)." in page.inner_text("main")
    page.locator("#to").select_option("L5")
    page.locator("#comment").fill("Value confirmed on the 2025 accounts")
    page.locator("main form button[type=submit]").click()
    page.get_by_text("Signing off L5 needs the evidence (a document or a link).").wait_for()
    check_page(page, "mobile")
    page.locator("#evidence").fill("https://intranet.example/controle/2025-value.pdf")
    page.locator("main form button[type=submit]").click()
    page.get_by_text("Gate moved to L5.").wait_for()
    assert "Current gate: L5 – value confirmed (signed off by finance)." in page.inner_text("main")
    check_page(page, "mobile")


@pytest.mark.parametrize("viewport", ["mobile", "desktop"])
def test_the_value_page_in_french(app, open_page, viewport):
    with app.app_context():
        valued_network()
        email = make_user("executive").email
        db.session.remove()
    page = open_page(viewport, locale="fr-FR")
    _login(page, email)
    line = page.get_by_test_id("value-to-date")
    assert "Valeur à date" in line.inner_text()
    assert re.search(
        r"Réalisée [\d\s]+,\d\d\s€ \(P10 [\d\s]+,\d\d\s€ – P90 [\d\s]+,\d\d\s€\)", line.inner_text()
    )
    check_page(page, viewport)
    line.screenshot(
        path=str(
            save_screenshot(page, f"home-executive-{viewport}-fr").with_name(
                f"value-to-date-{viewport}-fr.png"
            )
        )
    )
    page.get_by_test_id("value-to-date").get_by_role("link", name="Voir la valeur").click()
    page.wait_for_url(re.compile(r"/value/$"))
    totals = page.get_by_test_id("value-totals").inner_text()
    assert "Estimée" in totals and "Réalisée" in totals and "€" in totals
    _chart_drawn(page)
    check_page(page, viewport)
    if viewport == "desktop":
        page.set_viewport_size({"width": 1366, "height": 900})
    save_screenshot(page, f"value-{viewport}-fr")
    with app.app_context():
        assert db.session.scalar(select(Package.id)) is not None


@pytest.mark.parametrize(("viewport", "locale"), [("mobile", "fr-FR"), ("desktop", "en-GB")])
def test_a_pilots_results_show_its_projected_annual_value(app, open_page, viewport, locale):
    from datetime import date, timedelta

    from sqlalchemy import insert

    from programme.kpis.models import Kpi, Measurement
    from programme.kpis.services import rebuild_rollups
    from tests.pilot_factories import make_pilot, measured_sites

    with app.app_context():
        admin = make_user("admin")
        sites = measured_sites(admin)
        pilot = make_pilot(admin)
        pilot_id = pilot.id
        package = Package(pilot_id=pilot.id, name="Accueil repensé")
        db.session.add(package)
        visits = db.session.scalar(select(Kpi.id).where(Kpi.code == "VISITS"))
        first = date.today().replace(day=1) - timedelta(days=60)
        db.session.execute(insert(Measurement), [
            {"site_id": s.id, "kpi_id": visits, "period_date": first + timedelta(days=i), "source": "test",
             "value": 50.0, "n": 1, "revision": 1, "entered_by": "test"}
            for s in sites.values() for i in range(45)
        ])  # fmt: skip
        rebuild_rollups(db.session)
        services.save_driver(db.session, {"package": package.id, "kpi": "WAIT", "volume_kpi": "VISITS", "lever": "cost",
                                          "unit_low": 0.3, "unit_most_likely": 0.5, "unit_high": 0.6, "source": "test"})  # fmt: skip
        db.session.commit()
        email = make_user("executive").email
        db.session.remove()
    page = open_page(viewport, locale=locale)
    _login(page, email)
    page.goto(f"/pilots/{pilot_id}/results")
    section = page.get_by_test_id("pilot-value")
    text = section.inner_text()
    if locale == "fr-FR":
        assert "Valeur annuelle projetée sur tout le réseau" in text and "par an" in text
    else:
        assert re.search(
            r"worth €[\d,]+\.\d\d \(P10 €[\d,]+\.\d\d – P90 €[\d,]+\.\d\d\) a year", text
        )
    check_page(page, viewport)
    if viewport == "desktop":
        page.set_viewport_size({"width": 1366, "height": 900})
    section.screenshot(
        path=str(
            save_screenshot(page, f"pilot-results-{viewport}").with_name(
                f"pilot-value-{viewport}.png"
            )
        )
    )
