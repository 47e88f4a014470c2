"""Imports that cannot get stuck, and uploads that cannot exhaust a worker, as a person
sees them: a job queue that is down, a worker killed mid-import, "Try again" from the
saved file, files deleted after their retention period, and workbooks refused with 413
before they are unpacked (measurement, site and customer-voice imports)."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from programme.audit import AuditEvent
from programme.database import utcnow
from programme.diagnostics.models import Verbatim
from programme.jobs.models import Job
from programme.kpis.models import KpiUpload, KpiUploadFile, Measurement
from programme.kpis.services import purge_uploads
from programme.network.models import Site
from tests import xlsx_shapes
from tests.diagnostics_factories import make_campaign
from tests.factories import login_as, make_region, make_site, make_user
from tests.kpi_factories import MONDAY, assign, csv_bytes, default_kpis
from tests.web.helpers import DENIED, page

UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"  # nothing listens on port 1


@pytest.fixture(autouse=True)
def runner(app):
    saved = {k: app.config.get(k) for k in ("JOB_RUNNER", "REDIS_URL", "IMPORT_MAX_ROWS")}
    app.config["JOB_RUNNER"] = "inline"
    yield app.config
    app.config.update(saved)


@pytest.fixture
def world(session):
    default_kpis()
    region = make_region("Bretagne")
    rennes = make_site("BRE-001", region, name="Agence Rennes")
    make_site("BRE-002", region, name="Agence Brest")
    pilot = make_user("pilot_team")
    assign(pilot, rennes)
    return {"pilot": pilot, "region": region}


def _count(session, model) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(model))


def _good_file() -> bytes:
    day = MONDAY.isoformat()
    return csv_bytes([["BRE-001", "WAIT", day, "7.5", "40"], ["BRE-001", "CSAT", day, "4.5", "20"]])


def _upload(client, data: bytes, filename="export.csv"):
    return client.post(
        "/measurements/import",
        data={"file": (io.BytesIO(data), filename), "source": "qms"},
        content_type="multipart/form-data",
    )


def _jobs(session, upload_id: int) -> tuple[Job | None, Job | None]:
    session.expire_all()
    upload = session.get(KpiUpload, upload_id)
    check = session.get(Job, upload.check_job_id) if upload.check_job_id else None
    run = session.get(Job, upload.import_job_id) if upload.import_job_id else None
    return check, run


def _checked_upload(client, session) -> int:
    response = _upload(client, _good_file())
    assert response.status_code == 302
    return session.scalar(select(func.max(KpiUpload.id)))


# --- the job queue is down -------------------------------------------------------------------


def test_queue_down_at_upload_shows_could_not_start_then_try_again(
    client, new_client, session, world, runner
):
    login_as(client, world["pilot"])
    runner.update({"JOB_RUNNER": "rq", "REDIS_URL": UNREACHABLE_REDIS})
    response = _upload(client, _good_file())
    assert response.status_code == 302  # no 500: the upload is saved, its check failed
    status_url = response.headers["Location"]
    upload_id = session.scalar(select(func.max(KpiUpload.id)))
    check, _run = _jobs(session, upload_id)
    assert check.status == "failed"
    text = page(client.get(status_url))
    assert "Could not start: the job queue is unreachable" in text and "Try again" in text
    french = new_client(language="fr")
    login_as(french, world["pilot"])
    assert "Impossible de démarrer" in page(french.get(status_url))

    runner.update({"JOB_RUNNER": "inline", "REDIS_URL": None})  # the queue is back
    assert client.post(f"/measurements/import/{upload_id}/retry").status_code == 302
    assert "2 new, 0 corrections, 0 unchanged" in page(client.get(status_url))
    assert client.post(f"/measurements/import/{upload_id}/confirm").status_code == 302
    assert _count(session, Measurement) == 2


def test_queue_down_at_confirm_then_confirm_again_imports_once(client, session, world, runner):
    login_as(client, world["pilot"])
    upload_id = _checked_upload(client, session)
    runner.update({"JOB_RUNNER": "rq", "REDIS_URL": UNREACHABLE_REDIS})
    response = client.post(f"/measurements/import/{upload_id}/confirm")
    assert response.status_code == 302
    _check, run = _jobs(session, upload_id)
    assert run.status == "failed" and _count(session, Measurement) == 0
    text = page(client.get(response.headers["Location"]))
    assert "Could not start" in text and "Nothing was imported." in text

    runner.update({"JOB_RUNNER": "inline", "REDIS_URL": None})
    client.post(f"/measurements/import/{upload_id}/confirm")  # confirmed again: it runs
    client.post(f"/measurements/import/{upload_id}/confirm")  # and only once
    assert _count(session, Measurement) == 2
    assert "Import done: 2 created" in page(client.get(f"/measurements/import/{upload_id}"))


def test_reads_carry_on_while_the_queue_is_down(client, session, world, runner):
    login_as(client, world["pilot"])
    runner.update({"JOB_RUNNER": "rq", "REDIS_URL": UNREACHABLE_REDIS})
    assert client.get("/kpis").status_code == 200
    assert client.get("/measurements/import").status_code == 200


# --- a worker killed mid-import ---------------------------------------------------------------


def _killed_mid_import(session, upload_id: int) -> int:
    """The import job as `kill -9` of its worker at 22 % leaves it."""
    long_ago = utcnow() - timedelta(minutes=2)
    upload = session.get(KpiUpload, upload_id)
    job = Job(kind="kpi_import", status="running", progress=22, user_id=upload.user_id,
              params={"upload_id": upload_id, "user_id": upload.user_id, "language": "en"},
              started_at=long_ago, heartbeat_at=long_ago)  # fmt: skip
    session.add(job)
    session.flush()
    upload.import_job_id = job.id
    session.commit()
    return job.id


def test_interrupted_import_is_shown_failed_and_tried_again_imports_once(client, session, world):
    login_as(client, world["pilot"])
    upload_id = _checked_upload(client, session)
    _killed_mid_import(session, upload_id)
    status_url = f"/measurements/import/{upload_id}"
    text = page(client.get(status_url))  # the page's poll finds it stale
    assert "Interrupted — nothing was written" in text and "Try again" in text
    assert 'hx-trigger="every 1s"' not in text  # it stopped polling
    _check, run = _jobs(session, upload_id)
    assert (run.status, run.error) == ("failed", "interrupted")

    assert client.post(f"/measurements/import/{upload_id}/retry").status_code == 302
    assert _count(session, Measurement) == 2
    assert "Import done: 2 created" in page(client.get(status_url))
    assert client.post(f"/measurements/import/{upload_id}/retry").status_code == 409
    assert client.post(f"/measurements/import/{upload_id}/confirm").status_code == 302
    assert _count(session, Measurement) == 2


def test_a_running_import_with_a_recent_heartbeat_keeps_running(client, session, world):
    login_as(client, world["pilot"])
    upload_id = _checked_upload(client, session)
    job_id = _killed_mid_import(session, upload_id)
    session.execute(update(Job).where(Job.id == job_id).values(heartbeat_at=utcnow()))
    session.commit()
    text = page(client.get(f"/measurements/import/{upload_id}"))
    assert "Importing…" in text and "Try again" not in text
    assert client.post(f"/measurements/import/{upload_id}/retry").status_code == 409


def test_retry_is_for_whoever_could_confirm(client, new_client, session, world):
    login_as(client, world["pilot"])
    upload_id = _checked_upload(client, session)
    _killed_mid_import(session, upload_id)
    other = new_client()
    other_pilot = make_user("pilot_team")
    login_as(other, other_pilot)
    response = other.post(f"/measurements/import/{upload_id}/retry")
    assert response.status_code == 403 and DENIED in page(response)
    anonymous = new_client()
    assert anonymous.post(f"/measurements/import/{upload_id}/retry").status_code == 302
    coach = new_client()
    login_as(coach, make_user("coach"))
    assert coach.post(f"/measurements/import/{upload_id}/retry").status_code == 403
    admin = new_client()
    login_as(admin, make_user("admin"))
    assert admin.post(f"/measurements/import/{upload_id}/retry").status_code == 302
    assert _count(session, Measurement) == 2


# --- uploads deleted after their retention period ------------------------------------------


def _age(session, upload_id: int, days: int) -> None:
    """Move an upload and its jobs `days` days into the past."""
    moment = utcnow() - timedelta(days=days)
    upload = session.get(KpiUpload, upload_id)
    session.execute(update(KpiUpload).where(KpiUpload.id == upload_id).values(created_at=moment))
    for job_id in (upload.check_job_id, upload.import_job_id):
        if job_id:
            session.execute(update(Job).where(Job.id == job_id).values(finished_at=moment))
    session.commit()


def test_purge_deletes_old_files_keeps_recent_and_unfinished(app, client, session, world):
    login_as(client, world["pilot"])
    imported = _checked_upload(client, session)
    client.post(f"/measurements/import/{imported}/confirm")
    _age(session, imported, 31)
    recent = _checked_upload(client, session)
    _age(session, recent, 29)
    running = _checked_upload(client, session)
    _killed_mid_import(session, running)
    session.execute(update(Job).where(Job.status == "running").values(heartbeat_at=utcnow()))
    _age(session, running, 40)
    session.execute(update(Job).where(Job.status == "running").values(finished_at=None))
    session.commit()

    result = app.test_cli_runner().invoke(args=["purge-uploads"])
    assert result.exit_code == 0, result.output
    assert "Deleted 1 upload file(s)" in result.output
    session.expire_all()
    assert session.get(KpiUpload, imported).purged_at is not None
    files = set(session.scalars(select(KpiUploadFile.upload_id)))
    assert files == {recent, running}  # the old file is gone; the others stay
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "purge"))
    assert event.entity_id == str(imported)
    assert event.changes["created"] == 2 and event.changes["outcome"] == "done"
    assert "2 created" in event.summary

    text = page(client.get(f"/measurements/import/{imported}"))
    assert "Import done: 2 created" in text  # the page still tells what happened
    assert purge_uploads(session, 30) == 0  # nothing more to delete


def test_a_purged_failed_import_cannot_be_tried_again(client, session, world):
    login_as(client, world["pilot"])
    upload_id = _checked_upload(client, session)
    _killed_mid_import(session, upload_id)
    client.get(f"/measurements/import/{upload_id}")  # marked failed
    _age(session, upload_id, 31)
    assert purge_uploads(session, 30) == 1
    session.commit()
    text = page(client.get(f"/measurements/import/{upload_id}"))
    assert "deleted after its retention period" in text and "Try again" not in text
    assert client.post(f"/measurements/import/{upload_id}/retry").status_code == 410
    assert client.post(f"/measurements/import/{upload_id}/confirm").status_code == 410
    assert _count(session, Measurement) == 0


# --- bounded uploads -------------------------------------------------------------------------


def test_shared_strings_bomb_is_refused_with_413(client, new_client, session, world):
    bomb = xlsx_shapes.shared_strings_bomb(40 * 1024 * 1024)  # 40 MB unpacked, ≈ 40 KB
    login_as(client, world["pilot"])
    response = _upload(client, bomb, "export.xlsx")
    assert response.status_code == 413
    text = page(response)
    assert "The workbook is refused" in text and "xl/sharedStrings.xml" in text
    french = new_client(language="fr")
    login_as(french, world["pilot"])
    assert "Le classeur est refusé" in page(_upload(french, bomb, "export.xlsx"))
    assert _count(session, KpiUpload) == 0 and _count(session, Job) == 0


def test_sheet_over_its_cap_is_refused_with_413(app, client, session, world, monkeypatch):
    monkeypatch.setitem(app.config, "XLSX_MAX_SHEET_BYTES", 100_000)
    data = xlsx_shapes.workbook(xlsx_shapes.measurements_rows(2_000))
    login_as(client, world["pilot"])
    response = _upload(client, data, "export.xlsx")
    assert response.status_code == 413
    assert "The workbook is too large to be read — its sheet" in page(response)
    assert _count(session, KpiUpload) == 0


def test_rows_over_the_cap_are_refused_with_the_cap(client, session, world, runner):
    runner["IMPORT_MAX_ROWS"] = 3
    login_as(client, world["pilot"])
    day = MONDAY.isoformat()
    rows = [["BRE-001", "WAIT", day, str(5 + i), "40"] for i in range(4)]
    response = _upload(client, csv_bytes(rows))
    assert response.status_code == 413
    assert "The file has more than 3 rows" in page(response)
    assert _count(session, KpiUpload) == 0
    # A workbook's rows are counted as they are read: the check says so, nothing is written.
    data = xlsx_shapes.workbook(xlsx_shapes.measurements_rows(4))
    response = _upload(client, data, "export.xlsx")
    text = page(client.get(response.headers["Location"]))
    assert "The file has more than 3 rows" in text
    assert _count(session, Measurement) == 0


def test_empty_styled_rows_are_read_and_skipped(client, session, world):
    """Thousands of formatted empty rows after the data: the two rows are imported."""
    data = xlsx_shapes.empty_styled_rows(20_000, data_rows=0)
    day = MONDAY.isoformat()
    rows = [xlsx_shapes.row_xml(1, xlsx_shapes.HEADER),
            xlsx_shapes.row_xml(2, ("BRE-001", "WAIT", day, 7, 40)),
            xlsx_shapes.row_xml(3, ("BRE-001", "CSAT", day, 4, 20))]  # fmt: skip
    rows += [
        f'<row r="{n}" s="1" customFormat="1" ht="15" customHeight="1"/>' for n in range(4, 20_004)
    ]
    data = xlsx_shapes.workbook(rows)
    login_as(client, world["pilot"])
    response = _upload(client, data, "export.xlsx")
    upload_id = session.scalar(select(func.max(KpiUpload.id)))
    assert "2 new, 0 corrections, 0 unchanged" in page(client.get(response.headers["Location"]))
    client.post(f"/measurements/import/{upload_id}/confirm")
    assert _count(session, Measurement) == 2


def test_site_import_refuses_a_sparse_workbook_with_413(client, session, world):
    """Cells at A1 and XFD1048576: calamine would allocate 550 GB and abort the process."""
    admin = make_user("admin")
    login_as(client, admin)
    response = client.post(
        "/sites/import",
        data={"file": (io.BytesIO(xlsx_shapes.sparse_corners()), "sites.xlsx")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 413
    assert "its sheet spans more than" in page(response)
    assert _count(session, Site) == 2


def test_site_import_refuses_a_shared_strings_bomb_with_413(client, session, world):
    login_as(client, make_user("admin"))
    response = client.post(
        "/sites/import",
        data={"file": (io.BytesIO(xlsx_shapes.shared_strings_bomb(4 * 1024 * 1024)), "sites.xlsx")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 413 and "The workbook is refused" in page(response)
    assert _count(session, Site) == 2


def test_customer_voice_import_refuses_a_bomb_with_413(client, session):
    region = make_region("Île-de-France")
    paris = make_site("PAR-001", region, name="Agence Paris Opéra")
    lead = make_user("diagnostician")
    campaign = make_campaign(
        sites=[paris], site_types=("branch",), channels=("in_person",), lead=lead
    )
    login_as(client, lead)
    response = client.post(
        f"/diagnostics/campaigns/{campaign.id}/voice/import",
        data={
            "kind": "verbatims",
            "file": (io.BytesIO(xlsx_shapes.shared_strings_bomb(4 * 1024 * 1024)), "voix.xlsx"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 413 and "The workbook is refused" in page(response)
    assert _count(session, Verbatim) == 0


def test_mapping_page_reads_only_the_header(client, session, world, monkeypatch):
    """The column names come from the first row: the reader is never asked for more."""
    from programme.kpis import importing

    read = []
    original = importing._streamed_rows

    def counting(source):
        for row in original(source):
            read.append(row)
            yield row

    monkeypatch.setattr(importing, "_streamed_rows", counting)
    data = xlsx_shapes.workbook(
        [xlsx_shapes.row_xml(1, ("Où", "Quoi", "Quand", "Combien", "Sur"))]
        + [xlsx_shapes.row_xml(n, ("BRE-001", "WAIT", "2026-11-02", 7, 40)) for n in range(2, 500)]
    )
    login_as(client, world["pilot"])
    response = _upload(client, data, "odd.xlsx")
    assert "/mapping" in response.headers["Location"]
    read.clear()
    assert "Quand" in page(client.get(response.headers["Location"]))
    assert len(read) == 1
