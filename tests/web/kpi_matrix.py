"""Rows of the role × route matrix for the KPI screens (issue 5).

The records these URLs need are created on demand with Core inserts (no ORM flush, so no
audit event: the matrix counts audit events to prove refused requests wrote nothing)."""

from __future__ import annotations

import io
from datetime import date, timedelta

from sqlalchemy import insert, select

from programme.auth.roles import ADMIN, PILOT_TEAM, ROLES, SITE_MANAGER
from programme.database import utcnow
from programme.extensions import db
from programme.jobs.models import Job
from programme.kpis.models import Kpi, KpiUpload, KpiUploadFile, Measurement, PilotSiteAssignment
from programme.kpis.services import DEFAULT_KPIS

EVERYONE = frozenset(ROLES)
ADMIN_ONLY = frozenset({ADMIN})
WRITERS = frozenset({ADMIN, PILOT_TEAM, SITE_MANAGER})
# Record rule: a pilot team member writes only for assigned sites; the matrix user has none.
WRITERS_OF_THE_SITE = frozenset({ADMIN, SITE_MANAGER})
DAY = date.today() - timedelta(days=date.today().weekday() + 7)


def _one(stmt):
    return db.session.scalar(stmt)


def kpi_id(w) -> int:
    found = _one(select(Kpi.id).where(Kpi.code == "WAIT"))
    if found is None:
        now = utcnow()
        for code, en, fr, unit, kind, better, low, high, period in DEFAULT_KPIS:
            db.session.execute(
                insert(Kpi).values(code=code, name_en=en, name_fr=fr, unit=unit, kind=kind,
                                   better=better, min_value=low, max_value=high, period=period,
                                   active=True, version=1, created_at=now, updated_at=now)
            )  # fmt: skip
        db.session.commit()
        found = _one(select(Kpi.id).where(Kpi.code == "WAIT"))
    return found


def measurement_id(w) -> int:
    kpi = kpi_id(w)
    found = _one(select(Measurement.id).where(Measurement.site_id == w.site_id))
    if found is None:
        db.session.execute(
            insert(Measurement).values(site_id=w.site_id, kpi_id=kpi, period_date=DAY, source="form",
                                       value=7.5, n=40, revision=1, entered_by="seed", entered_at=utcnow())
        )  # fmt: skip
        db.session.commit()
        found = _one(select(Measurement.id).where(Measurement.site_id == w.site_id))
    return found


def upload_id(w) -> int:
    kpi_id(w)
    found = _one(select(KpiUpload.id))
    if found is None:
        data = f"site,kpi,date,value,n\nPAR-001,WAIT,{DAY.isoformat()},7,40\n".encode()
        job = db.session.execute(
            insert(Job).values(kind="kpi_check", status="done", progress=100, user_id=w.account_id,
                               result={"ok": True, "rows": 1, "created": 1, "corrected": 0, "unchanged": 0},
                               created_at=utcnow())
        ).inserted_primary_key[0]  # fmt: skip
        upload = db.session.execute(
            insert(KpiUpload).values(filename="export.csv", sha256="0" * 64, size=len(data),
                                     source="matrix", layout="long", user_id=w.account_id, check_job_id=job,
                                     columns={k: k for k in ("site", "kpi", "date", "value", "n")},
                                     created_at=utcnow())
        ).inserted_primary_key[0]  # fmt: skip
        db.session.execute(insert(KpiUploadFile).values(upload_id=upload, content=data))
        db.session.commit()
        found = _one(select(KpiUpload.id))
    return found


def assignment_id(w) -> int:
    found = _one(select(PilotSiteAssignment.id))
    if found is None:
        db.session.execute(
            insert(PilotSiteAssignment).values(
                user_id=w.pilot_id, site_id=w.site_id, created_at=utcnow()
            )
        )
        db.session.commit()
        found = _one(select(PilotSiteAssignment.id))
    return found


def token_id(w) -> int:
    from programme.api.models import ApiToken

    found = _one(select(ApiToken.id))
    if found is None:
        db.session.execute(
            insert(ApiToken).values(user_id=w.account_id, name="matrix", prefix="pgm_x", token_hash="f" * 64,
                                    created_at=utcnow())
        )  # fmt: skip
        db.session.commit()
        found = _one(select(ApiToken.id))
    return found


def kpi_form(w, **values) -> dict:
    form = {"code": "AHT", "name_en": "Handling time", "name_fr": "Durée de traitement", "unit": "min",
            "kind": "mean", "better": "lower", "min_value": "0", "max_value": "60", "period": "day", "active": "y"}  # fmt: skip
    form.update(values)
    return form


def kpi_edit_form(w) -> dict:
    kpi_id(w)
    return kpi_form(
        w,
        code="WAIT",
        name_en="Waiting time (queue)",
        name_fr="Temps d'attente",
        max_value="600",
        version="1",
    )


