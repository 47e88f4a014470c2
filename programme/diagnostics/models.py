"""In-situ diagnostics: campaigns, observation sessions, findings, organisational
determinants, customer voice and irritants (step 1 of the method)."""

from __future__ import annotations

from datetime import date, datetime, time

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    JSON,
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
    Time,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from programme.audit import Audited
from programme.database import Base, TimestampMixin, VersionedMixin

# The journey steps a campaign observes by default (a campaign may drop some and add its own:
# a step that is not one of these keys is stored and shown as typed).
JOURNEY_STEPS = {
    "first_contact": _l("First contact"),
    "waiting": _l("Waiting"),
    "needs_discovery": _l("Needs discovery"),
    "advice_sale": _l("Advice / sale"),
    "payment": _l("Payment / checkout"),
    "after_sales": _l("After-sales"),
    "follow_up": _l("Follow-up"),
}

# What happened to the customer at this point of the journey.
OUTCOMES = {
    "drop_off": _l("Customer dropped off"),
    "degraded": _l("Experience degraded"),
}

CAUSES = {
    "technical": _l("Technical"),
    "ergonomic": _l("Ergonomic"),
    "relational": _l("Relational"),
    "commercial": _l("Commercial"),
}

SEVERITIES = {
    1: _l("1 – minor"),
    2: _l("2 – noticeable"),
    3: _l("3 – serious"),
    4: _l("4 – critical"),
}

DETERMINANTS = {
    "roles": _l("Roles"),
    "staffing": _l("Staffing"),
    "skills": _l("Skills"),
    "space_layout": _l("Space layout"),
    "tools": _l("Tools"),
    "objectives": _l("Objectives"),
    "management_routines": _l("Management routines"),
}

DETERMINANT_SCORES = {
    1: _l("1 – works against the service"),
    2: _l("2 – weak"),
    3: _l("3 – adequate"),
    4: _l("4 – good"),
    5: _l("5 – supports the service fully"),
}

SENTIMENTS = {
    "negative": _l("Negative"),
    "neutral": _l("Neutral"),
    "positive": _l("Positive"),
}

# The stakes an irritant threatens. A small vocabulary of our own until the KPI catalogue
# exists; the keys are the catalogue's future KPI codes.
STAKES = {
    "waiting_time": _l("Waiting time"),
    "conversion": _l("Conversion rate"),
    "satisfaction": _l("Expressed satisfaction"),
    "pick_up_rate": _l("Pick-up rate"),
    "first_contact_resolution": _l("First-contact resolution"),
}

SEVERITY_MIN, SEVERITY_MAX = 1, 4
SCORE_MIN, SCORE_MAX = 1, 5


def step_label(step: str) -> str:
    return str(JOURNEY_STEPS.get(step, step))


