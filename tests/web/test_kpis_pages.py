"""KPI screens through the test client: pages, grid cells, corrections, import, bad input."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from programme.jobs.models import Job
from programme.kpis.models import (
    ImportMapping,
    Kpi,
    KpiUpload,
    Measurement,
    MeasurementRevision,
    PilotSiteAssignment,
)
from tests.factories import login_as, make_region, make_site, make_user
from tests.kpi_factories import MONDAY, TODAY, assign, csv_bytes, default_kpis, item, put
from tests.web.helpers import DENIED, page


@pytest.fixture(autouse=True)
def inline_jobs(app):
    app.config["JOB_RUNNER"] = "inline"
    yield
    app.config.pop("JOB_RUNNER", None)


def _count(session, model, *where):
    stmt = select(func.count()).select_from(model)
    for clause in where:
        stmt = stmt.where(clause)
    return session.scalar(stmt)


@pytest.fixture
def world(session):
    kpis = default_kpis()
    region = make_region("Bretagne")
    rennes = make_site("BRE-001", region, name="Agence Rennes")
    brest = make_site("BRE-002", region, name="Agence Brest")
    pilot = make_user("pilot_team")
    assign(pilot, rennes)
    return {
        "kpis": kpis,
        "rennes": rennes,
        "brest": brest,
        "pilot": pilot,
        "admin": make_user("admin"),
    }


def _upload(client, data: bytes, filename="export.csv", source="qms-export"):
    return client.post(
        "/measurements/import",
        data={"file": (io.BytesIO(data), filename), "source": source},
        content_type="multipart/form-data",
    )


def test_catalogue_kpi_page_and_site_page_render(client, session, world):
    from flask_babel import force_locale

    with force_locale("en"):
        put(
            world["admin"],
            [
                item(world["rennes"], "WAIT", MONDAY - timedelta(days=d), 6 + d % 4, 40)
                for d in range(30)
            ],
        )
    login_as(client, make_user("executive"))
    text = page(client.get("/kpis"))
    assert "WAIT" in text and "PICKUP" in text and "New KPI" not in text
    kpi_id = world["kpis"]["WAIT"]
    text = page(client.get(f"/kpis/{kpi_id}"))
    assert 'data-vl-spec="chart-kpi"' in text and "vega-lite.min.js" in text
    assert "Data completeness" in text and "Bretagne" in text
    assert "no data" in text  # gaps are visible in the table fallback
    text = page(client.get(f"/sites/{world['rennes'].id}/kpis"))
    assert 'data-vl-spec="chart-WAIT"' in text and "Latest measurements" in text
    assert "Enter measurements" not in text  # executives read only


def test_kpi_page_lists_sites_a_page_at_a_time_least_complete_first(
    app, client, session, world, monkeypatch
):
    """A network has thousands of sites: the by-site completeness table comes a page at a
    time, the least complete sites on the first page."""
    monkeypatch.setitem(app.config, "SITE_PAGE_SIZE", 2)
    quimper = make_site("BRE-003", world["rennes"].region, name="Agence Quimper")
    yesterday = TODAY - timedelta(days=1)
    days = {world["rennes"]: 20, world["brest"]: 5, quimper: 12}
    put(
        world["admin"],
        [
            item(site, "WAIT", yesterday - timedelta(days=d))
            for site, n in days.items()
            for d in range(n)
        ],
    )
    login_as(client, make_user("executive"))
    kpi_id = world["kpis"]["WAIT"]

    first = page(client.get(f"/kpis/{kpi_id}"))
    assert "3 sites" in first
    assert first.index("Agence Brest") < first.index("Agence Quimper")  # 5 days, then 12
    assert "Agence Rennes" not in first
    assert "Page 1 of 2" in first
    assert f'href="/kpis/{kpi_id}?weeks=52&amp;page=2#by-site"' in page_html(client, kpi_id)

    second = page(client.get(f"/kpis/{kpi_id}?page=2"))
    assert "Agence Rennes" in second and "Agence Brest" not in second
    assert '<details id="by-site" open>' in second  # the reader lands on the table

    beyond = page(client.get(f"/kpis/{kpi_id}?page=99"))
    assert "Page 2 of 2" in beyond and "Agence Rennes" in beyond
    for bad in ("0", "-1", "abc"):
        assert "Page 1 of 2" in page(client.get(f"/kpis/{kpi_id}?page={bad}"))


def page_html(client, kpi_id) -> str:
    """The KPI page's markup as sent (links keep their &amp;)."""
    return client.get(f"/kpis/{kpi_id}").get_data(as_text=True)


