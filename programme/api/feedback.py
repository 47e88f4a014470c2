"""/api/v1: customer feedback (the same intake service as the counter form and the file
imports) and the close-the-loop cases (the screens' loader and rules)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from flask import g, jsonify
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from programme.api import schemas as s
from programme.api.base import FORBIDDEN, MAX_ITEMS, bp, created, load
from programme.api.spec import error_response, json_body, operation, query_args
from programme.audit import acting_as
from programme.errors import Conflict, Invalid
from programme.extensions import db
from programme.feedback import queries, services
from programme.feedback.access import get_case_or_403
from programme.feedback.models import as_utc
from programme.network.models import Site


@bp.post("/feedback")
@operation(
    summary="Add customer feedback responses (same source and id again: unchanged)",
    description=(
        "All or nothing. A detractor (nps 0–6, csat5 1–2) or a complaint from a customer "
        "who agreed to be contacted opens a case for the site, due two working days later "
        "(Monday to Friday, same local time in the site's time zone) and assigned to the "
        "site's manager."
    ),
    operation_id="postFeedback",
    body=s.FeedbackBatch,
    max_items=MAX_ITEMS,
    responses={
        201: (s.FeedbackCounts, "Every item written (or already there)."),
        403: (s.Forbidden, "The user may not record feedback, or not for some of these sites."),
        422: (
            s.ValidationErrors,
            "Per-item errors (a score outside its scale, an unknown site, a time in the "
            "future, a contact reference without consent): nothing was written.",
        ),
    },
    action="record_feedback",
    refused=_l("Your role may not record customer feedback."),
)
def feedback_post():
    user = g.api_user
    _items, raw = json_body()
    with acting_as(f"api:{user.email}", user.id):
        try:
            summary = services.record_responses(db.session, user, raw, label=f"api:{g.api_client}")
            db.session.commit()
        except services.FeedbackRefused as refused:
            if not refused.forbidden:
                raise
            db.session.rollback()
            return error_response(
                403,
                _("You may not record feedback for some of these sites."),
                errors=[e.as_dict("index") for e in refused.errors],
            )
    return created(summary.as_dict())


def _iso(moment) -> str:
    return as_utc(moment).isoformat()


def _case_dict(row) -> dict:
    return {
        "id": row.id,
        "site": row.site_code,
        "opened_at": _iso(row.opened_at),
        "due_at": _iso(row.due_at),
        "status": row.status,
        "overdue": bool(row.overdue),
        "escalated": bool(row.escalated),
        "score": row.score,
        "scale": row.scale,
        "source": row.source,
        "external_id": row.external_id,
    }


@bp.get("/cases")
@operation(
    summary="The cases of the token's user's perimeter, most urgent first",
    operation_id="listCases",
    query=s.CaseQuery,
    responses={
        200: (list[s.Case], "At most 500 cases."),
        403: FORBIDDEN,
        422: (s.ValidationErrors, "An invalid or empty filter, or an unknown site."),
    },
    action="view_cases",
    refused=_l("Your role may not see customer cases."),
)
def cases_get():
    user = g.api_user
    query = query_args()
    site_id = None
    if query.site is not None:
        site_id = db.session.scalar(select(Site.id).where(Site.code == query.site.strip().upper()))
        if site_id is None:
            raise Invalid.on("site", _("Unknown site code."))
    opened_from = datetime.combine(query.from_, time(), UTC) if query.from_ else None
    opened_to = (
        datetime.combine(query.to + timedelta(days=1), time(), UTC)
        if query.to and query.to.year < 9999
        else None
    )
    rows = queries.case_rows(
        db.session,
        user,
        status=query.status,
        site_id=site_id,
        opened_from=opened_from,
        opened_to=opened_to,
    )
    return jsonify([_case_dict(row) for row in rows])


@bp.post("/cases/<int:case_id>/close")
@operation(
    summary="Close a case with its outcome and root cause",
    operation_id="closeCase",
    body=s.CaseCloseInput,
    responses={
        200: (s.Case, "The closed case."),
        403: FORBIDDEN,
        404: (s.Error, "No such case."),
        409: (s.Error, "The case is already closed."),
        422: (s.ValidationErrors, "A missing outcome or cause, or an unknown irritant."),
    },
)
def case_close(case_id: int):
    user = g.api_user
    case = load(
        get_case_or_403,
        case_id,
        "handle_cases",
        missing=_l("No such case."),
        refused=_l("You may not handle this case."),
    )
    body, _raw = json_body()
    with acting_as(f"api:{user.email}", user.id):
        try:
            services.close_case(
                db.session,
                case,
                outcome=body.outcome,
                cause=body.cause,
                journey_step=body.journey_step,
                note=body.note,
                irritant_id=body.irritant,
                proposed_irritant=body.proposed_irritant,
            )
            db.session.commit()
        except Conflict:
            db.session.rollback()
            return error_response(409, _("This case is already closed."))
    (row,) = queries.case_rows(db.session, user, case_id=case_id)
    return jsonify(_case_dict(row))
