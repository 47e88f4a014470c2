"""A pilot team member imports a measurement file with two bad rows, sees both reported
with their row numbers, fixes the file and imports it; then looks at the site's charts."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from tests.browser.support import (
    check_page,
    save_screenshot,
)
from tests.factories import PASSWORD, make_region, make_site, make_user
from tests.kpi_factories import MONDAY, assign, csv_bytes, default_kpis


@pytest.fixture
def threaded_jobs(app):
    """The real thing: the import runs in a worker thread and the page polls it."""
    app.config["JOB_RUNNER"] = "thread"
    yield
    app.config.pop("JOB_RUNNER", None)


@pytest.mark.parametrize("viewport", ["mobile", "desktop"])
def test_pilot_team_member_fixes_a_file_and_imports_it(
    app, open_page, threaded_jobs, tmp_path, viewport
):
    with app.app_context():
        default_kpis()
        region = make_region("Bretagne")
        site = make_site("BRE-001", region, name="Agence Rennes")
        pilot = make_user("pilot_team")
        assign(pilot, site)
        email, site_id = pilot.email, site.id
    days = [(MONDAY - timedelta(days=d)).isoformat() for d in range(14)]
    rows = [["BRE-001", "WAIT", d, f"{6 + i % 3}.5", "40"] for i, d in enumerate(days)]
    bad_rows = [list(r) for r in rows]
    bad_rows[2][3] = "900"  # file line 4: outside WAIT's range
    bad_rows[5][0] = "XXX-999"  # file line 7: unknown site
    bad_file, good_file = tmp_path / "qms-export.csv", tmp_path / "qms-export-fixed.csv"
    bad_file.write_bytes(csv_bytes(bad_rows))
    good_file.write_bytes(csv_bytes(rows))

    page = open_page(viewport)
    page.goto("/login")
    page.locator("#email").fill(email)
    page.locator("#password").fill(PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/$"))

    page.locator("main .page-actions").get_by_role("button", name="Import a file").click()
    page.wait_for_url(re.compile(r"/measurements/import$"))
    check_page(page, viewport)
    page.locator("#file").set_input_files(str(bad_file))
    page.locator("#source").fill("qms")
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/measurements/import/\d+$"))
    report = page.locator("table.error-report")
    report.wait_for()
    assert "2 problems found — nothing was imported" in page.locator("#errors-title").inner_text()
    cells = [r.locator("td").all_inner_texts() for r in report.locator("tbody tr").all()]
    assert [c[0] for c in cells] == ["4", "7"]
    assert "valid range" in cells[0][2] and "Unknown site code" in cells[1][2]
    check_page(page, viewport)

    page.get_by_role("link", name="Import another file").click()
    page.locator("#file").set_input_files(str(good_file))
    page.locator("#source").fill("qms")
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/measurements/import/\d+$"))
    page.get_by_role("button", name="Confirm the import").wait_for()
    assert "14 new, 0 corrections, 0 unchanged" in page.locator("#import-state").inner_text()
    check_page(page, viewport)
    page.get_by_role("button", name="Confirm the import").click()
    done = page.get_by_role("status").filter(has_text="Import done")
    done.wait_for()
    assert "14 created, 0 corrected, 0 unchanged" in done.inner_text()
    check_page(page, viewport)
    save_screenshot(page, f"kpi-import-{viewport}")

    page.goto(f"/sites/{site_id}/kpis")
    page.locator(
        "[data-vl-spec='chart-WAIT'] svg, [data-vl-spec='chart-WAIT'] canvas"
    ).first.wait_for()
    check_page(page, viewport)
    save_screenshot(page, f"kpi-site-chart-{viewport}")
