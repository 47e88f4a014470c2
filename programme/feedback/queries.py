"""Read side of the cases: lists in a user's perimeter, with lateness computed in SQL."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, case, select
from sqlalchemy.orm import Session

from programme.auth.models import User
from programme.database import utcnow
from programme.feedback.access import filter_cases
from programme.feedback.models import FeedbackCase, FeedbackResponse
from programme.network.models import Site


@dataclass
class CaseRow:
    id: int
    site_id: int
    site_code: str
    site_name: str
    status: str
    opened_at: datetime
    due_at: datetime
    score: int
    scale: str
    source: str
    external_id: str
    received_at: datetime
    channel: str
    complaint: bool
    assignee: str | None
    overdue: bool
    escalated: bool


def case_rows(
    session: Session,
    user,
    *,
    status: str | None = None,
    site_id: int | None = None,
    case_id: int | None = None,
    opened_from: datetime | None = None,
    opened_to: datetime | None = None,
    now: datetime | None = None,
    limit: int = 500,
) -> list[CaseRow]:
    """The cases `user` may see, most urgent first: still to contact (oldest deadline
    first), then contacted, then closed (latest first). A case still to contact after its
    deadline is overdue; one working day later it is escalated to the regional manager."""
    now = now or utcnow()
    waiting = FeedbackCase.status == "open"
    stmt = (
        select(
            FeedbackCase.id,
            FeedbackCase.site_id,
            Site.code,
            Site.name,
            FeedbackCase.status,
            FeedbackCase.opened_at,
            FeedbackCase.due_at,
            FeedbackResponse.score,
            FeedbackResponse.scale,
            FeedbackResponse.source,
            FeedbackResponse.external_id,
            FeedbackResponse.received_at,
            FeedbackResponse.channel,
            FeedbackResponse.complaint,
            User.name,
            case((and_(waiting, FeedbackCase.due_at < now), True), else_=False),
            case((and_(waiting, FeedbackCase.escalate_at < now), True), else_=False),
        )
        .join(Site, Site.id == FeedbackCase.site_id)
        .join(FeedbackResponse, FeedbackResponse.id == FeedbackCase.response_id)
        .outerjoin(User, User.id == FeedbackCase.assignee_id)
    )
    stmt = filter_cases(stmt, user)
    if status == "escalated":
        stmt = stmt.where(waiting, FeedbackCase.escalate_at < now)
    elif status == "overdue":
        stmt = stmt.where(waiting, FeedbackCase.due_at < now)
    elif status:
        stmt = stmt.where(FeedbackCase.status == status)
    if site_id:
        stmt = stmt.where(FeedbackCase.site_id == site_id)
    if case_id:
        stmt = stmt.where(FeedbackCase.id == case_id)
    if opened_from:
        stmt = stmt.where(FeedbackCase.opened_at >= opened_from)
    if opened_to:
        stmt = stmt.where(FeedbackCase.opened_at < opened_to)
    order = case({"open": 0, "contacted": 1}, value=FeedbackCase.status, else_=2)
    stmt = stmt.order_by(order, FeedbackCase.due_at, FeedbackCase.id).limit(limit)
    return [CaseRow(*row) for row in session.execute(stmt).all()]


def perimeter_sites(session: Session, user) -> list[Site]:
    from programme.auth.permissions import filter_sites

    return list(session.scalars(filter_sites(select(Site), user).order_by(Site.code)))
