"""Pilots: design (sites in two arms, periods, KPIs with targets, improvements, supporting
functions, team, irritants addressed), team feel, decisions and the package."""

from __future__ import annotations

from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.types import JSON

from programme.audit import Audited
from programme.database import Base, TimestampMixin, VersionedMixin, utcnow

STAGES = {
    "design": _l("Design"),
    "running": _l("Running"),
    "evaluating": _l("Evaluating"),
    "decided": _l("Decided"),
}
ARMS = {"pilot": _l("Pilot site"), "control": _l("Control site")}
DECISIONS = {"go": _l("Go (roll out)"), "iterate": _l("Iterate"), "stop": _l("Stop")}
SUPPORTING_FUNCTIONS = {
    "it": _l("IT"),
    "hr": _l("HR"),
    "logistics": _l("Logistics"),
    "audit": _l("Audit"),
    "real_estate": _l("Real estate"),
    "marketing": _l("Marketing"),
}
ELEMENT_KINDS = {
    "process": _l("Process"),
    "tool": _l("Tool"),
    "indicator": _l("Indicator"),
    "routine": _l("Management routine"),
}
DEPLOYMENT_STEPS = {
    "prepare": _l("Preparation"),
    "train": _l("Team training"),
    "go_live": _l("Go-live"),
    "coach": _l("Field coaching"),
    "sustain": _l("Sustaining the gains"),
}

pilot_irritant = Table(
    "pilot_irritant",
    Base.metadata,
    Column("pilot_id", ForeignKey("pilot.id", ondelete="CASCADE"), primary_key=True),
    Column("irritant_id", ForeignKey("irritant.id", ondelete="CASCADE"), primary_key=True),
)