def test_admin_creates_and_edits_a_kpi_with_bad_input_refused(client, session, world):
    login_as(client, world["admin"])
    bad = client.post("/kpis/new", data={"code": "AHT", "name_en": "Handling time", "name_fr": "DMT",
                                         "kind": "mean", "better": "lower", "min_value": "10", "max_value": "5", "period": "day"})  # fmt: skip
    assert bad.status_code == 422 and "The minimum must be below the maximum." in page(bad)
    assert _count(session, Kpi, Kpi.code == "AHT") == 0
    ok = client.post("/kpis/new", data={"code": "aht", "name_en": "Handling time", "name_fr": "DMT",
                                        "kind": "mean", "better": "lower", "min_value": "0", "max_value": "60", "period": "day", "active": "y"})  # fmt: skip
    assert ok.status_code == 302
    kpi = session.scalar(select(Kpi).where(Kpi.code == "AHT"))
    stale = client.post(f"/kpis/{kpi.id}/edit", data={"code": "AHT", "name_en": "x", "name_fr": "y", "kind": "mean",
                                                      "better": "lower", "min_value": "0", "max_value": "60", "period": "day", "version": "99"})  # fmt: skip
    assert stale.status_code == 409


def test_grid_cell_saves_through_the_pipeline_and_shows_errors_inline(client, session, world):
    login_as(client, world["pilot"])
    text = page(client.get("/measurements/grid?kpi=WAIT"))
    assert "BRE-001" in text and "BRE-002" not in text  # only the assigned site
    day = MONDAY.isoformat()
    htmx = {"HX-Request": "true"}
    saved = client.post("/measurements/grid/cell", data={"site": "BRE-001", "kpi": "WAIT", "date": day, "value": "7,5", "n": "40"}, headers=htmx)  # fmt: skip
    assert saved.status_code == 200 and "Saved" in page(saved) and "<td" in page(saved)
    assert session.scalar(select(Measurement.value)) == 7.5
    bad = client.post("/measurements/grid/cell", data={"site": "BRE-001", "kpi": "WAIT", "date": day, "value": "900", "n": "40"}, headers=htmx)  # fmt: skip
    assert (
        bad.status_code == 422 and 'aria-invalid="true"' in page(bad) and "valid range" in page(bad)
    )
    assert session.scalar(select(Measurement.value)) == 7.5
    # a change asks for its reason first (prefilled), and writes nothing until confirmed
    asked = client.post("/measurements/grid/cell", data={"site": "BRE-001", "kpi": "WAIT", "date": day, "value": "8", "n": "40"}, headers=htmx)  # fmt: skip
    assert asked.status_code == 200
    assert 'name="reason"' in page(asked) and 'value="Corrected in the entry grid"' in page(asked)
    assert _count(session, MeasurementRevision) == 0
    no_reason = client.post("/measurements/grid/cell", data={"site": "BRE-001", "kpi": "WAIT", "date": day, "value": "8", "n": "40", "reason": " "}, headers=htmx)  # fmt: skip
    assert no_reason.status_code == 422 and "Say why the value is corrected." in page(no_reason)
    assert _count(session, MeasurementRevision) == 0
    changed = client.post("/measurements/grid/cell", data={"site": "BRE-001", "kpi": "WAIT", "date": day, "value": "8", "n": "40", "reason": "Recount of the queue"}, headers=htmx)  # fmt: skip
    assert "Corrected" in page(changed)
    revision = session.scalar(select(MeasurementRevision))
    assert (revision.value, revision.source, revision.reason) == (
        7.5,
        "form",
        "Recount of the queue",
    )
    denied = client.post("/measurements/grid/cell", data={"site": "BRE-002", "kpi": "WAIT", "date": day, "value": "8", "n": "40"}, headers=htmx)  # fmt: skip
    assert denied.status_code == 403
    assert _count(session, Measurement, Measurement.site_id == world["brest"].id) == 0


