"""Each role's main task from its home, on a 375 px phone (issue 16): the coach opens the
overdue site from "What needs you today", ticks an element and logs the visit (the line
goes); the site manager follows "days missing" into the grid and enters yesterday's
figure; the diagnostician opens the session still without findings and records one;
everyone sets their e-mail digest on the account page. Each page: axe, no overflow."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from programme.deployment.models import Visit
from programme.extensions import db
from programme.jobs.models import Job
from tests.browser.support import check_page, save_screenshot
from tests.deployment_factories import assign, make_coach, make_package, make_sites, make_wave
from tests.diagnostics_factories import make_campaign, make_observation
from tests.factories import PASSWORD, make_region, make_site, make_user
from tests.kpi_factories import default_kpis, item, put

TODAY = date.today()


def _log_in(page, email: str) -> None:
    page.goto("/login")
    page.locator("#email").fill(email)
    page.locator("#password").fill(PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/$"))


def test_coach_goes_from_the_overdue_visit_to_the_site_and_ticks(app, open_page):
    with app.app_context():
        package = make_package(3)
        late, fine = make_sites(2, prefix="PHO")
        start = TODAY - timedelta(days=40)
        wave = make_wave(package, [late, fine], start=start, go_live=TODAY + timedelta(days=20))
        user = make_user("coach", name="Sophie Coach", language="en")
        coach = make_coach(user=user, name="Sophie Coach", secondment_end=None)
        for site in (fine, late):
            assign(wave, site, coach, start=start, end=TODAY + timedelta(days=50))
        for site, days in ((late, 18), (fine, 2)):
            db.session.add(
                Visit(
                    wave_id=wave.id,
                    site_id=site.id,
                    coach_id=coach.id,
                    visited_on=TODAY - timedelta(days=days),
                    duration_minutes=60,
                    worked_on="Accueil",
                )
            )
        db.session.commit()
        email, wave_id, site_id, code = user.email, wave.id, late.id, late.code
        db.session.remove()

    page = open_page("mobile")
    _log_in(page, email)
    first = page.locator(".today-line").first
    assert f"Visit overdue at {code}" in first.inner_text()
    check_page(page, "mobile")
    save_screenshot(page, "home-coach-mobile")

    first.get_by_role("link").click()
    page.wait_for_url(re.compile(rf"/waves/{wave_id}/sites/{site_id}$"))
    check_page(page, "mobile")
    page.locator(".checklist-item").first.get_by_role("button", name="In place").click()
    page.locator(".checklist-item").first.locator(
        "button[aria-pressed=true]", has_text="In place"
    ).wait_for()
    page.locator("#duration_minutes").fill("60")
    page.locator("#worked_on").fill("Accueil au flux")
    page.get_by_role("button", name="Save the visit").click()
    page.wait_for_url(re.compile(rf"/waves/{wave_id}/sites/{site_id}$"))
    assert "Visit recorded." in page.locator(".flashes").inner_text()

    page.goto("/")
    assert "Visit overdue" not in page.locator("main").inner_text()
    check_page(page, "mobile")


def test_site_manager_follows_missing_days_into_the_grid(app, open_page):
    with app.app_context():
        admin = make_user("admin")
        default_kpis()
        site = make_site("MOB-001", make_region("Bretagne"), name="Boutique Rennes")
        rows = []
        day = TODAY - timedelta(days=42)
        while day < TODAY - timedelta(days=1):  # every day but yesterday
            rows.append(item(site, day=day, value=9.5, n=40))
            day += timedelta(days=1)
        put(admin, rows)
        manager = make_user("site_manager", site_id=site.id, language="en")
        email, code = manager.email, site.code
        db.session.remove()

    page = open_page("mobile")
    _log_in(page, email)
    line = page.locator(".today-line", has_text="Waiting time:")
    assert "missing" in line.inner_text()
    check_page(page, "mobile")
    save_screenshot(page, "home-site-manager-mobile")

    line.get_by_role("link").click()
    page.wait_for_url(re.compile(r"/measurements/grid\?kpi=WAIT&week=\d{4}-W\d{2}$"))
    yesterday = (TODAY - timedelta(days=1)).isoformat()
    # On a phone the week grid gives way to one site and one day, the KPIs as rows.
    page.goto(f"/measurements/grid?view=day&site={code}&date={yesterday}")
    check_page(page, "mobile")
    wait = f"#c-WAIT-{code}-{yesterday}"
    page.locator(f"{wait}-v").fill("8.5")
    page.locator(f"{wait}-n").fill("35")
    page.keyboard.press("Tab")  # leaving the row saves it
    page.locator(f"{wait}.cell-saved").wait_for()
    page.goto("/")
    assert "Waiting time:" not in page.locator("main").inner_text()
    check_page(page, "mobile")


def test_diagnostician_records_a_finding_from_the_home(app, open_page):
    with app.app_context():
        me = make_user("diagnostician", name="Claire Diagnostic", language="en")
        region = make_region("Grand Est")
        site = make_site("GES-901", region, name="Agence Metz")
        campaign = make_campaign(
            sites=[site],
            site_types=("branch",),
            channels=("in_person", "phone"),
            lead=me,
            name="Campagne en cours",
            start=TODAY - timedelta(days=10),
            end=TODAY + timedelta(days=20),
        )
        obs = make_observation(campaign, site, observer=me, observed_on=TODAY - timedelta(days=1))
        email, obs_id = me.email, obs.id
        db.session.remove()

    page = open_page("mobile")
    _log_in(page, email)
    assert "Campagne en cours" in page.locator("#in-progress-title + ul").inner_text()
    check_page(page, "mobile")
    save_screenshot(page, "home-diagnostician-mobile")

    page.locator(".today-line", has_text="has no finding recorded yet").get_by_role("link").click()
    page.wait_for_url(re.compile(rf"/diagnostics/sessions/{obs_id}/edit$"))
    check_page(page, "mobile")
    prefix = "#findings-0-"
    page.locator(prefix + "journey_step").select_option("waiting")
    page.locator(prefix + "outcome").select_option("degraded")
    page.locator(prefix + "cause").select_option("ergonomic")
    page.locator(prefix + "severity").select_option("3")
    page.locator(prefix + "occurrences").fill("4")
    page.locator(prefix + "description").fill("Aucun affichage du temps d'attente")
    page.get_by_role("button", name=re.compile("Save")).first.click()
    page.wait_for_url(re.compile(rf"/diagnostics/sessions/{obs_id}$"))
    assert "Aucun affichage du temps d'attente" in page.locator("main").inner_text()
    page.goto("/")
    assert "has no finding recorded yet" not in page.locator("main").inner_text()
    check_page(page, "mobile")


def test_digest_preference_on_the_account_page(app, open_page):
    with app.app_context():
        email = make_user("coach", language="en").email
        db.session.remove()

    page = open_page("mobile")
    _log_in(page, email)
    page.goto("/account")
    section = page.locator("#digest")
    assert "E-mail is not set up on this server yet" in section.inner_text()
    check_page(page, "mobile")
    # Bad input (an hour of 25, an unknown time zone: 422, message, nothing saved) is
    # covered in tests/web/test_home_pages.py: a 422 page is a console error here.
    section.get_by_label("Every Monday").check()
    section.get_by_label("Hour (0–23)").fill("8")
    section.get_by_label("Time zone").fill("Europe/Paris")
    with page.expect_navigation():
        page.locator("#digest").get_by_role("button", name="Save the digest").click()
    assert (
        "Digest saved: every Monday at 8:00 (Europe/Paris)."
        in page.locator(".flashes").inner_text()
    )
    check_page(page, "mobile")
    save_screenshot(page, "account-digest-mobile")


@pytest.mark.parametrize("role", ["admin", "pilot_team", "executive", "site_manager"])
def test_every_home_fits_a_phone(app, open_page, role):
    """The other homes, with something on them: wave alerts (a site past go-live below
    80 %), a pilot awaiting its decision, a failed job."""
    with app.app_context():
        package = make_package(2)
        (site,) = make_sites(1, prefix="FIT")
        make_wave(
            package, [site], start=TODAY - timedelta(days=60), go_live=TODAY - timedelta(days=5)
        )
        db.session.add(
            Job(kind="kpi_import", status="failed", error="ValueError: fichier illisible")
        )
        db.session.commit()
        if role == "pilot_team":
            from programme.pilots.models import Pilot
            from tests.pilot_factories import make_pilot, measured_sites

            admin = make_user("admin")
            measured_sites(admin)
            pilot = make_pilot(admin)
            db.session.get(Pilot, pilot.id).stage = "evaluating"
            db.session.commit()
        extra = {"site_id": site.id} if role == "site_manager" else {}
        email = make_user(role, language="en", **extra).email
        db.session.remove()

    page = open_page("mobile")
    _log_in(page, email)
    if role != "executive":
        assert page.locator(".today-line").count() >= 1
    check_page(page, "mobile")
    save_screenshot(page, f"home-{role}-mobile")
