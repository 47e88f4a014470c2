"""The rules of KPIs and measurements: catalogue, corrections, site assignments,
rollup rebuild, file uploads and the jobs that check and import them."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.orm import Session, aliased

from programme.audit import record_event
from programme.database import utcnow
from programme.errors import Invalid
from programme.jobs.models import Job
from programme.jobs.services import JobError
from programme.kpis import importing
from programme.kpis.file_import import ColumnRules, Mapping, find_mapping
from programme.kpis.intake import IntakeRejected, ingest, records_frame
from programme.kpis.models import (
    ImportMapping,
    Kpi,
    KpiUpload,
    KpiUploadFile,
    KpiWeekRollup,
    Measurement,
    PilotSiteAssignment,
)

# code, English name, French name, unit, kind, better, min, max, period
DEFAULT_KPIS = [
    ("WAIT", "Waiting time", "Temps d'attente", "min", "mean", "lower", 0, 600, "day"),
    ("CONV", "Conversion rate", "Taux de transformation", "", "rate", "higher", 0, 1, "day"),
    ("CSAT", "Expressed satisfaction", "Satisfaction exprimée", "/5", "mean", "higher", 1, 5, "day"),
    ("NPS", "Net Promoter Score", "Net Promoter Score (NPS)", "pts", "mean", "higher", -100, 100, "week"),
    ("FCR", "First-contact resolution", "Résolution au premier contact", "", "rate", "higher", 0, 1, "day"),
    ("PICKUP", "Call pick-up rate", "Taux de décroché", "", "rate", "higher", 0, 1, "day"),
    ("CONTACTS", "Contacts handled", "Contacts traités", "contacts", "count", "higher", 0, 1000000, "day"),
    ("VISITS", "Customers received", "Clients reçus", "clients", "count", "higher", 0, 1000000, "day"),
]  # fmt: skip

# The source of the values typed in the web app (entry grid, day form, corrections).
MANUAL_SOURCE = "form"

KPI_FIELDS = ("code", "name_en", "name_fr", "unit", "kind", "better", "min_value", "max_value")


def ensure_default_kpis(session: Session) -> int:
    """Insert the default KPIs that are missing (never changes an existing one)."""
    existing = set(session.scalars(select(Kpi.code)))
    created = 0
    for code, en, fr, unit, kind, better, low, high, period in DEFAULT_KPIS:
        if code in existing:
            continue
        session.add(
            Kpi(
                code=code,
                name_en=en,
                name_fr=fr,
                unit=unit,
                kind=kind,
                better=better,
                min_value=float(low),
                max_value=float(high),
                period=period,
                active=True,
            )
        )
        created += 1
    session.flush()
    return created


def save_kpi(session: Session, values: dict[str, Any], kpi: Kpi | None = None) -> Kpi:
    code = (values.get("code") or "").strip().upper()
    if not code or len(code) > 20 or not all(c.isalnum() or c in "_-" for c in code):
        raise Invalid.on("code", _("Use 1 to 20 letters, digits, dashes or underscores."))
    other = session.scalar(select(Kpi).where(Kpi.code == code))
    if other is not None and other is not kpi:
        raise Invalid.on("code", _("Another KPI already has this code."))
    low, high = values.get("min_value"), values.get("max_value")
    if low is None or high is None or low >= high:
        raise Invalid.on("max_value", _("The minimum must be below the maximum."))
    if values.get("kind") == "rate" and (low < 0 or high > 1):
        raise Invalid.on("max_value", _("A rate lies between 0 and 1."))
    if values.get("kind") == "count" and low < 0:
        raise Invalid.on("min_value", _("A count cannot be negative: its minimum is 0 or more."))
    if kpi is not None and kpi.code != code and _has_measurements(session, kpi):
        raise Invalid.on(
            "code", _("This KPI already has measurements: its code cannot change any more.")
        )
    if kpi is None:
        kpi = Kpi(code=code)
        session.add(kpi)
    for key in ("name_en", "name_fr", "unit", "kind", "better", "period"):
        setattr(kpi, key, (values.get(key) or "").strip() if key != "period" else values[key])
    kpi.code = code
    kpi.min_value, kpi.max_value = float(low), float(high)
    kpi.active = bool(values.get("active", True))
    session.flush()
    return kpi


def _has_measurements(session: Session, kpi: Kpi) -> bool:
    """Through the rollups' (KPI, week) index: every measurement has its week's rollup row
    (measurements are never deleted, so neither are rollup rows)."""
    return (
        session.scalar(select(KpiWeekRollup.site_id).where(KpiWeekRollup.kpi_id == kpi.id).limit(1))
        is not None
    )


# --- the KPI a user works on first ---------------------------------------------------------

# Domains above this one (pilots) tell which KPI a user works on, e.g. their pilot's: the
# entry grid opens on it. Registered at import, so that kpis never imports pilots.
_preferred_kpi_finders: list[Callable[[Session, int], int | None]] = []


def register_preferred_kpi(finder: Callable[[Session, int], int | None]) -> None:
    if finder not in _preferred_kpi_finders:
        _preferred_kpi_finders.append(finder)


def preferred_kpi_id(session: Session, user_id: int) -> int | None:
    for finder in _preferred_kpi_finders:
        kpi_id = finder(session, user_id)
        if kpi_id is not None:
            return kpi_id
    return None


# --- site assignments (pilot team members) -------------------------------------------------


def assign_site(session: Session, user_id: int, site_id: int) -> bool:
    exists = session.scalar(
        select(PilotSiteAssignment.id).where(
            PilotSiteAssignment.user_id == user_id, PilotSiteAssignment.site_id == site_id
        )
    )
    if exists:
        return False
    session.add(PilotSiteAssignment(user_id=user_id, site_id=site_id))
    session.flush()
    return True


def unassign_site(session: Session, user_id: int, site_id: int) -> bool:
    row = session.scalar(
        select(PilotSiteAssignment).where(
            PilotSiteAssignment.user_id == user_id, PilotSiteAssignment.site_id == site_id
        )
    )
    if row is None:
        return False
    session.delete(row)
    session.flush()
    return True


# --- corrections -----------------------------------------------------------------------------


def correct_measurement(
    session: Session, user, measurement: Measurement, value: str, n: str, reason: str
):
    """A correction goes through the intake pipeline like everything else. It is recorded
    as typed in the web app (not as the source it corrects), so that source re-sending its
    value later does not undo it."""
    if not (reason or "").strip():
        raise IntakeRejected([_reason_required()], 1)
    frame = records_frame(
        [
            {
                "site": measurement.site.code,
                "kpi": measurement.kpi.code,
                "date": measurement.period_date.isoformat(),
                "value": value,
                "n": n,
                "source": MANUAL_SOURCE,
                "reason": reason.strip(),
            }
        ]
    )
    return ingest(session, user, [frame], default_source=MANUAL_SOURCE, label="correction")


def _reason_required():
    from programme.kpis.intake import IntakeError

    return IntakeError("reason", _("Say why the value is corrected."), 0)


# --- rollups ---------------------------------------------------------------------------------


def _week_sql(dialect: str) -> str:
    if dialect == "postgresql":
        return "CAST(date_trunc('week', period_date) AS date)"
    return "date(period_date, '-' || ((CAST(strftime('%w', period_date) AS INTEGER) + 6) % 7) || ' days')"


def rebuild_rollups(session: Session) -> int:
    """Recompute kpi_rollup_week from the measurements (the current values)."""
    dialect = session.get_bind().dialect.name
    week = _week_sql(dialect)
    session.execute(text("DELETE FROM kpi_rollup_week"))
    session.execute(
        text(
            "INSERT INTO kpi_rollup_week (site_id, kpi_id, week_start, sum_vn, sum_n, count, "
            "sum_v, sum_v2) "
            f"SELECT site_id, kpi_id, {week}, SUM(value * n), SUM(n), COUNT(*), SUM(value), "
            f"SUM(value * value) FROM measurement GROUP BY site_id, kpi_id, {week}"
        )
    )
    return session.scalar(text("SELECT COUNT(*) FROM kpi_rollup_week")) or 0


def recomputed_rollups(session: Session) -> dict[tuple, tuple]:
    """The rollups as a recomputation from raw rows would give them (for checks and tests)."""
    week = _week_sql(session.get_bind().dialect.name)
    rows = session.execute(
        text(
            f"SELECT site_id, kpi_id, {week} AS w, SUM(value * n), SUM(n), COUNT(*), SUM(value), "
            f"SUM(value * value) FROM measurement GROUP BY site_id, kpi_id, {week}"
        )
    ).all()
    return {(r[0], r[1], str(r[2])[:10]): tuple(r[3:]) for r in rows}


def stored_rollups(session: Session) -> dict[tuple, tuple]:
    rows = session.execute(
        text(
            "SELECT site_id, kpi_id, week_start, sum_vn, sum_n, count, sum_v, sum_v2 "
            "FROM kpi_rollup_week WHERE count <> 0"
        )
    ).all()
    return {(r[0], r[1], str(r[2])[:10]): tuple(r[3:]) for r in rows}


# --- file uploads ----------------------------------------------------------------------------


@dataclass
class UploadStart:
    upload: KpiUpload
    needs_mapping: bool
    headers: list[str]


def _remembered_mapping(session: Session, source: str) -> Mapping | None:
    row = session.scalar(select(ImportMapping).where(ImportMapping.source == source))
    return Mapping(row.columns, row.layout) if row is not None else None


def _guessed_mapping(session: Session, names: list[str]) -> Mapping | None:
    codes = list(session.scalars(select(Kpi.code).where(Kpi.active.is_(True))))
    guessed = importing.guess_mapping(names, codes)
    return Mapping(guessed[1], guessed[0]) if guessed else None


def remember_mapping(session: Session, source: str, layout: str, columns: dict[str, Any]) -> None:
    mapping = session.scalar(select(ImportMapping).where(ImportMapping.source == source))
    if mapping is None:
        session.add(ImportMapping(source=source, layout=layout, columns=columns))
    elif mapping.layout != layout or mapping.columns != columns:
        mapping.layout, mapping.columns = layout, columns
    session.flush()


COLUMNS = ColumnRules(
    guess=_guessed_mapping,
    problems=lambda mapping, names: importing.mapping_problems(
        mapping.layout or "", mapping.columns, names
    ),
    remembered=_remembered_mapping,
    remember=lambda session, source, m: remember_mapping(session, source, m.layout, m.columns),
)


def create_upload(
    session: Session, user, filename: str, data: bytes, source: str | None
) -> UploadStart:
    """Store the file, find its column mapping (remembered for the source, else guessed)."""
    names = importing.headers(filename, data)
    source = (source or "").strip()[:120] or filename[:120]
    upload = KpiUpload(
        filename=filename[:255],
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        source=source,
        user_id=user.id,
    )
    chosen = find_mapping(COLUMNS, session, source, names)
    if chosen:
        upload.layout, upload.columns = chosen.layout, chosen.columns
    session.add(upload)
    session.flush()
    store_upload_file(session, upload.id, data)
    record_event(
        session,
        "kpi_upload",
        "upload",
        f"{upload.filename} ({source}, {upload.size} bytes)",
        entity_id=str(upload.id),
    )
    return UploadStart(upload, chosen is None, names)


def previous_import(session: Session, upload: KpiUpload) -> KpiUpload | None:
    """The same file (same bytes, same source) imported before."""
    return session.scalar(
        select(KpiUpload)
        .where(
            KpiUpload.sha256 == upload.sha256,
            KpiUpload.source == upload.source,
            KpiUpload.imported_at.is_not(None),
            KpiUpload.id != upload.id,
        )
        .order_by(KpiUpload.imported_at.desc())
        .limit(1)
    )


def _upload_run(session: Session, params: dict[str, Any], progress, dry_run: bool) -> dict:
    from programme.auth.models import User

    upload = session.get(KpiUpload, params["upload_id"])
    user = session.get(User, params["user_id"])
    language = params.get("language") or "fr"
    if upload.purged_at is not None:
        with force_locale(language):
            raise JobError(_("The file was deleted after its retention period: upload it again."))
    if not dry_run and upload.imported_at is not None:
        # Tried again after all (a job marked interrupted that had in fact finished): the
        # rows are in; never import them twice.
        session.rollback()
        return {"ok": True, "rows": 0, "created": 0, "corrected": 0, "unchanged": 0}
    with upload_file(session, upload) as path:
        return _run_file(session, params, progress, dry_run, upload, user, language, path)


UPLOAD_READ_BYTES = 8 * 1024 * 1024


def store_upload_file(session: Session, upload_id: int, data: bytes) -> None:
    """Write an upload's file (kpi_upload_file). On SQLite through incremental blob I/O,
    1 MB at a time: a bound 100 MB parameter is copied twice by SQLite, and the copy stays
    bound to the cached statement (+100 MB kept by the web worker)."""
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        session.execute(insert(KpiUploadFile).values(upload_id=upload_id, content=data))
        return
    session.execute(
        insert(KpiUploadFile).values(upload_id=upload_id, content=func.zeroblob(len(data)))
    )
    raw = connection.connection.driver_connection
    view = memoryview(data)
    with raw.blobopen("kpi_upload_file", "content", _file_rowid(session, upload_id)) as blob:
        for start in range(0, len(data), 1 << 20):
            blob.write(view[start : start + (1 << 20)])


def _file_rowid(session: Session, upload_id: int) -> int:
    return session.execute(
        text("SELECT rowid FROM kpi_upload_file WHERE upload_id = :id"), {"id": upload_id}
    ).scalar_one()


def save_upload_file(session: Session, upload_id: int, path: str) -> int:
    """Copy an upload's file from the database to `path`, a piece at a time (SQLite:
    incremental blob I/O; PostgreSQL: substring): a worker never holds the whole file (up
    to 100 MB) in memory. Returns its size."""
    connection = session.connection()
    written = 0
    if connection.dialect.name == "sqlite":  # substr() would load the whole blob each time
        raw = connection.connection.driver_connection
        rowid = _file_rowid(session, upload_id)
        with (
            raw.blobopen("kpi_upload_file", "content", rowid, readonly=True) as blob,
            open(path, "wb") as fh,
        ):
            while piece := blob.read(1 << 20):
                fh.write(piece)
                written += len(piece)
        return written
    start = 1
    with open(path, "wb") as fh:
        while True:
            piece = session.scalar(
                select(func.substr(KpiUploadFile.content, start, UPLOAD_READ_BYTES)).where(
                    KpiUploadFile.upload_id == upload_id
                )
            )
            if not piece:
                break
            fh.write(piece)
            written += len(piece)
            start += len(piece)
            if len(piece) < UPLOAD_READ_BYTES:
                break
    return written


@contextmanager
def upload_file(session: Session, upload: KpiUpload) -> Iterator[str]:
    """The upload's file as a temporary file on disk (deleted afterwards)."""
    suffix = ".xlsx" if upload.filename.lower().endswith(".xlsx") else ".csv"
    with tempfile.TemporaryDirectory(prefix="programme-upload-") as folder:
        path = os.path.join(folder, f"upload{suffix}")
        save_upload_file(session, upload.id, path)
        yield path