def test_correction_form_keeps_the_old_value_with_who_and_why(client, session, world):
    from flask_babel import force_locale

    with force_locale("en"):
        put(world["admin"], [item(world["rennes"], value=7.5, n=100)])
    m = session.scalar(select(Measurement))
    login_as(client, world["pilot"])
    missing_reason = client.post(
        f"/measurements/{m.id}/correct", data={"value": "9", "n": "100", "reason": ""}
    )
    assert missing_reason.status_code == 422
    response = client.post(
        f"/measurements/{m.id}/correct", data={"value": "9", "n": "100", "reason": "wrong export"}
    )
    assert response.status_code == 302
    text = page(client.get(f"/measurements/{m.id}"))
    assert "wrong export" in text and "7.5" in text and world["pilot"].email in text
    assert "<td>test</td>" in text  # the replaced value's source
    # the correction is recorded as typed in the web app: the source re-sending its old
    # value does not undo it
    with force_locale("en"):
        assert put(world["admin"], [item(world["rennes"], value=7.5, n=100)]).unchanged == 1
    session.refresh(m)
    assert (m.value, m.source) == (9.0, "form")
    login_as(client, make_user("coach"))
    assert (
        client.post(
            f"/measurements/{m.id}/correct", data={"value": "1", "n": "1", "reason": "x"}
        ).status_code
        == 403
    )


def test_import_preview_errors_then_fixed_file_then_same_file_again(client, session, world):
    login_as(client, world["pilot"])
    day = MONDAY.isoformat()
    bad = csv_bytes([["BRE-001", "WAIT", day, "7.5", "40"], ["BRE-001", "CSAT", day, "6", "20"],
                     ["BRE-001", "CONV", day, "0.3", "0"]])  # fmt: skip
    response = _upload(client, bad)
    assert response.status_code == 302
    upload = session.scalar(select(KpiUpload))
    text = page(client.get(response.headers["Location"]))
    assert "2 problems found — nothing was imported" in text
    assert "<td>3</td>" in text and "<td>4</td>" in text  # file rows (header = 1)
    assert _count(session, Measurement) == 0
    assert upload.columns["site"] == "site"
    good = csv_bytes([["BRE-001", "WAIT", day, "7.5", "40"], ["BRE-001", "CSAT", day, "4.5", "20"]])
    response = _upload(client, good)
    status_url = response.headers["Location"]
    text = page(client.get(status_url))
    assert "2 new, 0 corrections, 0 unchanged" in text
    upload_id = int(status_url.rstrip("/").split("/")[-1])
    done = client.post(f"/measurements/import/{upload_id}/confirm")
    assert done.status_code == 302
    assert "Import done: 2 created" in page(client.get(status_url))
    assert _count(session, Measurement) == 2
    again = _upload(client, good)
    text = page(client.get(again.headers["Location"]))
    assert "already imported" in text and "Nothing to import." in text
    assert _count(session, Measurement) == 2


def test_wide_file_and_remembered_mapping(client, session, world):
    login_as(client, world["admin"])
    day = MONDAY.isoformat()
    wide = csv_bytes([["BRE-001", day, "7.5", "0.3", "40"], ["BRE-002", day, "", "0.25", "30"]],
                     header=("Code agence", "Jour", "WAIT", "CONV", "Volume"), sep=";")  # fmt: skip
    response = _upload(client, wide, source="acd")
    assert response.status_code == 302  # recognised: wide layout
    upload = session.scalar(select(KpiUpload))
    assert upload.layout == "wide" and upload.columns["kpis"] == {"WAIT": "WAIT", "CONV": "CONV"}
    odd = csv_bytes(
        [["BRE-001", "WAIT", day, "7.5", "40"]], header=("Où", "Quoi", "Quand", "Combien", "Sur")
    )
    response = _upload(client, odd, source="legacy")
    assert "/mapping" in response.headers["Location"]
    upload_id = session.scalar(select(func.max(KpiUpload.id)))
    mapping = {
        "layout": "long",
        "col_site": "Où",
        "col_kpi": "Quoi",
        "col_date": "Quand",
        "col_value": "Combien",
        "col_n": "Sur",
    }
    response = client.post(f"/measurements/import/{upload_id}/mapping", data=mapping)
    assert response.status_code == 302
    assert (
        session.scalar(select(ImportMapping.layout).where(ImportMapping.source == "legacy"))
        == "long"
    )
    response = _upload(client, odd, source="legacy")  # remembered
    assert "/mapping" not in response.headers["Location"]


