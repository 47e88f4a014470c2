"""The export downloads and the monthly snapshots page, as a reader meets them: file names,
perimeter (another region → 403, an unknown one → 404), the snapshot button and its
idempotency, deltas on the at-a-glance page, refusals that write nothing."""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime

import openpyxl
import pytest
from sqlalchemy import func, select

from programme.audit import AuditEvent
from programme.reports.models import Snapshot
from programme.reports.snapshots import month_of, previous_month
from tests.factories import login_as
from tests.integration.test_exports import report_world
from tests.web.helpers import count, flashes, page

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _user(session, user_id):
    from programme.auth.models import User

    return session.get(User, user_id)


def _snapshots(session) -> int:
    return session.scalar(select(func.count(Snapshot.id)))


def test_admin_downloads_the_workbook_of_the_network_and_of_a_region(client, session):
    world = report_world()
    login_as(client, _user(session, world.admin_id))
    today = date.today().isoformat()

    response = client.get("/reports/export.xlsx")
    assert response.status_code == 200
    assert response.mimetype == XLSX
    disposition = response.headers["Content-Disposition"]
    assert f'filename="programme-report_network_{today}.xlsx"' in disposition
    book = openpyxl.load_workbook(io.BytesIO(response.data))
    assert len([r for r in book["Sites"].iter_rows(min_row=4)]) == world.n_sites

    south = client.get(f"/reports/export.xlsx?region={world.south_id}")
    assert south.status_code == 200
    assert (
        f"programme-report_region-{world.south_id}_{today}.xlsx"
        in south.headers["Content-Disposition"]
    )
    book = openpyxl.load_workbook(io.BytesIO(south.data))
    codes = [row[1] for row in book["Sites"].iter_rows(min_row=4, values_only=True)]
    assert codes == ["SUD-001", "SUD-002"]


def test_a_manager_exports_their_region_only(client, session):
    world = report_world()
    login_as(client, _user(session, world.manager_id))
    own = client.get("/reports/export.xlsx")
    assert own.status_code == 200
    assert f"region-{world.north_id}" in own.headers["Content-Disposition"]
    assert client.get(f"/reports/export.xlsx?region={world.north_id}").status_code == 200
    assert client.get(f"/reports/export.xlsx?region={world.south_id}").status_code == 403
    assert client.get(f"/reports/export.pdf?region={world.south_id}").status_code == 403


@pytest.mark.parametrize("region", ["999999", "abc", "-1", "0", "1e3"])
def test_an_unknown_region_is_not_found(client, session, region):
    world = report_world()
    login_as(client, _user(session, world.admin_id))
    response = client.get(f"/reports/export.xlsx?region={region}")
    assert response.status_code == 404
    assert client.get(f"/reports/snapshots?region={region}").status_code == 404


def test_the_pdf_downloads_with_its_name(client, session):
    world = report_world()
    login_as(client, _user(session, world.manager_id))
    response = client.get("/reports/export.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF")
    assert response.headers["Cache-Control"] == "no-store"
    assert f"programme-report_region-{world.north_id}_" in response.headers["Content-Disposition"]


def test_the_exports_are_streamed_in_blocks_with_their_length(client, session):
    """Network exports are written to a temporary file and sent from it in blocks, never
    held whole in the worker's memory: the body arrives in several chunks and the length
    is announced."""
    world = report_world()
    login_as(client, _user(session, world.admin_id))
    for url, magic in (("/reports/export.xlsx", b"PK"), ("/reports/export.pdf", b"%PDF")):
        response = client.get(url, buffered=False)
        assert response.status_code == 200
        chunks = list(response.response)
        response.close()
        body = b"".join(chunks)
        assert len(chunks) > 1
        assert body.startswith(magic)
        assert response.content_length == len(body)
    book = openpyxl.load_workbook(io.BytesIO(client.get("/reports/export.xlsx").data))
    assert len(list(book["Sites"].iter_rows(min_row=4))) == world.n_sites


def test_admin_takes_the_snapshots_once_a_month(client, session):
    world = report_world()
    login_as(client, _user(session, world.admin_id))
    before = client.get("/reports/snapshots")
    assert before.status_code == 200
    assert "No snapshot has been taken for this scope yet" in page(before)
    month = month_of(date.today())

    taken = client.post("/reports/snapshots", follow_redirects=True)
    assert taken.status_code == 200
    text = page(taken)
    assert any("3 new, 0 already taken and kept" in f for f in flashes(text))
    assert "The first snapshot of this scope" in text
    assert 'data-figure="sites_total"' in text
    assert _snapshots(session) == 3

    audit = count(session, AuditEvent)
    again = client.post("/reports/snapshots", follow_redirects=True)
    assert any("were already taken; they are kept" in f for f in flashes(page(again)))
    assert _snapshots(session) == 3
    assert count(session, AuditEvent) == audit  # nothing new to record
    assert session.scalar(select(Snapshot.month).limit(1)) == month


