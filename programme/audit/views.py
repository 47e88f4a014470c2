"""The audit trail screen for the programme office: browse, filter, export as CSV."""

from __future__ import annotations

import csv
import io
from datetime import date

from flask import Blueprint, Response, current_app, request, stream_with_context
from flask_babel import pgettext

from programme.audit import queries
from programme.auth.permissions import require
from programme.extensions import db
from programme.web.htmx import render
from programme.web.i18n import reader_zone
from programme.web.paging import page_window
from programme.web.parsing import int_arg, parse_date

bp = Blueprint("audit", __name__)


def _filters() -> queries.AuditFilters:
    return queries.AuditFilters(
        entity=request.args.get("entity", "")[:60],
        action=request.args.get("action", "")[:30],
        actor=request.args.get("actor", "")[:200],
        entity_id=request.args.get("entity_id", "")[:60],
        start=parse_date(request.args.get("start")),
        end=parse_date(request.args.get("end")),
    )


@bp.get("/audit")
@require("view_audit")
def event_list():
    filters = _filters()
    page_size = current_app.config["AUDIT_PAGE_SIZE"]
    page = int_arg("page") or 1
    stmt = queries.filtered(filters, reader_zone())
    events, total = queries.page_of(db.session, stmt, page, page_size)
    entities, actions = queries.choices(db.session)
    _shown, pages = page_window(total, page, page_size)
    return render(
        "audit/event_list.html",
        "audit/_event_table.html",
        events=events,
        filters=filters,
        entities=entities,
        actions=actions,
        total=total,
        page=page,
        pages=pages,
    )


def neutralise(value) -> str:
    """Keep spreadsheet programs from running a cell as a formula."""
    text = "" if value is None else str(value)
    if text and text[0] in "=+-@\t\r":
        return "'" + text
    return text


@bp.get("/audit/export.csv")
@require("view_audit")
def event_export():
    stmt = queries.filtered(_filters(), reader_zone())

    def rows():
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(
            ["at", "actor", "entity", "entity_id", "action", "field", "old", "new", "summary"]
        )
        yield "\ufeff" + buffer.getvalue()
        for event in queries.oldest_first(db.session, stmt):
            changes = event.changes or {}
            items = list(changes.items()) or [(None, [None, None])]
            buffer.seek(0)
            buffer.truncate()
            for field, pair in items:
                old, new = (pair + [None, None])[:2] if isinstance(pair, list) else (None, pair)
                writer.writerow(
                    [
                        event.at.isoformat(),
                        neutralise(event.actor),
                        event.entity,
                        neutralise(event.entity_id),
                        event.action,
                        neutralise(field),
                        neutralise(old),
                        neutralise(new),
                        neutralise(event.summary),
                    ]
                )
            yield buffer.getvalue()

    # The file is named in the reader's language (journal-audit_2026-12-06.csv).
    base = pgettext("file name", "audit-trail")
    name = f"{base}_{date.today().isoformat()}.csv"
    return Response(
        stream_with_context(rows()),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