@pytest.mark.parametrize(
    ("filename", "data", "status", "message"),
    [
        ("export.txt", b"site,kpi\n", 415, "Upload a .csv or .xlsx file."),
        ("export.csv", b"", 422, "The file is empty."),
        ("export.csv", "site,kpi,date,value,n\n".encode("utf-16"), 422, "UTF-16"),
        ("export.xlsx", b"not a zip", 422, "not a valid XLSX"),
    ],
)
def test_bad_files_are_refused_clearly(client, session, world, filename, data, status, message):
    login_as(client, world["pilot"])
    response = _upload(client, data, filename=filename)
    assert response.status_code == status
    assert message in page(response)
    assert _count(session, KpiUpload) == 0 and _count(session, Job) == 0


def test_windows_1252_and_formulas_in_csv(client, session, world):
    login_as(client, world["pilot"])
    day = MONDAY.isoformat()
    data = f"site;kpi;date;value;n;source\nBRE-001;WAIT;{day};=A1*2;40;caisse é\n".encode("cp1252")
    response = _upload(client, data)
    text = page(client.get(response.headers["Location"]))
    assert "Formulas are not accepted" in text
    assert _count(session, Measurement) == 0


def test_xlsx_with_formulas_is_refused_and_values_only_is_read(client, session, world):
    openpyxl = pytest.importorskip("openpyxl")
    login_as(client, world["pilot"])

    def workbook(formula: bool) -> bytes:
        wb = openpyxl.Workbook()
        ws = wb.active
        ws.append(["site", "kpi", "date", "value", "n"])
        ws.append(["BRE-001", "WAIT", MONDAY, "=3+4" if formula else 7, 40])
        buffer = io.BytesIO()
        wb.save(buffer)
        return buffer.getvalue()

    refused = _upload(client, workbook(True), filename="export.xlsx")
    assert refused.status_code == 422 and "contains formulas" in page(refused)
    accepted = _upload(client, workbook(False), filename="export.xlsx")
    assert "1 new" in page(client.get(accepted.headers["Location"]))


def test_oversized_upload_is_refused(app, client, session, world):
    login_as(client, world["pilot"])
    app.config["KPI_IMPORT_MAX_BYTES"] = 1024
    try:
        response = _upload(client, b"site,kpi,date,value,n\n" + b"x" * 4096)
    finally:
        app.config.pop("KPI_IMPORT_MAX_BYTES")
    assert response.status_code == 413
    assert _count(session, KpiUpload) == 0


def test_someone_elses_upload_is_403(client, session, world):
    login_as(client, world["admin"])
    response = _upload(client, csv_bytes([["BRE-001", "WAIT", MONDAY.isoformat(), "7", "4"]]))
    login_as(client, world["pilot"])
    response = client.get(response.headers["Location"])
    assert response.status_code == 403 and DENIED in page(response)


def test_assignments_admin_screen(client, session, world):
    login_as(client, world["admin"])
    other = make_user("pilot_team", email="other.pilot@example.org")
    response = client.post(
        "/kpis/assignments", data={"user_id": str(other.id), "site_code": "bre-002"}
    )
    assert response.status_code == 302
    assert _count(session, PilotSiteAssignment, PilotSiteAssignment.user_id == other.id) == 1
    bad = client.post("/kpis/assignments", data={"user_id": str(other.id), "site_code": "NOPE"})
    assert bad.status_code == 422 and "Unknown site code." in page(bad)
    row = session.scalar(select(PilotSiteAssignment).where(PilotSiteAssignment.user_id == other.id))
    assert client.post(f"/kpis/assignments/{row.id}/remove").status_code == 302
    assert _count(session, PilotSiteAssignment, PilotSiteAssignment.user_id == other.id) == 0


def test_future_days_are_not_editable_in_the_grid(client, session, world):
    login_as(client, world["pilot"])
    iso = (TODAY + timedelta(days=7)).isocalendar()
    text = page(client.get(f"/measurements/grid?kpi=WAIT&week={iso[0]}-W{iso[1]:02d}"))
    assert 'name="value"' not in text