campaign_region = Table(
    "diagnostic_campaign_region",
    Base.metadata,
    Column(
        "campaign_id",
        ForeignKey("diagnostic_campaign.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("region_id", ForeignKey("region.id", ondelete="CASCADE"), primary_key=True),
)

campaign_site = Table(
    "diagnostic_campaign_site",
    Base.metadata,
    Column(
        "campaign_id",
        ForeignKey("diagnostic_campaign.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("site_id", ForeignKey("site.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Campaign(Audited, VersionedMixin, TimestampMixin, Base):
    """A diagnostic campaign: observe a sample of sites reflecting the network's diversity."""

    __tablename__ = "diagnostic_campaign"
    __table_args__ = (CheckConstraint("end_date >= start_date", name="period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    # Scope: empty region list = every region. Site types and channels: identifiers.
    scope_site_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    scope_channels: Mapped[list[str]] = mapped_column(JSON, default=list)
    journey_steps: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Synthesis, agreed with the teams.
    stakes_text: Mapped[str | None] = mapped_column(Text)
    service_aspiration: Mapped[str | None] = mapped_column(Text)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    completed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    # Why an admin completed the campaign although combinations in scope were not observed.
    completion_override_reason: Mapped[str | None] = mapped_column(Text)

    lead = relationship("User", foreign_keys=[lead_id])
    regions = relationship("Region", secondary=campaign_region, order_by="Region.name")
    sites = relationship("Site", secondary=campaign_site, order_by="Site.code")

    @property
    def completed(self) -> bool:
        return self.completed_at is not None


class ObservationSession(Audited, VersionedMixin, TimestampMixin, Base):
    """An observer watching real customer interactions at one site, on one channel."""

    __tablename__ = "observation_session"
    __table_args__ = (
        CheckConstraint("interactions >= 1", name="interactions"),
        CheckConstraint("end_time > start_time", name="time_window"),
        CheckConstraint("channel IN ('in_person','phone','digital')", name="channel"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("diagnostic_campaign.id", ondelete="CASCADE"), index=True
    )
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"), index=True)
    observer_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL"), index=True
    )
    observed_on: Mapped[date] = mapped_column(Date)
    start_time: Mapped[time] = mapped_column(Time)
    end_time: Mapped[time] = mapped_column(Time)
    channel: Mapped[str] = mapped_column(String(20))
    interactions: Mapped[int] = mapped_column(Integer)
    notes: Mapped[str | None] = mapped_column(Text)

    campaign: Mapped[Campaign] = relationship()
    site = relationship("Site")
    observer = relationship("User")
    findings: Mapped[list[Finding]] = relationship(
        back_populates="session",
        order_by="Finding.position",
        cascade="all, delete-orphan",
    )


class Finding(Audited, TimestampMixin, Base):
    """What was seen at one point of the journey, how often, how bad and why."""

    __tablename__ = "finding"
    __table_args__ = (
        CheckConstraint("severity BETWEEN 1 AND 4", name="severity"),
        CheckConstraint("occurrences >= 1", name="occurrences"),
        CheckConstraint("outcome IN ('drop_off','degraded')", name="outcome"),
        CheckConstraint(
            "cause IN ('technical','ergonomic','relational','commercial')", name="cause"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("observation_session.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer, default=0)
    journey_step: Mapped[str] = mapped_column(String(60))
    description: Mapped[str] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(String(20))
    cause: Mapped[str] = mapped_column(String(20))
    severity: Mapped[int] = mapped_column(Integer)
    # How many of the session's observed interactions showed it.
    occurrences: Mapped[int] = mapped_column(Integer)
    attachment_ref: Mapped[str | None] = mapped_column(String(500))
    notes: Mapped[str | None] = mapped_column(Text)
    irritant_id: Mapped[int | None] = mapped_column(
        ForeignKey("irritant.id", ondelete="SET NULL"), index=True
    )

    session: Mapped[ObservationSession] = relationship(back_populates="findings")
    irritant: Mapped[Irritant | None] = relationship(back_populates="findings")


class Irritant(Audited, TimestampMixin, Base):
    """A recurring problem customers suffer: many findings grouped under one name.

    The link to the pilot that addresses it arrives with the pilots."""

    __tablename__ = "irritant"
    __table_args__ = (UniqueConstraint("campaign_id", "name", name="uq_irritant_campaign_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("diagnostic_campaign.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    stakes: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Organisational determinants the diagnosticians see behind it.
    determinants: Mapped[list[str]] = mapped_column(JSON, default=list)

    campaign: Mapped[Campaign] = relationship()
    findings: Mapped[list[Finding]] = relationship(back_populates="irritant")


class DeterminantAssessment(Audited, TimestampMixin, Base):
    """One organisational determinant at one site, scored 1–5 with the evidence."""

    __tablename__ = "determinant_assessment"
    __table_args__ = (
        UniqueConstraint(
            "campaign_id",
            "site_id",
            "determinant",
            name="uq_determinant_assessment_campaign_site_determinant",
        ),
        CheckConstraint("score BETWEEN 1 AND 5", name="score"),
        CheckConstraint(
            "determinant IN ('roles','staffing','skills','space_layout','tools',"
            "'objectives','management_routines')",
            name="determinant",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("diagnostic_campaign.id", ondelete="CASCADE"), index=True
    )
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"), index=True)
    determinant: Mapped[str] = mapped_column(String(30))
    score: Mapped[int] = mapped_column(Integer)
    evidence: Mapped[str] = mapped_column(Text)
    assessed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))


class Verbatim(Audited, TimestampMixin, Base):
    """A customer's own words, collected during the campaign."""

    __tablename__ = "verbatim"
    __table_args__ = (
        UniqueConstraint("campaign_id", "fingerprint", name="uq_verbatim_campaign_fingerprint"),
        CheckConstraint("sentiment IN ('negative','neutral','positive')", name="sentiment"),
        CheckConstraint("channel IN ('in_person','phone','digital')", name="channel"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("diagnostic_campaign.id", ondelete="CASCADE"), index=True
    )
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"), index=True)
    quote: Mapped[str] = mapped_column(Text)
    channel: Mapped[str] = mapped_column(String(20))
    journey_step: Mapped[str] = mapped_column(String(60))
    sentiment: Mapped[str] = mapped_column(String(10))
    collected_on: Mapped[date | None] = mapped_column(Date)
    # sha256 of the normalised row: the same verbatim imported twice is stored once.
    fingerprint: Mapped[str] = mapped_column(String(64))

    site = relationship("Site")


class SurveyScore(Audited, TimestampMixin, Base):
    """A survey result for one site (e.g. satisfaction 7.8 / 10 from 312 respondents)."""

    __tablename__ = "survey_score"
    __table_args__ = (
        UniqueConstraint(
            "campaign_id",
            "site_id",
            "survey",
            "period_end",
            name="uq_survey_score_campaign_site_survey_period",
        ),
        CheckConstraint("scale_max > 0", name="scale_max"),
        CheckConstraint("score >= 0 AND score <= scale_max", name="score"),
        CheckConstraint("respondents >= 1", name="respondents"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("diagnostic_campaign.id", ondelete="CASCADE"), index=True
    )
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"), index=True)
    survey: Mapped[str] = mapped_column(String(120))
    period_end: Mapped[date] = mapped_column(Date)
    score: Mapped[float] = mapped_column(Float)
    scale_max: Mapped[float] = mapped_column(Float)
    respondents: Mapped[int] = mapped_column(Integer)

    site = relationship("Site")
