"""Measurement file import: upload → map the columns (when they are not recognised) → the
check job's preview → confirm (the import job). The steps shared with the feedback import
are in `file_import`."""

from __future__ import annotations

from flask import abort, current_app, redirect, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required

from programme.auth.permissions import require
from programme.extensions import db
from programme.jobs import services as jobs
from programme.jobs.models import Job
from programme.kpis import file_import, importing, queries, services
from programme.kpis.access import get_upload_or_403
from programme.kpis.blueprint import bp
from programme.kpis.forms import EmptyForm, UploadForm, mapping_from_form
from programme.kpis.models import KpiUpload
from programme.web.htmx import render


def _start_job(kind: str, upload: KpiUpload) -> Job:
    job = jobs.create_job(
        db.session,
        kind,
        {
            "upload_id": upload.id,
            "user_id": current_user.id,
            "language": str(get_locale() or "fr"),
        },
        current_user.id,
    )
    if kind == "kpi_check":
        upload.check_job_id = job.id
    else:
        upload.import_job_id = job.id
    db.session.commit()
    jobs.start(job.id)
    return job


@bp.route("/measurements/import", methods=["GET", "POST"])
@require("write_measurements")
def import_upload():
    limit = current_app.config.get("KPI_IMPORT_MAX_BYTES", 100 * 1024 * 1024)
    if request.method == "POST" and (request.content_length or 0) > limit + 64 * 1024:
        abort(413)
    request.max_content_length = limit + 64 * 1024
    form = UploadForm()
    problem, status = None, 200
    if form.validate_on_submit():
        filename, data = file_import.read_upload(form.file.data, limit)
        if len(data) > limit:
            problem = _("The file is larger than %(mb)s MB.", mb=limit // (1024 * 1024))
            status = 413
        else:
            try:
                started = services.create_upload(
                    db.session, current_user, filename, data, form.source.data
                )
                db.session.commit()
            except importing.FileRejected as rejected:
                db.session.rollback()
                problem, status = str(rejected), file_import.refused_status(rejected, filename)
            else:
                upload = started.upload
                if started.needs_mapping:
                    return redirect(url_for("kpis.import_mapping", upload_id=upload.id))
                _start_job("kpi_check", upload)
                return redirect(url_for("kpis.import_status", upload_id=upload.id))
    elif request.method == "POST":
        status = 422
    return render("kpis/import_upload.html", form=form, problem=problem, status=status)


@bp.route("/measurements/import/<int:upload_id>/mapping", methods=["GET", "POST"])
@login_required
def import_mapping(upload_id: int):
    upload = get_upload_or_403(upload_id)
    if upload.purged_at is not None:
        abort(410)  # the file was deleted after its retention period
    names = services.upload_headers(db.session, upload)
    kpis = queries.catalogue(db.session, active_only=True)
    form = EmptyForm()
    problems, status = [], 200
    layout, columns = upload.layout or "long", upload.columns or {}
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        mapping = mapping_from_form(request.form, names, kpis)
        layout, columns = mapping.layout, mapping.columns
        problems = services.COLUMNS.problems(mapping, names)
        if not problems:
            upload.layout, upload.columns = layout, columns
            services.COLUMNS.remember(db.session, upload.source, mapping)
            db.session.commit()
            _start_job("kpi_check", upload)
            return redirect(url_for("kpis.import_status", upload_id=upload.id))
        status = 422
    return render(
        "kpis/import_mapping.html",
        upload=upload,
        names=names,
        kpis=kpis,
        layout=layout,
        columns=columns,
        problems=problems,
        form=form,
        status=status,
    )


@bp.get("/measurements/import/<int:upload_id>")
@login_required
def import_status(upload_id: int):
    upload = get_upload_or_403(upload_id)
    check, run = _upload_jobs(upload)
    return render(
        "kpis/import_status.html",
        "kpis/_import_state.html",
        upload=upload,
        check=check,
        run=run,
        form=EmptyForm(),
        column_names=_column_names(upload),
        job_error=jobs.error_text,
    )


def _upload_jobs(upload: KpiUpload) -> tuple[Job | None, Job | None]:
    """The upload's check and import jobs, those whose worker died marked failed first."""
    check = db.session.get(Job, upload.check_job_id) if upload.check_job_id else None
    run = db.session.get(Job, upload.import_job_id) if upload.import_job_id else None
    jobs.refresh(db.session, check, run)
    return check, run


def _column_names(upload: KpiUpload) -> dict[str, str]:
    """Pipeline field → the file's column, to show errors in the file's words."""
    columns = upload.columns or {}
    return {k: v for k, v in columns.items() if isinstance(v, str)}


@bp.post("/measurements/import/<int:upload_id>/confirm")
@login_required
def import_confirm(upload_id: int):
    upload = get_upload_or_403(upload_id)
    form = EmptyForm()
    if not form.validate_on_submit():
        abort(400)
    check, run = _upload_jobs(upload)
    if check is None or check.status != "done" or not (check.result or {}).get("ok"):
        abort(409)
    # Confirmed once; again only when that import failed (it wrote nothing) and the file
    # is still kept.
    if run is None or (run.status == "failed" and upload.imported_at is None):
        if upload.purged_at is not None:
            abort(410)
        _start_job("kpi_import", upload)
    return redirect(url_for("kpis.import_status", upload_id=upload.id))


@bp.post("/measurements/import/<int:upload_id>/retry")
@login_required
def import_retry(upload_id: int):
    """Try a failed check or import again from the saved file, without uploading it again."""
    upload = get_upload_or_403(upload_id)
    form = EmptyForm()
    if not form.validate_on_submit():
        abort(400)
    check, run = _upload_jobs(upload)
    if upload.purged_at is not None:
        abort(410)
    if run is not None:
        if run.status != "failed" or upload.imported_at is not None:
            abort(409)
        _start_job("kpi_import", upload)
    elif check is not None and check.status == "failed":
        _start_job("kpi_check", upload)
    else:
        abort(409)
    return redirect(url_for("kpis.import_status", upload_id=upload.id))