def _cell(client, **fields):
    data = {"site": "BRE-001", "kpi": "WAIT", "date": MONDAY.isoformat(), **fields}
    return client.post("/measurements/grid/cell", data=data, headers={"HX-Request": "true"})


@pytest.mark.parametrize(
    ("value", "n", "field", "message"),
    [
        ("abc", "40", "v", "Not a number."),
        ("99999999", "40", "v", "Outside the valid range of WAIT (0 to 600)."),
        ("7", "-3", "n", "n must be at least 1."),
        ("7", "", "n", "The sample size n is required."),
        ("", "40", "v", "This value is required."),
    ],
)
def test_a_refused_cell_comes_back_422_with_its_message_inside_and_nothing_written(
    client, session, world, value, n, field, message
):
    login_as(client, world["pilot"])
    response = _cell(client, value=value, n=n)
    assert response.status_code == 422
    text = page(response)
    cell = f"c-WAIT-BRE-001-{MONDAY.isoformat()}"
    assert text.lstrip().startswith("<td") and f'id="{cell}"' in text
    assert message in text
    assert f'id="{cell}-e"' in text and 'aria-live="assertive"' in text
    invalid = text.split(f'id="{cell}-{field}"')[1].split(">")[0]
    assert 'aria-invalid="true"' in invalid and f'aria-describedby="{cell}-e"' in invalid
    assert f'value="{value}"' in text and f'value="{n}"' in text  # what was typed stays
    assert _count(session, Measurement) == 0


def test_a_satisfaction_of_11_is_refused_in_its_cell(client, session, world):
    login_as(client, world["pilot"])
    response = _cell(client, kpi="CSAT", value="11", n="20")
    assert response.status_code == 422 and "Outside the valid range of CSAT (1 to 5)." in page(
        response
    )
    assert _count(session, Measurement) == 0


def test_a_value_from_the_api_shows_in_the_grid_marked_with_its_source(client, session, world):
    from programme.api.tokens import create_token
    from programme.extensions import db

    _row, token = create_token(db.session, world["admin"], "qms-feed")
    db.session.commit()
    api = {"Authorization": f"Bearer {token}"}
    feed = [item(world["rennes"], value=7.8, n=50)]
    pushed = client.post("/api/v1/measurements", json=feed, headers=api)
    assert pushed.status_code == 201
    assert pushed.get_json() == {"created": 1, "unchanged": 0, "corrected": 0}
    login_as(client, world["pilot"])
    text = page(
        client.get(
            f"/measurements/grid?kpi=WAIT&week={MONDAY.isocalendar()[0]}-W{MONDAY.isocalendar()[1]:02d}"
        )
    )
    cell = f"c-WAIT-BRE-001-{MONDAY.isoformat()}"
    assert 'value="7.8"' in text and 'value="50"' in text
    assert "cell-marked" in text and f'id="{cell}-s"' in text
    assert "From “qms-feed”, entered by" in text
    # a value typed in the grid is not marked
    _cell(client, date=(MONDAY + timedelta(days=1)).isoformat(), value="6", n="10")
    text = page(
        client.get(
            f"/measurements/grid?kpi=WAIT&week={MONDAY.isocalendar()[0]}-W{MONDAY.isocalendar()[1]:02d}"
        )
    )
    assert text.count("cell-marked") == 1
    # correcting the API's value in the grid: one value for the day, the API's in its history
    _cell(client, value="6.8", n="120", reason="Corrected in the entry grid")
    m = session.scalar(select(Measurement).where(Measurement.period_date == MONDAY))
    assert (m.value, m.source) == (6.8, "form")
    assert _count(session, Measurement, Measurement.period_date == MONDAY) == 1
    assert session.scalar(select(MeasurementRevision.source)) == "qms-feed"
    # the feed sent again does not undo the correction
    again = client.post("/api/v1/measurements", json=feed, headers=api)
    assert again.get_json() == {"created": 0, "unchanged": 1, "corrected": 0}
    session.refresh(m)
    assert (m.value, m.source) == (6.8, "form")


