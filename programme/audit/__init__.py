"""The audit trail: one mechanism for every domain.

Models that inherit `Audited` get one `audit_event` row per insert, update and delete,
written in the same transaction by a session `after_flush` listener, with the changed
fields as {field: [old, new]}. Bulk pipelines add summary events with `record_event`.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask import has_request_context
from sqlalchemy import JSON, DateTime, ForeignKey, Index, String, event, insert, inspect
from sqlalchemy.orm import Mapped, Session, mapped_column

from programme.database import Base, utcnow

_actor: contextvars.ContextVar[tuple[int | None, str] | None] = contextvars.ContextVar(
    "audit_actor", default=None
)

REDACTED = "••••"


class AuditEvent(Base):
    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_event_entity", "entity", "entity_id"),
        Index("ix_audit_event_at", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL"), index=True
    )
    actor: Mapped[str] = mapped_column(String(200))
    entity: Mapped[str] = mapped_column(String(60))
    entity_id: Mapped[str | None] = mapped_column(String(60))
    action: Mapped[str] = mapped_column(String(30))
    changes: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    summary: Mapped[str | None] = mapped_column(String(500))


class Audited:
    """Mixin: changes to these models are recorded in audit_event.

    `__audit_exclude__` names columns never recorded (e.g. timestamps);
    `__audit_redact__` names columns whose values are replaced by a mask."""

    __audit_exclude__: frozenset[str] = frozenset({"created_at", "updated_at", "version"})
    __audit_redact__: frozenset[str] = frozenset()


@contextmanager
def acting_as(label: str, user_id: int | None = None) -> Iterator[None]:
    """Attribute the changes made inside the block to `label` (CLI commands, jobs)."""
    token = _actor.set((user_id, label))
    try:
        yield
    finally:
        _actor.reset(token)


def current_actor() -> tuple[int | None, str]:
    explicit = _actor.get()
    if explicit is not None:
        return explicit
    if has_request_context():
        from flask_login import current_user

        if current_user and current_user.is_authenticated:
            return current_user.id, current_user.email
        return None, "anonymous"
    return None, "system"


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if hasattr(value, "value"):  # enums
        return value.value
    return str(value)


def _entity_id(obj: Any) -> str | None:
    key = inspect(obj).mapper.primary_key_from_instance(obj)
    if not key or all(part is None for part in key):
        return None
    return ",".join(str(part) for part in key)


def _column_changes(obj: Any, action: str) -> dict[str, list[Any]]:
    state = inspect(obj)
    changes: dict[str, list[Any]] = {}
    exclude = obj.__audit_exclude__
    for column_attr in state.mapper.column_attrs:
        key = column_attr.key
        if key in exclude:
            continue
        hist = state.attrs[key].history
        if action == "create":
            value = getattr(obj, key)
            if value is None:
                continue
            old, new = None, value
        elif action == "delete":
            old = (
                hist.unchanged[0] if hist.unchanged else (hist.deleted[0] if hist.deleted else None)
            )
            if old is None:
                continue
            new = None
        else:
            if not hist.has_changes():
                continue
            old = hist.deleted[0] if hist.deleted else None
            new = hist.added[0] if hist.added else None
            if old == new:
                continue
        if key in obj.__audit_redact__:
            changes[key] = [REDACTED if old is not None else None, REDACTED]
        else:
            changes[key] = [_plain(old), _plain(new)]
    return changes


def _keep_old_value(target, value, oldvalue, initiator):
    return value


@event.listens_for(Audited, "mapper_configured", propagate=True)
def _load_old_values_on_change(mapper, cls) -> None:
    """Make SQLAlchemy load the stored value before a change (active history), so the
    audit trail has the old value even when the object was expired by a commit."""
    for column_attr in mapper.column_attrs:
        if column_attr.key in cls.__audit_exclude__:
            continue
        event.listen(
            getattr(cls, column_attr.key), "set", _keep_old_value, active_history=True, retval=True
        )


@event.listens_for(Session, "after_flush")
def _record_changes(session: Session, flush_context) -> None:
    rows = []
    user_id, actor = current_actor()
    now = utcnow()
    for action, objects in (
        ("create", session.new),
        ("update", session.dirty),
        ("delete", session.deleted),
    ):
        for obj in objects:
            if not isinstance(obj, Audited):
                continue
            changes = _column_changes(obj, action)
            if action == "update" and not changes:
                continue
            rows.append(
                {
                    "at": now,
                    "user_id": user_id,
                    "actor": actor,
                    "entity": obj.__tablename__,
                    "entity_id": _entity_id(obj),
                    "action": action,
                    "changes": changes,
                    "summary": None,
                }
            )
    if rows:
        session.connection().execute(insert(AuditEvent), rows)


def record_event(
    session: Session,
    entity: str,
    action: str,
    summary: str,
    entity_id: str | None = None,
    changes: dict[str, Any] | None = None,
) -> None:
    """A summary event for work that bypasses the ORM (imports, bulk writes, logins)."""
    user_id, actor = current_actor()
    session.execute(
        insert(AuditEvent).values(
            at=utcnow(),
            user_id=user_id,
            actor=actor,
            entity=entity,
            entity_id=entity_id,
            action=action,
            changes=changes,
            summary=summary[:500],
        )
    )
