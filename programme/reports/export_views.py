"""Excel and PDF exports of the leadership report; monthly snapshots.

Thin views: parse the region, resolve the reader's scope through `network.access.scope_for`
(the same perimeter as the screens: a region outside it is a 403, an unknown one a 404),
gather the report from the screens' read models and hand it to the writers in `exports`."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from datetime import date
from typing import BinaryIO

from flask import Blueprint, Response, abort, flash, redirect, request, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wsgi import wrap_file

from programme.audit import record_event
from programme.auth.permissions import require
from programme.extensions import db
from programme.network.access import regions_to_choose, scope_for
from programme.reports import exports, snapshots
from programme.web.htmx import render

bp = Blueprint("exports", __name__, url_prefix="/reports")

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _region_arg() -> int | None:
    """`?region=<id>`: absent or empty means the reader's own scope; anything but a
    positive integer is a region that does not exist (404)."""
    raw = request.args.get("region", "").strip()
    if not raw:
        return None
    if not raw.isdigit() or int(raw) == 0 or len(raw) > 9:
        abort(404)
    return int(raw)


def _download(write: Callable[[BinaryIO], None], mimetype: str, filename: str) -> Response:
    """Write the export into a temporary file, then stream that file in blocks: the export
    is never held in memory whole, and the file goes when the response is closed."""
    file = tempfile.TemporaryFile()  # noqa: SIM115 - closed by the response once sent
    try:
        write(file)
        size = file.tell()
        file.seek(0)
    except BaseException:
        file.close()
        raise
    response = Response(
        wrap_file(request.environ, file), mimetype=mimetype, direct_passthrough=True
    )
    response.content_length = size
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/export.xlsx")
@require("export_reports")
def export_xlsx():
    today = date.today()
    scope = scope_for(db.session, current_user, _region_arg())
    data = exports.gather(db.session, scope, current_user, today)
    return _download(
        lambda file: exports.write_xlsx(db.session, data, file),
        XLSX,
        exports.export_filename(scope, today, "xlsx"),
    )


@bp.get("/export.pdf")
@require("export_reports")
def export_pdf():
    today = date.today()
    scope = scope_for(db.session, current_user, _region_arg())
    data = exports.gather(db.session, scope, current_user, today)
    return _download(
        lambda file: exports.write_pdf(data, file),
        "application/pdf",
        exports.export_filename(scope, today, "pdf"),
    )


@bp.get("/snapshots")
@require("view_reports")
def snapshot_list():
    today = date.today()
    scope = scope_for(db.session, current_user, _region_arg())
    regions = regions_to_choose(db.session, current_user)
    month = snapshots.month_of(today)
    return render(
        "reports/snapshots.html",
        scope=scope,
        rows=snapshots.history(db.session, scope.key),
        regions=regions,
        this_month=month,
        this_month_taken=snapshots.is_taken(db.session, month),
    )


@bp.post("/snapshots")
@require("take_snapshots")
def take_snapshots():
    today = date.today()
    taken = snapshots.take_all(db.session, today, current_user)
    created = sum(1 for t in taken if t.created)
    if created:
        record_event(
            db.session, "snapshot", "take", f"{created} snapshot(s) of {today:%Y-%m} taken"
        )
    db.session.commit()
    month = format_date(snapshots.month_of(today), "MMMM yyyy")
    if created:
        flash(
            _(
                "Snapshots of %(month)s taken: %(created)d new, %(kept)d already taken and kept.",
                month=month,
                created=created,
                kept=len(taken) - created,
            ),
            "success",
        )
    else:
        flash(
            _(
                "The snapshots of %(month)s were already taken; they are kept as they were.",
                month=month,
            ),
            "info",
        )
    return redirect(url_for("exports.snapshot_list"))
