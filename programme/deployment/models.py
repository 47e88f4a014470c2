"""Deployment in waves: waves of sites rolling out a package, the per-site checklist of
package elements (with its history), field coaches, their assignments and visits, line
management engagement and the wave's communication milestones."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from programme.audit import Audited
from programme.database import Base, TimestampMixin, VersionedMixin, utcnow

WAVE_STATUSES = {
    "planned": _l("Planned"),
    "preparing": _l("Preparing"),
    "deploying": _l("Deploying"),
    "stabilising": _l("Stabilising"),
    "closed": _l("Closed"),
}
# A wave is active until it is closed: a site is in at most one active wave per package.
ACTIVE_STATUSES = ("planned", "preparing", "deploying", "stabilising")
# "During deployment" for the visit alert: once stabilising, visits space out.
DEPLOYING_STATUSES = ("deploying",)

# The checklist states, in order: a move to a lower rank is a move backwards.
ITEM_STATES = {
    "not_started": _l("Not started"),
    "in_progress": _l("In progress"),
    "in_place": _l("In place"),
    "sustained": _l("Sustained"),
}
STATE_RANK = {key: rank for rank, key in enumerate(ITEM_STATES)}
DONE_STATES = ("in_place", "sustained")

BLOCKER_CATEGORIES = {
    "staffing": _l("Staffing"),
    "skills": _l("Skills"),
    "tools": _l("Tools / IT"),
    "space": _l("Space layout"),
    "management": _l("Line management"),
    "customers": _l("Customers"),
    "other": _l("Other"),
}

AUDIENCES = {
    "booked_customers": _l("Customers with an appointment booked"),
    "customers_mid_journey": _l("Customers mid-journey"),
    "staff": _l("Staff"),
    "partners": _l("Partners"),
}

# The communication plan's defaults from the field: (key, offset from go-live in days,
# audience).
DEFAULT_MILESTONES = (
    ("customer_information", -30, "booked_customers"),
    ("bookings_new_process", -15, "customers_mid_journey"),
    ("go_live", 0, "staff"),
    ("stabilisation_review", 30, "staff"),
)
MILESTONE_KINDS = {
    "customer_information": _l("Customer information"),
    "bookings_new_process": _l("Bookings on the new process"),
    "go_live": _l("Go-live"),
    "stabilisation_review": _l("Stabilisation review"),
}

# A wave's assignments may run until the stabilisation review.
STABILISATION_DAYS = 30
DEFAULT_CAPACITY = 4


class Wave(Audited, VersionedMixin, TimestampMixin, Base):
    __tablename__ = "wave"
    __table_args__ = (
        CheckConstraint(
            "status IN ('planned','preparing','deploying','stabilising','closed')", name="status"
        ),
        CheckConstraint("go_live >= start", name="dates"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    package_id: Mapped[int] = mapped_column(ForeignKey("package.id"), index=True)
    start: Mapped[date] = mapped_column(Date)
    go_live: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12), default="planned")

    package = relationship("Package")
    sites: Mapped[list[WaveSite]] = relationship(
        back_populates="wave", cascade="all, delete-orphan", order_by="WaveSite.id"
    )
    milestones: Mapped[list[Milestone]] = relationship(
        back_populates="wave", cascade="all, delete-orphan", order_by="Milestone.offset_days"
    )

    @property
    def end(self) -> date:
        """The end of the wave's window: the stabilisation review after go-live."""
        return self.go_live + timedelta(days=STABILISATION_DAYS)

    @property
    def status_label(self) -> str:
        return str(WAVE_STATUSES.get(self.status, self.status))

    @property
    def active(self) -> bool:
        return self.status in ACTIVE_STATUSES