def upload_headers(session: Session, upload: KpiUpload) -> list[str]:
    """The column names of a stored upload (its first rows only)."""
    with upload_file(session, upload) as path:
        return importing.read_headers(upload.filename, path)


def _run_file(session, params, progress, dry_run, upload, user, language, path) -> dict:
    total = importing.count_rows(upload.filename, path)

    def report(rows: int) -> None:
        if total:
            progress(min(95, int(90 * rows / total)), None)

    filename, source = upload.filename, upload.source
    layout, columns = upload.layout, upload.columns
    with force_locale(language):
        try:
            result = ingest(
                session,
                _Writer(user),
                importing.iter_chunks(filename, path, layout, columns),
                default_source=source,
                label=f"{filename} ({source})",
                dry_run=dry_run,
                progress=report,
            )
        except importing.FileRejected as rejected:
            session.rollback()
            return {"ok": False, "problem": str(rejected)}
        except IntakeRejected as rejected:
            session.rollback()
            return {
                "ok": False,
                "total_errors": rejected.total,
                "errors": [e.as_dict() for e in rejected.errors],
            }
    outcome = {"ok": True, **result.as_dict()}
    if dry_run:
        session.rollback()
        previous = previous_import(session, session.get(KpiUpload, params["upload_id"]))
        if previous is not None:
            outcome["already_imported_at"] = previous.imported_at.isoformat()
        return outcome
    session.get(KpiUpload, params["upload_id"]).imported_at = utcnow()
    session.commit()
    return outcome