def test_the_grid_opens_on_the_pilots_kpi_else_the_last_one_used(client, session, world):
    login_as(client, world["pilot"])
    assert 'value="WAIT" selected' in page(client.get("/measurements/grid?kpi=WAIT"))
    assert 'value="CSAT" selected' in page(client.get("/measurements/grid?kpi=CSAT"))
    assert 'value="CSAT" selected' in page(client.get("/measurements/grid"))  # remembered
    from tests.pilot_factories import make_pilot

    make_pilot(world["admin"], members=[world["pilot"]], pilot_sites=("BRE-001",),
               control_sites=("BRE-002",), kpis=[("FCR", 0.1)])  # fmt: skip
    assert 'value="FCR" selected' in page(client.get("/measurements/grid"))


def test_help_text_reads_correctly_without_a_unit(client, session, world):
    login_as(client, world["pilot"])
    text = page(client.get("/measurements/grid?kpi=CONV"))
    assert "Valid range: 0 to 1." in text
    text = page(client.get("/measurements/grid?kpi=WAIT"))
    assert "Valid range: 0 to 600 min." in text


def test_the_day_form_shows_one_site_and_one_day_with_the_kpis_as_rows(client, session, world):
    from flask_babel import force_locale

    with force_locale("en"):
        put(world["admin"], [item(world["rennes"], "CSAT", value=4.2, n=30)], source="survey")
    login_as(client, world["pilot"])
    text = page(client.get(f"/measurements/grid?view=day&site=BRE-001&date={MONDAY.isoformat()}"))
    for code in ("WAIT", "CONV", "CSAT", "FCR", "PICKUP", "NPS"):
        assert f"c-{code}-BRE-001-" in text
    assert 'value="4.2"' in text and "From “survey”" in text
    previous = (MONDAY - timedelta(days=1)).isoformat()
    following = (MONDAY + timedelta(days=1)).isoformat()
    assert f"date={previous}" in text and f"date={following}" in text
    assert 'name="view" value="day"' in text
    # a site the user may not write to
    assert client.get("/measurements/grid?view=day&site=BRE-002").status_code == 403
    # saving from the day form without htmx comes back to the day form
    response = client.post("/measurements/grid/cell", data={"site": "BRE-001", "kpi": "WAIT", "date": MONDAY.isoformat(), "value": "5", "n": "9", "view": "day"})  # fmt: skip
    assert response.status_code == 302 and "view=day" in response.headers["Location"]
    assert _count(session, Measurement) == 2
    # the same permission as the grid: roles that do not write measurements, and anonymous
    login_as(client, make_user("coach"))
    assert client.get("/measurements/grid?view=day&site=BRE-001").status_code == 403
    client.post("/logout")
    anonymous = client.get("/measurements/grid?view=day&site=BRE-001")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]


def test_the_kpi_page_keeps_its_network_figures_until_the_data_changes(client, session, world):
    """At network scale the KPI page's series and completeness read hundreds of thousands
    of rollup rows: they are kept in the report cache against the data stamp. A second
    reader reads nothing of the rollups or measurements; a new measurement shows at once
    (the tests recompute inline); a regional manager never gets the network's figures."""
    from programme.extensions import db
    from tests.sql_plans import captured_statements

    yesterday = TODAY - timedelta(days=1)
    put(world["admin"], [item(world["rennes"], "WAIT", yesterday - timedelta(days=d))
                         for d in range(5)])  # fmt: skip
    kpi_id = world["kpis"]["WAIT"]
    login_as(client, make_user("executive"))
    first = page(client.get(f"/kpis/{kpi_id}"))
    assert "BRE-001 – Agence Rennes" in first
    with captured_statements(db.engine) as statements:
        again = page(client.get(f"/kpis/{kpi_id}"))
    assert again.count("BRE-001 – Agence Rennes") == first.count("BRE-001 – Agence Rennes")
    # (only the cheap stamp is read: no weekly series, no completeness)
    assert not [s for s, _p in statements if "GROUP BY kpi_rollup_week.week_start" in s]
    assert not [s for s, _p in statements if "in_weeks" in s]

    put(world["admin"], [item(world["brest"], "WAIT", yesterday)])
    after = page(client.get(f"/kpis/{kpi_id}"))
    assert "BRE-002 – Agence Brest" in after  # now a reporting site, with its one day

    other = make_region("Normandie")
    make_site("NOR-001", other, name="Agence Rouen")
    client.post("/logout")
    login_as(client, make_user("site_manager", region_id=other.id))
    theirs = page(client.get(f"/kpis/{kpi_id}"))
    assert "BRE-001" not in theirs and "BRE-002" not in theirs
