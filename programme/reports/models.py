"""Monthly snapshots of the headline figures, so leadership can compare this month with
last month. One row per month and scope; figures are stored as taken and never
rewritten."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, DateTime, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from programme.database import Base, utcnow


class Snapshot(Base):
    """The headline figures of one scope ("network", "region:<id>") as they stood when the
    month's snapshot was taken. `month` is the first day of the month it was taken in; the
    first snapshot of a month is kept (a second attempt changes nothing), so a figure once
    reported to leadership never moves."""

    __tablename__ = "snapshot"
    __table_args__ = (UniqueConstraint("month", "scope", name="uq_snapshot_month_scope"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    month: Mapped[date] = mapped_column(Date)
    scope: Mapped[str] = mapped_column(String(40))
    figures: Mapped[dict[str, Any]] = mapped_column(JSON)
    taken_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    taken_by: Mapped[str] = mapped_column(String(200))
    taken_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL"), nullable=True
    )

    def __repr__(self) -> str:
        return f"<Snapshot {self.scope} {self.month:%Y-%m}>"
