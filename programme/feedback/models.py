"""Feedback responses and the cases that follow up unhappy customers."""

from __future__ import annotations

from datetime import UTC, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from programme.audit import Audited
from programme.database import Base, TimestampMixin, VersionedMixin, utcnow

# A score's scale: (lowest, highest, highest detractor score).
SCALES = {
    "nps": (0, 10, 6),
    "csat5": (1, 5, 2),
}
SCALE_LABELS = {
    "nps": _l("Recommendation (0–10)"),
    "csat5": _l("Satisfaction (1–5)"),
}

STATUSES = {
    "open": _l("To contact"),
    "contacted": _l("Contacted"),
    "closed": _l("Closed"),
}

OUTCOMES = {
    "resolved": _l("Resolved"),
    "explained": _l("Explained"),
    "unreachable": _l("Unreachable"),
}

# The source a note taken at the counter is recorded under.
COUNTER_SOURCE = "counter"


def as_utc(moment: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes: they are UTC (the intake stores UTC only)."""
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def is_detractor(scale: str, score: int) -> bool:
    return score <= SCALES[scale][2]


class FeedbackResponse(Base):
    """One customer's answer, from one source. Immutable: the same source and id again
    changes nothing. Written in bulk by the intake (audited by a summary event)."""

    __tablename__ = "feedback_response"
    __table_args__ = (
        UniqueConstraint("source", "external_id", name="uq_feedback_response_source_id"),
        CheckConstraint("scale IN ('nps','csat5')", name="scale"),
        CheckConstraint(
            "(scale = 'nps' AND score BETWEEN 0 AND 10) OR (scale = 'csat5' AND score BETWEEN 1 AND 5)",
            name="score_in_scale",
        ),
        CheckConstraint("contact_ref IS NULL OR contact_consent", name="contact_needs_consent"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(60))
    external_id: Mapped[str] = mapped_column(String(120))
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    journey_step: Mapped[str | None] = mapped_column(String(60))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    score: Mapped[int] = mapped_column(Integer)
    scale: Mapped[str] = mapped_column(String(10))
    comment: Mapped[str | None] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(5), default="fr")
    complaint: Mapped[bool] = mapped_column(Boolean, default=False)
    contact_consent: Mapped[bool] = mapped_column(Boolean, default=False)
    contact_ref: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))

    site = relationship("Site")


class FeedbackCase(Audited, VersionedMixin, TimestampMixin, Base):
    """Calling back an unhappy customer: open → contacted → closed."""

    __tablename__ = "feedback_case"
    __table_args__ = (
        CheckConstraint("status IN ('open','contacted','closed')", name="status"),
        CheckConstraint(
            "outcome IS NULL OR outcome IN ('resolved','explained','unreachable')", name="outcome"
        ),
        CheckConstraint(
            "cause IS NULL OR cause IN ('technical','ergonomic','relational','commercial')",
            name="cause",
        ),
        CheckConstraint(
            "status <> 'closed' OR (outcome IS NOT NULL AND cause IS NOT NULL)",
            name="closed_has_outcome_and_cause",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(
        ForeignKey("feedback_response.id", ondelete="CASCADE"), unique=True
    )
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id", ondelete="CASCADE"), index=True)
    assignee_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL"), index=True
    )
    status: Mapped[str] = mapped_column(String(12), default="open", index=True)
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # One working day after due_at (site's time zone): still open then, it is escalated.
    escalate_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    contacted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    outcome: Mapped[str | None] = mapped_column(String(20))
    cause: Mapped[str | None] = mapped_column(String(20))
    journey_step: Mapped[str | None] = mapped_column(String(60))
    note: Mapped[str | None] = mapped_column(Text)
    irritant_id: Mapped[int | None] = mapped_column(
        ForeignKey("irritant.id", ondelete="SET NULL"), index=True
    )
    # A new irritant proposed to the programme office when no existing one fits.
    proposed_irritant: Mapped[str | None] = mapped_column(String(200))

    response: Mapped[FeedbackResponse] = relationship()
    site = relationship("Site")
    assignee = relationship("User", foreign_keys=[assignee_id])
    irritant = relationship("Irritant")

    @property
    def overdue(self) -> bool:
        return self.status == "open" and as_utc(self.due_at) < utcnow()

    @property
    def escalated(self) -> bool:
        return self.status == "open" and as_utc(self.escalate_at) < utcnow()

    @property
    def status_label(self) -> str:
        return str(STATUSES.get(self.status, self.status))


class FeedbackImportMapping(Audited, TimestampMixin, Base):
    """How the columns of one source's files map to response fields (remembered)."""

    __tablename__ = "feedback_import_mapping"

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(60), unique=True)
    columns: Mapped[dict] = mapped_column(JSON)
