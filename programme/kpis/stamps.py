"""Cache stamps of the KPI data (`reports.cache.stamp`): what the KPI figures read."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from programme.audit import AuditEvent
from programme.database import newest_value
from programme.kpis.models import Kpi, Measurement, MeasurementRevision
from programme.network.models import Site
from programme.reports import cache

# Audit events that change no cached figure: logins and account changes (a reader's
# perimeter is worked out per request and is part of the keys) and monthly snapshots.
IGNORED_AUDIT = ("user", "snapshot")


def measurement_columns() -> list:
    """The newest measurement and correction (id and time: primary-key lookups).
    Measurements are immutable and corrections add a revision, so any change to the
    rollups changes them."""
    return [
        newest_value(Measurement.id, Measurement.id),
        newest_value(Measurement.entered_at, Measurement.id),
        newest_value(MeasurementRevision.id, MeasurementRevision.id),
        newest_value(MeasurementRevision.replaced_at, MeasurementRevision.id),
    ]


def kpi_columns() -> list:
    """The measurements and the KPI catalogue."""
    return [
        *measurement_columns(),
        select(func.count(Kpi.id)).scalar_subquery(),
        select(func.max(Kpi.updated_at)).scalar_subquery(),
    ]


def audit_columns(kept) -> list:
    """The newest audit event matching `kept` (id and time)."""
    return [
        newest_value(AuditEvent.id, AuditEvent.id, kept),
        newest_value(AuditEvent.at, AuditEvent.id, kept),
    ]


def data_stamp(session: Session) -> tuple:
    """The KPI data: sections read from the rollups."""
    return cache.stamp(session, "kpi", kpi_columns())


def kpi_page_stamp(session: Session) -> tuple:
    """The KPI data and the sites a perimeter reads (every ORM write to sites and regions
    adds an audit event; the newest site id catches rows written without the ORM)."""
    return cache.stamp(
        session,
        "kpi-page",
        [
            *kpi_columns(),
            *audit_columns(AuditEvent.entity.notin_(IGNORED_AUDIT)),
            select(func.max(Site.id)).scalar_subquery(),
        ],
    )