class WaveSite(Audited, Base):
    __tablename__ = "wave_site"
    __table_args__ = (UniqueConstraint("wave_id", "site_id", name="uq_wave_site_wave_site"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    wave_id: Mapped[int] = mapped_column(ForeignKey("wave.id", ondelete="CASCADE"), index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id", ondelete="CASCADE"), index=True)

    wave: Mapped[Wave] = relationship(back_populates="sites")
    site = relationship("Site")


class ChecklistItem(Audited, VersionedMixin, Base):
    """One package element at one site of one wave."""

    __tablename__ = "checklist_item"
    __table_args__ = (
        UniqueConstraint("wave_id", "site_id", "element_id", name="uq_checklist_item_key"),
        CheckConstraint(
            "state IN ('not_started','in_progress','in_place','sustained')", name="state"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    wave_id: Mapped[int] = mapped_column(ForeignKey("wave.id", ondelete="CASCADE"), index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id", ondelete="CASCADE"), index=True)
    element_id: Mapped[int] = mapped_column(
        ForeignKey("package_element.id", ondelete="CASCADE"), index=True
    )
    state: Mapped[str] = mapped_column(String(12), default="not_started")
    state_on: Mapped[date | None] = mapped_column(Date)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    updated_by: Mapped[str | None] = mapped_column(String(200))
    evidence: Mapped[str | None] = mapped_column(Text)

    wave: Mapped[Wave] = relationship()
    element = relationship("PackageElement")
    events: Mapped[list[ProgressEvent]] = relationship(
        back_populates="item", cascade="all, delete-orphan", order_by="ProgressEvent.id"
    )

    @property
    def state_label(self) -> str:
        return str(ITEM_STATES.get(self.state, self.state))


class ProgressEvent(Base):
    """The history of a checklist item: every state change, never rewritten."""

    __tablename__ = "progress_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(
        ForeignKey("checklist_item.id", ondelete="CASCADE"), index=True
    )
    from_state: Mapped[str] = mapped_column(String(12))
    to_state: Mapped[str] = mapped_column(String(12))
    happened_on: Mapped[date] = mapped_column(Date)
    by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    by: Mapped[str] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visit.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    item: Mapped[ChecklistItem] = relationship(back_populates="events")


coach_region = Table(
    "coach_region",
    Base.metadata,
    Column("coach_id", ForeignKey("coach.id", ondelete="CASCADE"), primary_key=True),
    Column("region_id", ForeignKey("region.id", ondelete="CASCADE"), primary_key=True),
)


class Coach(Audited, TimestampMixin, Base):
    """A person from the field seconded to the programme (coach terrain)."""

    __tablename__ = "coach"
    __table_args__ = (CheckConstraint("capacity >= 1", name="capacity"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), unique=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL"), unique=True
    )
    home_site_id: Mapped[int | None] = mapped_column(ForeignKey("site.id", ondelete="SET NULL"))
    secondment_start: Mapped[date] = mapped_column(Date)
    secondment_end: Mapped[date | None] = mapped_column(Date)
    capacity: Mapped[int] = mapped_column(Integer, default=DEFAULT_CAPACITY)

    person = relationship("Person")
    home_site = relationship("Site")
    regions = relationship("Region", secondary=coach_region, order_by="Region.name")
    trainings: Mapped[list[CoachTraining]] = relationship(
        back_populates="coach", cascade="all, delete-orphan", order_by="CoachTraining.completed_on"
    )

    @property
    def name(self) -> str:
        return self.person.full_name


class CoachTraining(Audited, Base):
    """A change-management training module the coach completed."""

    __tablename__ = "coach_training"

    id: Mapped[int] = mapped_column(primary_key=True)
    coach_id: Mapped[int] = mapped_column(ForeignKey("coach.id", ondelete="CASCADE"), index=True)
    module: Mapped[str] = mapped_column(String(200))
    completed_on: Mapped[date] = mapped_column(Date)

    coach: Mapped[Coach] = relationship(back_populates="trainings")


class Assignment(Audited, Base):
    """A coach accompanying a site of a wave (affectation) from `start_on` to `end_on`."""

    __tablename__ = "assignment"
    __table_args__ = (CheckConstraint("end_on >= start_on", name="dates"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    wave_id: Mapped[int] = mapped_column(ForeignKey("wave.id", ondelete="CASCADE"), index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id", ondelete="CASCADE"), index=True)
    coach_id: Mapped[int] = mapped_column(ForeignKey("coach.id", ondelete="CASCADE"), index=True)
    start_on: Mapped[date] = mapped_column(Date)
    end_on: Mapped[date] = mapped_column(Date)

    wave: Mapped[Wave] = relationship()
    site = relationship("Site")
    coach: Mapped[Coach] = relationship()


class Visit(Audited, Base):
    __tablename__ = "visit"
    __table_args__ = (CheckConstraint("duration_minutes > 0", name="duration"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    wave_id: Mapped[int] = mapped_column(ForeignKey("wave.id", ondelete="CASCADE"), index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id", ondelete="CASCADE"), index=True)
    coach_id: Mapped[int | None] = mapped_column(
        ForeignKey("coach.id", ondelete="SET NULL"), index=True
    )
    visited_on: Mapped[date] = mapped_column(Date)
    duration_minutes: Mapped[int] = mapped_column(Integer)
    worked_on: Mapped[str] = mapped_column(Text)
    blocker_category: Mapped[str | None] = mapped_column(String(20))
    blockers: Mapped[str | None] = mapped_column(Text)
    next_visit_on: Mapped[date | None] = mapped_column(Date)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    coach: Mapped[Coach | None] = relationship()

    @property
    def blocker_label(self) -> str:
        if not self.blocker_category:
            return ""
        return str(BLOCKER_CATEGORIES.get(self.blocker_category, self.blocker_category))


class Engagement(Audited, Base):
    """The site manager's engagement, as seen by a coach or stated by the manager."""

    __tablename__ = "engagement"
    __table_args__ = (CheckConstraint("score BETWEEN 1 AND 5", name="score"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id", ondelete="CASCADE"), index=True)
    score: Mapped[int] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(Text)
    recorded_on: Mapped[date] = mapped_column(Date)
    asked_earlier: Mapped[bool] = mapped_column(Boolean, default=False)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Milestone(Audited, Base):
    """A step of the wave's communication plan, dated relative to go-live."""

    __tablename__ = "milestone"

    id: Mapped[int] = mapped_column(primary_key=True)
    wave_id: Mapped[int] = mapped_column(ForeignKey("wave.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    offset_days: Mapped[int] = mapped_column(Integer)
    audience: Mapped[str] = mapped_column(String(30))
    done_on: Mapped[date | None] = mapped_column(Date)

    wave: Mapped[Wave] = relationship(back_populates="milestones")

    @property
    def due_on(self) -> date:
        return self.wave.go_live + timedelta(days=self.offset_days)

    @property
    def label(self) -> str:
        return str(MILESTONE_KINDS.get(self.kind, self.kind))

    @property
    def audience_label(self) -> str:
        return str(AUDIENCES.get(self.audience, self.audience))

    @property
    def offset_label(self) -> str:
        if self.offset_days == 0:
            return "J0"
        return f"J{'+' if self.offset_days > 0 else '−'}{abs(self.offset_days)}"