class Pilot(Audited, VersionedMixin, TimestampMixin, Base):
    __tablename__ = "pilot"
    __table_args__ = (
        CheckConstraint("stage IN ('design','running','evaluating','decided')", name="stage"),
        CheckConstraint("baseline_start <= baseline_end", name="baseline_order"),
        CheckConstraint("pilot_start <= pilot_end", name="pilot_order"),
        CheckConstraint("baseline_end < pilot_start", name="baseline_before_pilot"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    stakes: Mapped[str | None] = mapped_column(Text)
    stage: Mapped[str] = mapped_column(String(12), default="design")
    baseline_start: Mapped[date] = mapped_column(Date)
    baseline_end: Mapped[date] = mapped_column(Date)
    pilot_start: Mapped[date] = mapped_column(Date)
    pilot_end: Mapped[date] = mapped_column(Date)
    supporting_functions: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    # Matched-pair randomization at design: the seed of the draw and its pairs
    # [[pilot site id, control site id], ...]. `randomized` holds only while the arms are
    # the draw's, unchanged (editing an arm clears it; seed and pairs stay as the record).
    randomized: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    randomization_seed: Mapped[int | None] = mapped_column(Integer)
    randomization_pairs: Mapped[list[list[int]] | None] = mapped_column(JSON)
    # Why a design that can never reach 5 % (smallest possible p-value above 0.05) was
    # started anyway: required to leave the design stage with such arms.
    start_reason: Mapped[str | None] = mapped_column(Text)

    sites: Mapped[list[PilotSite]] = relationship(
        back_populates="pilot", cascade="all, delete-orphan", order_by="PilotSite.id"
    )
    kpis: Mapped[list[PilotKpi]] = relationship(
        back_populates="pilot", cascade="all, delete-orphan", order_by="PilotKpi.id"
    )
    improvements: Mapped[list[PilotImprovement]] = relationship(
        back_populates="pilot", cascade="all, delete-orphan", order_by="PilotImprovement.id"
    )
    members: Mapped[list[PilotMember]] = relationship(
        back_populates="pilot", cascade="all, delete-orphan", order_by="PilotMember.id"
    )
    irritants = relationship("Irritant", secondary=pilot_irritant, order_by="Irritant.name")
    pulses: Mapped[list[PulseAnswer]] = relationship(
        back_populates="pilot", cascade="all, delete-orphan", order_by="PulseAnswer.id"
    )
    decisions: Mapped[list[PilotDecision]] = relationship(
        back_populates="pilot", cascade="all, delete-orphan", order_by="PilotDecision.id"
    )
    packages: Mapped[list[Package]] = relationship(
        back_populates="pilot", cascade="all, delete-orphan", order_by="Package.id"
    )

    def site_ids(self, arm: str) -> list[int]:
        return [s.site_id for s in self.sites if s.arm == arm]

    @property
    def pairs(self) -> list[tuple[int, int]] | None:
        """The matched pairs of the draw while the design is still the draw's, else None."""
        if not self.randomized or not self.randomization_pairs:
            return None
        return [(int(a), int(b)) for a, b in self.randomization_pairs]

    @property
    def decision(self) -> PilotDecision | None:
        return self.decisions[-1] if self.decisions else None

    @property
    def package(self) -> Package | None:
        return self.packages[-1] if self.packages else None

    @property
    def stage_label(self) -> str:
        return str(STAGES.get(self.stage, self.stage))


class PilotSite(Audited, Base):
    """A site in one arm of a pilot; one row per (pilot, site), so a site is never in both."""

    __tablename__ = "pilot_site"
    __table_args__ = (
        UniqueConstraint("pilot_id", "site_id", name="uq_pilot_site"),
        CheckConstraint("arm IN ('pilot','control')", name="arm"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    pilot_id: Mapped[int] = mapped_column(ForeignKey("pilot.id", ondelete="CASCADE"), index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id", ondelete="CASCADE"), index=True)
    arm: Mapped[str] = mapped_column(String(10))

    pilot: Mapped[Pilot] = relationship(back_populates="sites")
    site = relationship("Site")


class PilotKpi(Audited, Base):
    """A KPI the pilot is judged on, with its target as a relative change (−0.2 = −20 %)."""

    __tablename__ = "pilot_kpi"
    __table_args__ = (UniqueConstraint("pilot_id", "kpi_id", name="uq_pilot_kpi"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    pilot_id: Mapped[int] = mapped_column(ForeignKey("pilot.id", ondelete="CASCADE"), index=True)
    kpi_id: Mapped[int] = mapped_column(ForeignKey("kpi.id"), index=True)
    target_relative: Mapped[float | None] = mapped_column(Float)

    pilot: Mapped[Pilot] = relationship(back_populates="kpis")
    kpi = relationship("Kpi")


class PilotImprovement(Audited, Base):
    """One described change the pilot tests."""

    __tablename__ = "pilot_improvement"

    id: Mapped[int] = mapped_column(primary_key=True)
    pilot_id: Mapped[int] = mapped_column(ForeignKey("pilot.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)

    pilot: Mapped[Pilot] = relationship(back_populates="improvements")


class PilotMember(Audited, Base):
    """A member of the pilot team: edits the pilot, records team feel and the decision, and
    writes measurements for the pilot's sites."""

    __tablename__ = "pilot_member"
    __table_args__ = (UniqueConstraint("pilot_id", "user_id", name="uq_pilot_member"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    pilot_id: Mapped[int] = mapped_column(ForeignKey("pilot.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)

    pilot: Mapped[Pilot] = relationship(back_populates="members")
    user = relationship("User")


class PulseAnswer(Audited, Base):
    """Team feel: one contact-team answer to "did the change make your work better?"."""

    __tablename__ = "pilot_pulse"
    __table_args__ = (CheckConstraint("score BETWEEN 1 AND 5", name="score_range"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    pilot_id: Mapped[int] = mapped_column(ForeignKey("pilot.id", ondelete="CASCADE"), index=True)
    site_id: Mapped[int | None] = mapped_column(ForeignKey("site.id", ondelete="SET NULL"))
    score: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    answered_on: Mapped[date] = mapped_column(Date)
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    pilot: Mapped[Pilot] = relationship(back_populates="pulses")
    site = relationship("Site")


class PilotDecision(Audited, Base):
    """Go / iterate / stop, with date, who and why. The latest one counts."""

    __tablename__ = "pilot_decision"
    __table_args__ = (CheckConstraint("decision IN ('go','iterate','stop')", name="decision"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    pilot_id: Mapped[int] = mapped_column(ForeignKey("pilot.id", ondelete="CASCADE"), index=True)
    decision: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str] = mapped_column(Text)
    decided_on: Mapped[date] = mapped_column(Date)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    decided_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    pilot: Mapped[Pilot] = relationship(back_populates="decisions")

    @property
    def label(self) -> str:
        return str(DECISIONS.get(self.decision, self.decision))


class Package(Audited, TimestampMixin, Base):
    """The codified target validated by a pilot: what deployment waves roll out."""

    __tablename__ = "package"

    id: Mapped[int] = mapped_column(primary_key=True)
    pilot_id: Mapped[int | None] = mapped_column(
        ForeignKey("pilot.id", ondelete="SET NULL"), index=True
    )
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str | None] = mapped_column(Text)

    pilot: Mapped[Pilot | None] = relationship(back_populates="packages")
    elements: Mapped[list[PackageElement]] = relationship(
        back_populates="package", cascade="all, delete-orphan", order_by="PackageElement.id"
    )


class PackageElement(Audited, Base):
    __tablename__ = "package_element"
    __table_args__ = (
        CheckConstraint("kind IN ('process','tool','indicator','routine')", name="kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    package_id: Mapped[int] = mapped_column(
        ForeignKey("package.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(12))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    deployment_step: Mapped[str] = mapped_column(String(20))

    package: Mapped[Package] = relationship(back_populates="elements")

    @property
    def kind_label(self) -> str:
        return str(ELEMENT_KINDS.get(self.kind, self.kind))

    @property
    def step_label(self) -> str:
        return str(DEPLOYMENT_STEPS.get(self.deployment_step, self.deployment_step))
