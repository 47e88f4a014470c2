"""At 375 px: an admin designs a pilot whose arms are drawn at random by matched pairs, the
sites' measurements are entered, and the results read the design-based randomization test
beside Welch; a one-site pilot reads its synthetic control (twin chart, placebo lines,
weights)."""

from __future__ import annotations

import re

from programme.extensions import db
from tests.browser.support import check_page, save_screenshot
from tests.factories import PASSWORD, make_user
from tests.pilot_factories import (
    BASELINE_END,
    BASELINE_START,
    PILOT_END,
    PILOT_START,
    make_pilot,
    measured_sites,
)


def test_randomized_design_and_small_n_results_at_375_px(app, open_page):
    viewport = "mobile"
    with app.app_context():
        admin = make_user("admin")
        measured_sites(admin)  # the sites' daily measurements over both periods
        one_site = make_pilot(admin, name="Un seul site", pilot_sites=("PIL-1",),
                              control_sites=("CTL-1", "CTL-2", "CTL-3", "CTL-4", "OTH-1"))  # fmt: skip
        email, one_site_id = admin.email, one_site.id
        db.session.remove()

    page = open_page(viewport)
    page.goto("/login")
    page.locator("#email").fill(email)
    page.locator("#password").fill(PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/$"))

    # Design: the arms are drawn at random from eight candidates (four matched pairs).
    page.goto("/pilots/new")
    page.locator("#name").fill("Accueil tiré au sort")
    page.locator("#baseline_start").fill(BASELINE_START.isoformat())
    page.locator("#baseline_end").fill(BASELINE_END.isoformat())
    page.locator("#pilot_start").fill(PILOT_START.isoformat())
    page.locator("#pilot_end").fill(PILOT_END.isoformat())
    page.locator("#kpi-WAIT").check()
    page.get_by_text("Draw the arms at random by matched pairs").click()
    page.locator("#candidate_sites").fill("PIL-1 PIL-2 PIL-3 PIL-4 CTL-1 CTL-2 CTL-3 CTL-4")
    page.locator("#seed").fill("7")
    page.get_by_role("button", name="Draw pilot and control sites").click()
    result = page.get_by_test_id("draw-result")
    result.wait_for()
    assert "Drawn with seed 7." in result.inner_text()
    pilots = page.locator("#pilot_sites").input_value().split()
    controls = page.locator("#control_sites").input_value().split()
    assert len(pilots) == 4 and len(controls) == 4
    # 4 pairs: 2 / 2^4 = 0.125, the power panel says this design can never reach 5 %
    assert "can never reach 5 %" in page.locator("#power").inner_text()
    check_page(page, viewport)
    save_screenshot(page, "pilot-draw-mobile")
    page.locator("#pilot-form button.save").click()
    page.wait_for_url(re.compile(r"/pilots/\d+$"))
    pilot_id = int(page.url.rsplit("/", 1)[1])

    page.get_by_role("link", name="Results").click()
    page.wait_for_url(re.compile(rf"/pilots/{pilot_id}/results$"))
    methods = page.get_by_test_id("methods-wait").inner_text()
    assert "Design-based randomization test" in methods and "Welch" in methods
    note = page.get_by_test_id("randomization-note").inner_text()
    assert "Exact: all 16 reassignments enumerated." in note
    assert "0.125" in note
    assert "smallest p-value this design can ever give is 0.125" in (
        page.locator(".reading").first.inner_text()
    )
    check_page(page, viewport)
    save_screenshot(page, "pilot-randomization-mobile")

    # One pilot site: its synthetic twin, the placebo lines and the weights.
    page.goto(f"/pilots/{one_site_id}/results")
    section = page.get_by_test_id("synthetic-wait")
    section.locator("[data-vl-spec] canvas, [data-vl-spec] svg").first.wait_for()
    assert section.locator("[data-vl-spec]").count() == 2
    weights = page.get_by_test_id("synthetic-weights").inner_text()
    assert "CTL-1" in weights and "Pre-period fit (RMSPE)" in weights
    assert "Synthetic control (each pilot site against a weighted mix of 5 control sites)" in (
        page.locator(".reading").first.inner_text()
    )
    check_page(page, viewport)
    save_screenshot(page, "pilot-synthetic-mobile")
