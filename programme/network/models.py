"""Regions, sites and people: the network the programme transforms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import Boolean, CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from programme.audit import Audited
from programme.database import Base, TimestampMixin, VersionedMixin

SITE_TYPES = {
    "branch": _l("Branch"),
    "shop": _l("Shop"),
    "agency": _l("Agency"),
    "call_centre": _l("Call centre"),
    "visa_centre": _l("Visa application centre"),
    "field_sales": _l("Field sales team"),
}

CHANNELS = {
    "in_person": _l("In person"),
    "phone": _l("Phone"),
    "digital": _l("Digital"),
}

OPERATORS = {
    "internal": _l("Internal"),
    "outsourced": _l("Outsourced"),
}


class Region(Audited, TimestampMixin, Base):
    __tablename__ = "region"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)

    sites: Mapped[list[Site]] = relationship(back_populates="region")


class Person(Audited, TimestampMixin, Base):
    """Someone in the network: site managers, directors, staff who become coaches."""

    __tablename__ = "person"

    id: Mapped[int] = mapped_column(primary_key=True)
    full_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    phone: Mapped[str | None] = mapped_column(String(40))
    job_title: Mapped[str | None] = mapped_column(String(120))
    site_id: Mapped[int | None] = mapped_column(ForeignKey("site.id", ondelete="SET NULL"))


class Site(Audited, VersionedMixin, TimestampMixin, Base):
    __tablename__ = "site"
    __table_args__ = (
        CheckConstraint(
            "type IN ('branch','shop','agency','call_centre','visa_centre','field_sales')",
            name="type",
        ),
        CheckConstraint("operator IN ('internal','outsourced')", name="operator"),
        CheckConstraint(
            "operator = 'internal' OR provider IS NOT NULL", name="outsourced_has_provider"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(20), index=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("region.id"), index=True)
    country: Mapped[str] = mapped_column(String(2), default="FR")
    city: Mapped[str | None] = mapped_column(String(120))
    time_zone: Mapped[str] = mapped_column(String(64), default="Europe/Paris")
    operator: Mapped[str] = mapped_column(String(20), default="internal", index=True)
    provider: Mapped[str | None] = mapped_column(String(200))
    channel_in_person: Mapped[bool] = mapped_column(Boolean, default=True)
    channel_phone: Mapped[bool] = mapped_column(Boolean, default=False)
    channel_digital: Mapped[bool] = mapped_column(Boolean, default=False)
    manager_id: Mapped[int | None] = mapped_column(
        ForeignKey("person.id", ondelete="SET NULL", use_alter=True)
    )

    region: Mapped[Region] = relationship(back_populates="sites")
    manager: Mapped[Person | None] = relationship(foreign_keys=[manager_id])

    @property
    def channels(self) -> list[str]:
        return [c for c in CHANNELS if getattr(self, f"channel_{c}")]

    @property
    def type_label(self) -> str:
        return str(SITE_TYPES.get(self.type, self.type))

    @property
    def operator_label(self) -> str:
        return str(OPERATORS.get(self.operator, self.operator))