def _stored(session, scope: str, month: date, **figures) -> None:
    session.add(
        Snapshot(
            month=month,
            scope=scope,
            figures=figures,
            taken_at=datetime(month.year, month.month, 1, 6, tzinfo=UTC),
            taken_by="cli:take-snapshot",
        )
    )
    session.commit()


def test_snapshots_page_compares_each_month_with_the_previous_one(client, session):
    world = report_world()
    this_month = month_of(date.today())
    last_month = previous_month(this_month)
    _stored(session, "network", last_month, sites_live=2, open_alerts=5)
    _stored(session, "network", this_month, sites_live=4, open_alerts=7)
    _stored(session, f"region:{world.south_id}", this_month, sites_live=1)
    login_as(client, _user(session, world.admin_id))
    text = page(client.get("/reports/snapshots"))
    assert "Change since the snapshot of" in text
    shown = " ".join(re.sub(r"<[^>]+>", " ", text).split())
    assert "Sites live 4 2 +2 (better)" in shown
    assert "Open alerts 7 5 +2 (worse)" in shown
    south = page(client.get(f"/reports/snapshots?region={world.south_id}"))
    assert "The first snapshot of this scope" in south and "Sud" in south


def test_a_manager_sees_only_their_perimeters_snapshots(client, session):
    world = report_world()
    this_month = month_of(date.today())
    _stored(session, "network", this_month, sites_live=99)
    _stored(session, f"region:{world.north_id}", this_month, sites_live=3)
    login_as(client, _user(session, world.manager_id))
    text = page(client.get("/reports/snapshots"))
    assert "Nord" in text and 'data-figure="sites_live"' in text
    assert ">99<" not in text
    assert "Take the snapshot" not in text  # admins only
    assert client.get(f"/reports/snapshots?region={world.south_id}").status_code == 403
    assert client.post("/reports/snapshots").status_code == 403
    assert _snapshots(session) == 2


def test_a_forged_snapshot_post_writes_nothing(client, session, csrf_on):
    world = report_world()
    login_as(client, _user(session, world.admin_id))
    response = client.post("/reports/snapshots")
    assert response.status_code == 400
    assert _snapshots(session) == 0


def test_at_a_glance_shows_the_change_since_last_months_snapshot(client, session):
    world = report_world()
    last_month = previous_month(month_of(date.today()))
    _stored(session, "network", last_month, sites_live=1, open_alerts=0, sites_total=5)
    login_as(client, _user(session, world.admin_id))
    response = client.get("/reports/")
    if response.status_code == 404:
        pytest.skip("the at-a-glance page is not there yet")
    text = page(response)
    assert "Change since the snapshot of" in text
    assert 'data-figure="sites_live"' in text and 'class="delta delta-better"' in text


def test_a_site_manager_is_told_why_there_is_no_snapshot(client, session):
    report_world()
    from programme.network.models import Site
    from tests.factories import make_user

    site = session.scalar(select(Site).where(Site.code == "SUD-002"))
    login_as(client, make_user("site_manager", site_id=site.id))
    text = page(client.get("/reports/snapshots"))
    assert "your reports cover one site" in text
    response = client.get("/reports/export.xlsx")
    assert response.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(response.data))
    codes = [row[1] for row in book["Sites"].iter_rows(min_row=4, values_only=True)]
    assert codes == ["SUD-002"]


def test_a_single_site_reader_is_told_there_is_no_monthly_comparison(client, session):
    report_world()
    from programme.network.models import Site
    from tests.factories import make_user

    site = session.scalar(select(Site).where(Site.code == "SUD-002"))
    login_as(client, make_user("site_manager", site_id=site.id))
    response = client.get("/reports/")
    if response.status_code == 404:
        pytest.skip("the at-a-glance page is not there yet")
    assert "not for a single site" in page(response)


def test_the_workbook_shows_the_same_figures_as_the_screen(client, session):
    world = report_world()
    login_as(client, _user(session, world.admin_id))
    screen = client.get("/reports/")
    if screen.status_code == 404:
        pytest.skip("the at-a-glance page is not there yet")
    shown = {
        stage: int(number.replace(",", ""))
        for stage, number in re.findall(
            r'<tr data-stage="(\w+)">.*?</th>\s*<td[^>]*>([\d,]+)</td>', page(screen), re.S
        )
    }
    assert shown, "the at-a-glance page lists the funnel"
    book = openpyxl.load_workbook(io.BytesIO(client.get("/reports/export.xlsx").data))
    exported = [row[1] for row in book["Funnel"].iter_rows(min_row=4, values_only=True)]
    assert exported == list(shown.values())
