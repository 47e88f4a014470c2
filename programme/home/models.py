"""E-mail digest preferences and the digests sent (one per person and period)."""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from programme.audit import Audited
from programme.database import Base, TimestampMixin, utcnow

FREQUENCIES = {"daily": _l("Every day"), "weekly": _l("Every Monday")}
# The same inside a sentence ("Digest saved: every Monday at 7:00").
FREQUENCY_PHRASES = {"daily": _l("every day"), "weekly": _l("every Monday")}


class DigestPreference(Audited, TimestampMixin, Base):
    """A person's opt-in: daily or weekly, at an hour of the day in their time zone."""

    __tablename__ = "digest_preference"
    __table_args__ = (
        CheckConstraint("frequency IN ('daily','weekly')", name="frequency"),
        CheckConstraint("hour BETWEEN 0 AND 23", name="hour"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), unique=True)
    frequency: Mapped[str] = mapped_column(String(10))
    hour: Mapped[int] = mapped_column(Integer)
    time_zone: Mapped[str] = mapped_column(String(64))

    @property
    def frequency_label(self) -> str:
        return str(FREQUENCIES.get(self.frequency, self.frequency))

    @property
    def frequency_phrase(self) -> str:
        return str(FREQUENCY_PHRASES.get(self.frequency, self.frequency))


class DigestSent(Base):
    """One digest sent: at most one per person and period ("2026-12-07" for a day,
    "2026-W50" for a week), which the unique key enforces even with two runners."""

    __tablename__ = "digest_sent"
    __table_args__ = (UniqueConstraint("user_id", "period", name="uq_digest_sent_user_period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    period: Mapped[str] = mapped_column(String(10))
    lines: Mapped[int] = mapped_column(Integer)
    sent_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