def cell_form(w) -> dict:
    kpi_id(w)
    return {"site": "PAR-001", "kpi": "WAIT", "date": DAY.isoformat(), "value": "7", "n": "40"}


def correction_form(w) -> dict:
    return {"value": "9", "n": "40", "reason": "wrong export"}


def import_form(w) -> dict:
    kpi_id(w)
    data = f"site,kpi,date,value,n\nPAR-001,WAIT,{DAY.isoformat()},7,40\n".encode()
    return {"file": (io.BytesIO(data), "export.csv"), "source": "qms"}


def mapping_form(w) -> dict:
    return {"layout": "long", "col_site": "site", "col_kpi": "kpi", "col_date": "date", "col_value": "value", "col_n": "n"}  # fmt: skip


def assignment_form(w) -> dict:
    return {"user_id": str(w.pilot_id), "site_code": "LYO-001"}


def rows(Route) -> list:
    """The matrix rows, built with the matrix's own Route class."""
    return [
        Route("GET", "/kpis", EVERYONE),
        Route("GET", "/kpis/new", ADMIN_ONLY),
        Route("POST", "/kpis/new", ADMIN_ONLY, form=kpi_form, allowed_redirect="/kpis"),
        Route("GET", "/kpis/<int:kpi_id>", EVERYONE, url=lambda w: f"/kpis/{kpi_id(w)}"),
        Route("GET", "/kpis/<int:kpi_id>/edit", ADMIN_ONLY, url=lambda w: f"/kpis/{kpi_id(w)}/edit"),
        Route("POST", "/kpis/<int:kpi_id>/edit", ADMIN_ONLY, url=lambda w: f"/kpis/{kpi_id(w)}/edit",
              form=kpi_edit_form, allowed_redirect="/kpis"),
        Route("GET", "/sites/<int:site_id>/kpis", EVERYONE, url=lambda w: f"/sites/{w.site_id}/kpis"),
        Route("GET", "/measurements/<int:measurement_id>", EVERYONE,
              url=lambda w: f"/measurements/{measurement_id(w)}"),
        Route("POST", "/measurements/<int:measurement_id>/correct", WRITERS_OF_THE_SITE,
              url=lambda w: f"/measurements/{measurement_id(w)}/correct", form=correction_form,
              notes="a pilot team member needs the site assigned (tests/web/test_kpis_pages.py)"),
        Route("GET", "/measurements/grid", WRITERS, url=lambda w: (kpi_id(w), "/measurements/grid")[1]),
        Route("POST", "/measurements/grid/cell", WRITERS_OF_THE_SITE, form=cell_form,
              notes="without htmx the cell posts like a form and comes back to the grid"),
        Route("GET", "/measurements/import", WRITERS),
        Route("POST", "/measurements/import", WRITERS, form=import_form,
              notes="stores the file and checks it (inline job in tests), then shows the preview"),
        Route("GET", "/measurements/import/<int:upload_id>", ADMIN_ONLY,
              url=lambda w: f"/measurements/import/{upload_id(w)}",
              notes="the uploader and admins; the matrix user is not the uploader"),
        Route("GET", "/measurements/import/<int:upload_id>/mapping", ADMIN_ONLY,
              url=lambda w: f"/measurements/import/{upload_id(w)}/mapping"),
        Route("POST", "/measurements/import/<int:upload_id>/mapping", ADMIN_ONLY,
              url=lambda w: f"/measurements/import/{upload_id(w)}/mapping", form=mapping_form),
        Route("POST", "/measurements/import/<int:upload_id>/confirm", ADMIN_ONLY,
              url=lambda w: f"/measurements/import/{upload_id(w)}/confirm", form=lambda w: {}),
        Route("POST", "/measurements/import/<int:upload_id>/retry", ADMIN_ONLY,
              url=lambda w: f"/measurements/import/{upload_id(w)}/retry", form=lambda w: {}, status=409,
              notes="nothing failed here: 409; a retry after a failure: tests/web/test_import_jobs.py"),
        Route("GET", "/kpis/assignments", ADMIN_ONLY),
        Route("POST", "/kpis/assignments", ADMIN_ONLY, form=assignment_form, allowed_redirect="/kpis/assignments"),
        Route("POST", "/kpis/assignments/<int:assignment_id>/remove", ADMIN_ONLY,
              url=lambda w: f"/kpis/assignments/{assignment_id(w)}/remove", form=lambda w: {},
              allowed_redirect="/kpis/assignments"),
        Route("GET", "/account/tokens", EVERYONE),
        Route("POST", "/account/tokens", EVERYONE, form=lambda w: {"name": "qms"}, status=201,
              notes="the new token is shown once, in this response"),
        Route("POST", "/account/tokens/<int:token_id>/revoke", EVERYONE,
              url=lambda w: f"/account/tokens/{token_id(w)}/revoke", form=lambda w: {}, status=404,
              notes="someone else's token: 404 (owners revoke theirs: tests/web/test_api.py)"),
    ]  # fmt: skip
