"""Volumes as KPIs: the `count` kind (CONTACTS, VISITS) through every intake route — a grid
cell, a CSV file, the API — its bad input, and its weekly figure being the sum."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from programme.api.tokens import create_token
from programme.extensions import db
from programme.kpis import queries
from programme.kpis.models import Kpi, Measurement
from tests.factories import login_as, make_region, make_site, make_user
from tests.kpi_factories import MONDAY, assign, csv_bytes, default_kpis, put
from tests.web.helpers import page


@pytest.fixture(autouse=True)
def inline_jobs(app):
    app.config["JOB_RUNNER"] = "inline"
    yield
    app.config.pop("JOB_RUNNER", None)


@pytest.fixture
def world(session):
    default_kpis()
    region = make_region("Bretagne")
    rennes = make_site("BRE-001", region, name="Agence Rennes")
    pilot = make_user("pilot_team")
    assign(pilot, rennes)
    return {"rennes": rennes, "pilot": pilot, "admin": make_user("admin")}


def _values(session, code):
    kpi = session.scalar(select(Kpi).where(Kpi.code == code))
    return sorted(
        (m.period_date, m.value, m.n)
        for m in session.scalars(select(Measurement).where(Measurement.kpi_id == kpi.id))
    )


def test_the_catalogue_has_contacts_and_visits_as_daily_counts(session, world):
    kpis = {k.code: k for k in session.scalars(select(Kpi))}
    for code in ("CONTACTS", "VISITS"):
        assert (kpis[code].kind, kpis[code].period, kpis[code].min_value) == ("count", "day", 0)
    assert kpis["CONTACTS"].name_en == "Contacts handled"
    assert kpis["VISITS"].name_fr == "Clients reçus"


def test_a_count_typed_in_a_grid_cell_needs_no_n(client, session, world):
    login_as(client, world["pilot"])
    assert "BRE-001" in page(client.get("/measurements/grid?kpi=CONTACTS"))
    data = {"site": "BRE-001", "kpi": "CONTACTS", "date": MONDAY.isoformat(), "value": "1250"}
    saved = client.post("/measurements/grid/cell", data={**data, "n": ""}, headers={"HX-Request": "true"})  # fmt: skip
    assert saved.status_code == 200 and "Saved" in page(saved)
    assert _values(session, "CONTACTS") == [(MONDAY, 1250.0, 1)]


@pytest.mark.parametrize("value", ["-5", "12.5"])
def test_a_negative_or_fractional_count_is_refused_and_nothing_written(
    client, session, world, value
):
    login_as(client, world["pilot"])
    data = {"site": "BRE-001", "kpi": "VISITS", "date": MONDAY.isoformat(), "value": value}
    response = client.post("/measurements/grid/cell", data={**data, "n": ""}, headers={"HX-Request": "true"})  # fmt: skip
    assert response.status_code == 422
    text = page(response)
    assert "A count is a whole number, 0 or more" in text or "Outside the valid range" in text
    assert session.scalar(select(func.count()).select_from(Measurement)) == 0


def test_counts_in_a_csv_file_are_imported(client, session, world):
    login_as(client, world["pilot"])
    day, next_day = MONDAY.isoformat(), (MONDAY + timedelta(days=1)).isoformat()
    data = csv_bytes([["BRE-001", "VISITS", day, "45", ""], ["BRE-001", "VISITS", next_day, "52", "1"]])  # fmt: skip
    response = client.post(
        "/measurements/import",
        data={"file": (io.BytesIO(data), "visits.csv"), "source": "door-counter"},
        content_type="multipart/form-data",
    )
    status_url = response.headers["Location"]
    assert "2 new, 0 corrections, 0 unchanged" in page(client.get(status_url))
    upload_id = int(status_url.rstrip("/").split("/")[-1])
    assert client.post(f"/measurements/import/{upload_id}/confirm").status_code == 302
    assert _values(session, "VISITS") == [
        (MONDAY, 45.0, 1),
        (MONDAY + timedelta(days=1), 52.0, 1),
    ]


def test_counts_through_the_api_and_back(client, session, world):
    _row, token = create_token(db.session, world["admin"], "telephony")
    db.session.commit()
    headers = {"Authorization": f"Bearer {token}"}
    body = [{"site": "BRE-001", "kpi": "CONTACTS", "date": MONDAY.isoformat(), "value": 980, "n": 1}]  # fmt: skip
    created = client.post("/api/v1/measurements", json=body, headers=headers)
    assert created.status_code == 201 and created.get_json()["created"] == 1
    bad = client.post("/api/v1/measurements", json=[{**body[0], "value": -3}], headers=headers)
    assert bad.status_code == 422
    listed = client.get("/api/v1/measurements?kpi=CONTACTS", headers=headers).get_json()
    assert [(i["kpi"], i["value"]) for i in listed["items"]] == [("CONTACTS", 980)]
    kpis = client.get("/api/v1/kpis", headers=headers).get_json()
    kinds = {k["code"]: k["kind"] for k in (kpis["items"] if isinstance(kpis, dict) else kpis)}
    assert kinds["CONTACTS"] == kinds["VISITS"] == "count"


def test_the_weekly_figure_of_a_count_is_the_sum_not_the_mean(session, world):
    put(world["admin"], [
        {"site": "BRE-001", "kpi": "CONTACTS", "date": (MONDAY + timedelta(days=d)).isoformat(), "value": v, "n": 1}  # fmt: skip
        for d, v in enumerate([100, 200, 300])
    ])  # fmt: skip
    kpi = session.scalar(select(Kpi).where(Kpi.code == "CONTACTS"))
    points = queries.weekly_series(session, world["admin"], kpi, weeks=104)
    week = next(p for p in points if p["week"] == MONDAY.isoformat())
    assert week["value"] == 600


def test_a_count_kpi_page_and_the_site_page_render(client, session, world):
    put(world["admin"], [{"site": "BRE-001", "kpi": "VISITS", "date": MONDAY.isoformat(), "value": 45, "n": 1}])  # fmt: skip
    login_as(client, world["admin"])
    kpi = session.scalar(select(Kpi).where(Kpi.code == "VISITS"))
    assert client.get(f"/kpis/{kpi.id}").status_code == 200
    assert client.get(f"/sites/{world['rennes'].id}/kpis").status_code == 200
    assert "Count (a volume: its period figure is the sum)" in page(client.get("/kpis/new"))
