"""Reading the audit trail: the filtered events, a page of them, the filter choices."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from programme.audit import AuditEvent


@dataclass(frozen=True)
class AuditFilters:
    entity: str = ""
    action: str = ""
    actor: str = ""
    entity_id: str = ""
    start: date | None = None
    end: date | None = None


def filtered(filters: AuditFilters, tz: tzinfo) -> Select:
    """The events matching `filters`, days read in the reader's time zone `tz`."""
    stmt = select(AuditEvent)
    if filters.entity:
        stmt = stmt.where(AuditEvent.entity == filters.entity)
    if filters.action:
        stmt = stmt.where(AuditEvent.action == filters.action)
    if filters.actor:
        stmt = stmt.where(func.lower(AuditEvent.actor).like(f"%{filters.actor.lower()}%"))
    if filters.entity_id:
        stmt = stmt.where(AuditEvent.entity_id == filters.entity_id)
    if filters.start:
        stmt = stmt.where(AuditEvent.at >= _day_start(filters.start, tz))
    if filters.end:
        stmt = stmt.where(AuditEvent.at < _day_start(filters.end + timedelta(days=1), tz))
    return stmt


def _day_start(day: date, tz: tzinfo) -> datetime:
    """The instant `day` starts in `tz`, in UTC: the trail's times are stored in UTC, and
    SQLite compares them as text, so the bound must be written in UTC too."""
    return datetime.combine(day, time(), tz).astimezone(UTC)


def page_of(session: Session, stmt: Select, page: int, page_size: int) -> tuple[list, int]:
    """(the events of page `page`, newest first; the number of events matching)."""
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    events = session.scalars(
        stmt.order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .offset((page - 1) * page_size)
        .limit(page_size)
    ).all()
    return list(events), total


def choices(session: Session) -> tuple[list[str], list[str]]:
    """The entities and the actions the trail holds (the filters' lists)."""
    entities = session.scalars(select(AuditEvent.entity).distinct().order_by(AuditEvent.entity))
    actions = session.scalars(select(AuditEvent.action).distinct().order_by(AuditEvent.action))
    return list(entities), list(actions)


def oldest_first(session: Session, stmt: Select):
    """The events of `stmt` in time order, read 1,000 at a time (the CSV export)."""
    return session.execute(
        stmt.order_by(AuditEvent.at, AuditEvent.id).execution_options(yield_per=1000)
    ).scalars()
