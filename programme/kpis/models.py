"""KPI catalogue, measurements (immutable facts with revisions), weekly rollups,
the site assignments that let pilot team members write, and file uploads."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from programme.audit import Audited
from programme.database import Base, TimestampMixin, VersionedMixin, utcnow

KPI_KINDS = {
    "mean": _l("Mean (e.g. minutes, score)"),
    "rate": _l("Rate (successes out of n)"),
    "count": _l("Count (a volume: its period figure is the sum)"),
}
DIRECTIONS = {"lower": _l("Lower is better"), "higher": _l("Higher is better")}
PERIODS = {"day": _l("Day"), "week": _l("Week")}


class Kpi(Audited, VersionedMixin, TimestampMixin, Base):
    __tablename__ = "kpi"
    __table_args__ = (
        CheckConstraint("kind IN ('mean','rate','count')", name="kind"),
        CheckConstraint("better IN ('lower','higher')", name="better"),
        CheckConstraint("period IN ('day','week')", name="period"),
        CheckConstraint("min_value < max_value", name="range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name_en: Mapped[str] = mapped_column(String(120))
    name_fr: Mapped[str] = mapped_column(String(120))
    unit: Mapped[str] = mapped_column(String(30), default="")
    kind: Mapped[str] = mapped_column(String(10))
    better: Mapped[str] = mapped_column(String(10))
    min_value: Mapped[float] = mapped_column(Float)
    max_value: Mapped[float] = mapped_column(Float)
    period: Mapped[str] = mapped_column(String(10), default="day")
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    @property
    def name(self) -> str:
        locale = str(get_locale() or "fr")
        return self.name_fr if locale.startswith("fr") else self.name_en

    @property
    def label(self) -> str:
        return f"{self.code} – {self.name}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": {"en": self.name_en, "fr": self.name_fr},
            "unit": self.unit,
            "kind": self.kind,
            "better": self.better,
            "min": self.min_value,
            "max": self.max_value,
            "period": self.period,
            "active": self.active,
        }


class Measurement(Base):
    """One site, KPI and period date: the one value that counts now, whatever its source
    (grid, file, API). `source` says where the current value came from.

    Never deleted; a correction copies the previous value (with its source) into
    `measurement_revision` and increments `revision`. Written only by the intake pipeline
    (bulk SQL).

    Its one index besides the primary key is the unique key (site, KPI, date): readers go
    site by site through it (or read the weekly rollups). A second index on (KPI, date)
    cost about a third of the time of every large import and was dropped."""

    __tablename__ = "measurement"
    __table_args__ = (
        UniqueConstraint("site_id", "kpi_id", "period_date", name="uq_measurement_key"),
        CheckConstraint("n > 0", name="n_positive"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"))
    kpi_id: Mapped[int] = mapped_column(ForeignKey("kpi.id"))
    period_date: Mapped[date] = mapped_column(Date)
    source: Mapped[str] = mapped_column(String(120))
    value: Mapped[float] = mapped_column(Float)
    n: Mapped[int] = mapped_column(Integer)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    entered_by: Mapped[str] = mapped_column(String(200))
    entered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    site = relationship("Site")
    kpi: Mapped[Kpi] = relationship()


class MeasurementRevision(Base):
    """A value that was replaced by a correction, with its source, who entered it, who
    replaced it, when and why. What a source sent last for a key is found here when another
    source has corrected it since (so re-sending a feed never flips a correction back)."""

    __tablename__ = "measurement_revision"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    measurement_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), ForeignKey("measurement.id"), index=True
    )
    revision: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(120))
    value: Mapped[float] = mapped_column(Float)
    n: Mapped[int] = mapped_column(Integer)
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    entered_by: Mapped[str] = mapped_column(String(200))
    entered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    replaced_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    replaced_by: Mapped[str] = mapped_column(String(200))
    replaced_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    reason: Mapped[str | None] = mapped_column(String(500))


class KpiWeekRollup(Base):
    """Site × KPI × ISO week (week_start = Monday): Σ value·n, Σ n, count, Σ value, Σ value².

    For a rate, Σ value·n is the number of successes; the weekly value is Σvn / Σn."""

    __tablename__ = "kpi_rollup_week"
    # PostgreSQL: the index carries the site and the sums, so that a KPI's weeks across the
    # network are read from the index alone (migration e7b41c9d2f58).
    __table_args__ = (
        Index(
            "ix_kpi_rollup_week_kpi_week",
            "kpi_id",
            "week_start",
            postgresql_include=["site_id", "sum_vn", "sum_n", "count", "sum_v"],
        ),
    )

    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"), primary_key=True)
    kpi_id: Mapped[int] = mapped_column(ForeignKey("kpi.id"), primary_key=True)
    week_start: Mapped[date] = mapped_column(Date, primary_key=True)
    sum_vn: Mapped[float] = mapped_column(Float, default=0)
    sum_n: Mapped[int] = mapped_column(BigInteger, default=0)
    count: Mapped[int] = mapped_column(Integer, default=0)
    sum_v: Mapped[float] = mapped_column(Float, default=0)
    sum_v2: Mapped[float] = mapped_column(Float, default=0)


class PilotSiteAssignment(Audited, Base):
    """A site a pilot team member may enter measurements for (assigned by an admin).
    Stands in for pilot membership until pilots exist."""

    __tablename__ = "pilot_site_assignment"
    __table_args__ = (UniqueConstraint("user_id", "site_id", name="uq_pilot_site_assignment"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ImportMapping(Audited, TimestampMixin, Base):
    """How the columns of one source's files map to measurement fields (remembered)."""

    __tablename__ = "kpi_import_mapping"

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(120), unique=True)
    layout: Mapped[str] = mapped_column(String(10))
    columns: Mapped[dict[str, Any]] = mapped_column(JSON)


class KpiUpload(Base):
    """An uploaded measurement file, kept in the database so any worker host can read it."""

    __tablename__ = "kpi_upload"

    id: Mapped[int] = mapped_column(primary_key=True)
    filename: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(120))
    layout: Mapped[str | None] = mapped_column(String(10))
    columns: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    check_job_id: Mapped[int | None] = mapped_column(ForeignKey("job.id", ondelete="SET NULL"))
    import_job_id: Mapped[int | None] = mapped_column(ForeignKey("job.id", ondelete="SET NULL"))
    imported_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # When its file was deleted (UPLOAD_RETENTION_DAYS after its import ended); the row stays.
    purged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class KpiUploadFile(Base):
    """The bytes of an upload, in their own table: updating the upload row (its jobs, its
    import time) then never rewrites the file (SQLite rewrites a whole row, blob included,
    on any UPDATE: 2 x 100 MB of memory each time), and no page that shows an upload loads
    it. Deleted by `flask purge-uploads`."""

    __tablename__ = "kpi_upload_file"

    upload_id: Mapped[int] = mapped_column(
        ForeignKey("kpi_upload.id", ondelete="CASCADE"), primary_key=True
    )
    content: Mapped[bytes] = mapped_column(LargeBinary)
