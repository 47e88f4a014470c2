"""Value drivers (package × KPI → euros) and the stage gates of each package."""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from programme.audit import Audited
from programme.database import Base, TimestampMixin, VersionedMixin, utcnow
from programme.kpis.models import Kpi
from programme.pilots.models import Package

LEVERS = {
    "cost": _l("Cost (money saved)"),
    "revenue": _l("Revenue (money earned)"),
    "none": _l("Non-financial (effect and volume only)"),
}

GATES = {
    "L0": _l("L0 – idea (irritants)"),
    "L1": _l("L1 – pilot designed"),
    "L2": _l("L2 – pilot validated (go)"),
    "L3": _l("L3 – deployment planned (planned value frozen)"),
    "L4": _l("L4 – deploying (actuals accrue)"),
    "L5": _l("L5 – value confirmed (signed off by finance)"),
}
GATE_ORDER = tuple(GATES)


class ValueDriver(Audited, VersionedMixin, TimestampMixin, Base):
    """How a package's effect on one KPI becomes money: value = Δ × d × Q × u, with Q the
    volume (a `count` KPI) and u the euros per unit of KPI per unit of volume."""

    __tablename__ = "value_driver"
    __table_args__ = (
        UniqueConstraint("package_id", "kpi_id"),
        CheckConstraint("lever IN ('cost','revenue','none')", name="lever"),
        CheckConstraint(
            "lever = 'none' OR (unit_low IS NOT NULL AND unit_most_likely IS NOT NULL "
            "AND unit_high IS NOT NULL AND unit_low <= unit_most_likely "
            "AND unit_most_likely <= unit_high)",
            name="unit_value",
        ),
        CheckConstraint("attribution > 0 AND attribution <= 1", name="attribution"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    package_id: Mapped[int] = mapped_column(
        ForeignKey("package.id", ondelete="CASCADE"), index=True
    )
    kpi_id: Mapped[int] = mapped_column(ForeignKey("kpi.id"))
    volume_kpi_id: Mapped[int] = mapped_column(ForeignKey("kpi.id"))
    lever: Mapped[str] = mapped_column(String(10))
    unit_low: Mapped[float | None] = mapped_column(Float)
    unit_most_likely: Mapped[float | None] = mapped_column(Float)
    unit_high: Mapped[float | None] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(300), default="")
    owner: Mapped[str] = mapped_column(String(200), default="")
    explanation: Mapped[str] = mapped_column(Text, default="")
    # The package's share of the effect at the sites another package also claims for the
    # same KPI (the shares of a site's claimants sum to at most 1); 1 where it is alone.
    attribution: Mapped[float] = mapped_column(Float, default=1.0, server_default="1")

    package: Mapped[Package] = relationship()
    kpi: Mapped[Kpi] = relationship(foreign_keys=[kpi_id])
    volume_kpi: Mapped[Kpi] = relationship(foreign_keys=[volume_kpi_id])

    @property
    def financial(self) -> bool:
        return self.lever != "none"

    @property
    def lever_label(self) -> str:
        return str(LEVERS.get(self.lever, self.lever))


class GateMove(Audited, Base):
    """One move of a package's stage gate, with who, when, why (the history)."""

    __tablename__ = "value_gate_move"
    __table_args__ = (
        CheckConstraint("to_gate IN ('L0','L1','L2','L3','L4','L5')", name="to_gate"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    package_id: Mapped[int] = mapped_column(
        ForeignKey("package.id", ondelete="CASCADE"), index=True
    )
    from_gate: Mapped[str] = mapped_column(String(2))
    to_gate: Mapped[str] = mapped_column(String(2))
    comment: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text, default="")
    evidence: Mapped[str] = mapped_column(Text, default="")
    moved_by_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("user.id", ondelete="SET NULL")
    )
    moved_by: Mapped[str] = mapped_column(String(200))
    moved_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ValuePlan(Audited, Base):
    """The planned value of one driver (package × KPI), frozen when the package passed gate
    L3: the pilot's effect then, and one row per month (`ValuePlanMonth`). A later freeze
    (after a move back below L3 and up again) adds a new plan; the latest one counts and
    the earlier ones stay as the record."""

    __tablename__ = "value_plan"

    id: Mapped[int] = mapped_column(primary_key=True)
    package_id: Mapped[int] = mapped_column(
        ForeignKey("package.id", ondelete="CASCADE"), index=True
    )
    kpi_id: Mapped[int] = mapped_column(ForeignKey("kpi.id"))
    gate_move_id: Mapped[int | None] = mapped_column(
        ForeignKey("value_gate_move.id", ondelete="SET NULL")
    )
    frozen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    effect: Mapped[float | None] = mapped_column(Float)
    ci_low: Mapped[float | None] = mapped_column(Float)
    ci_high: Mapped[float | None] = mapped_column(Float)
    reading: Mapped[str] = mapped_column(Text, default="")

    months: Mapped[list[ValuePlanMonth]] = relationship(
        back_populates="plan", cascade="all, delete-orphan", order_by="ValuePlanMonth.month"
    )


class ValuePlanMonth(Base):
    """One month × region of a frozen plan: the planned volume (as is and weighted by the
    attribution shares) and the planned value. Written once at the freeze, never edited
    (the plan itself is audited)."""

    __tablename__ = "value_plan_month"
    __table_args__ = (UniqueConstraint("plan_id", "region_id", "month"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(
        ForeignKey("value_plan.id", ondelete="CASCADE"), index=True
    )
    region_id: Mapped[int] = mapped_column(ForeignKey("region.id", ondelete="CASCADE"))
    month: Mapped[str] = mapped_column(String(7))  # YYYY-MM
    volume: Mapped[float] = mapped_column(Float)  # Σ planned volume of the region's sites
    attributed_volume: Mapped[float] = mapped_column(Float)  # Σ volume × attribution share
    planned: Mapped[float | None] = mapped_column(Float)

    plan: Mapped[ValuePlan] = relationship(back_populates="months")
