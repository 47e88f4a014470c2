"""The audit trail screen for the programme office: browse, filter, export as CSV."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, time, timedelta

from flask import Blueprint, Response, current_app, request, stream_with_context
from flask_babel import get_timezone, pgettext
from sqlalchemy import func, select

from programme.audit import AuditEvent
from programme.auth.permissions import require
from programme.extensions import db
from programme.web.htmx import render
from programme.web.parsing import int_arg, parse_date

bp = Blueprint("audit", __name__)


def _filtered():
    stmt = select(AuditEvent)
    filters = {
        "entity": request.args.get("entity", "")[:60],
        "action": request.args.get("action", "")[:30],
        "actor": request.args.get("actor", "")[:200],
        "entity_id": request.args.get("entity_id", "")[:60],
        "start": parse_date(request.args.get("start")),
        "end": parse_date(request.args.get("end")),
    }
    if filters["entity"]:
        stmt = stmt.where(AuditEvent.entity == filters["entity"])
    if filters["action"]:
        stmt = stmt.where(AuditEvent.action == filters["action"])
    if filters["actor"]:
        stmt = stmt.where(func.lower(AuditEvent.actor).like(f"%{filters['actor'].lower()}%"))
    if filters["entity_id"]:
        stmt = stmt.where(AuditEvent.entity_id == filters["entity_id"])
    tz = get_timezone()
    if filters["start"]:
        stmt = stmt.where(AuditEvent.at >= datetime.combine(filters["start"], time(), tz))
    if filters["end"]:
        stmt = stmt.where(
            AuditEvent.at < datetime.combine(filters["end"] + timedelta(days=1), time(), tz)
        )
    return stmt, filters


@bp.get("/audit")
@require("view_audit")
def event_list():
    stmt, filters = _filtered()
    page_size = current_app.config["AUDIT_PAGE_SIZE"]
    page = int_arg("page") or 1
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    events = db.session.scalars(
        stmt.order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .offset((page - 1) * page_size)
        .limit(page_size)
    ).all()
    entities = db.session.scalars(
        select(AuditEvent.entity).distinct().order_by(AuditEvent.entity)
    ).all()
    actions = db.session.scalars(
        select(AuditEvent.action).distinct().order_by(AuditEvent.action)
    ).all()
    pages = max(1, -(-total // page_size))
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
    stmt, _filters = _filtered()

    def rows():
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(
            ["at", "actor", "entity", "entity_id", "action", "field", "old", "new", "summary"]
        )
        yield "\ufeff" + buffer.getvalue()
        result = db.session.execute(
            stmt.order_by(AuditEvent.at, AuditEvent.id).execution_options(yield_per=1000)
        ).scalars()
        for event in result:
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