class _Writer:
    """A user as the permission rules see it inside a job (no request, no Flask-Login)."""

    is_authenticated = True

    def __init__(self, user):
        self.id, self.role, self.site_id, self.region_id = (
            user.id,
            user.role,
            user.site_id,
            user.region_id,
        )


def check_upload_job(session: Session, params: dict[str, Any], progress) -> dict:
    return _upload_run(session, params, progress, dry_run=True)


def import_upload_job(session: Session, params: dict[str, Any], progress) -> dict:
    return _upload_run(session, params, progress, dry_run=False)


# --- upload retention -------------------------------------------------------------------------


def _aware(moment: datetime | None) -> datetime | None:
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)  # SQLite gives naive UTC datetimes back
    return moment


def purge_uploads(session: Session, days: int, now: datetime | None = None) -> int:
    """Delete the files of the uploads whose import ended more than `days` days ago: the
    import (or, never confirmed, the check) finished then, or, never checked, it was
    uploaded then. Uploads with a job still queued or running are kept. The upload row
    stays (file name, size, checksum: "already imported" still works) and the audit trail
    keeps a summary of the import for each file deleted. Returns how many were deleted."""
    now = now or utcnow()
    cutoff = now - timedelta(days=days)
    check, run = aliased(Job), aliased(Job)
    rows = session.execute(
        select(
            KpiUpload.id,
            KpiUpload.filename,
            KpiUpload.source,
            KpiUpload.size,
            KpiUpload.created_at,
            check.status,
            check.finished_at,
            run.status,
            run.finished_at,
            run.result,
        )
        .outerjoin(check, check.id == KpiUpload.check_job_id)
        .outerjoin(run, run.id == KpiUpload.import_job_id)
        .where(KpiUpload.purged_at.is_(None), KpiUpload.created_at < cutoff)
        .order_by(KpiUpload.id)
    ).all()
    purged = 0
    for row in rows:
        (upload_id, filename, source, size, created, c_status, c_end, r_status, r_end, result) = row
        if c_status in ("queued", "running") or r_status in ("queued", "running"):
            continue
        ended = _aware(r_end if r_status else c_end if c_status else created)
        if ended is None or ended >= cutoff:
            continue
        session.execute(delete(KpiUploadFile).where(KpiUploadFile.upload_id == upload_id))
        session.execute(update(KpiUpload).where(KpiUpload.id == upload_id).values(purged_at=now))
        summary = {"outcome": r_status or "not imported", "size": size}
        if isinstance(result, dict):
            summary.update(
                {k: result[k] for k in ("rows", "created", "corrected", "unchanged") if k in result}
            )
        record_event(
            session,
            "kpi_upload",
            "purge",
            f"{filename} ({source}): file deleted {days} days after its import ended "
            f"({summary['outcome']}"
            + (
                f": {summary['created']} created, {summary['corrected']} corrected, "
                f"{summary['unchanged']} unchanged)"
                if "created" in summary
                else ")"
            ),
            entity_id=str(upload_id),
            changes=summary,
        )
        purged += 1
    return purged
