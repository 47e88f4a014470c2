"""Rows of the role × route matrix for the value screens (issue 18). Records are made on
demand with Core inserts (no audit event)."""

from __future__ import annotations

from sqlalchemy import insert, select

from programme.auth.roles import ADMIN, EXECUTIVE, FINANCE
from programme.database import utcnow
from programme.extensions import db
from programme.kpis.models import Kpi
from programme.pilots.models import Package
from programme.value.models import ValueDriver
from tests.web.kpi_matrix import kpi_id
from tests.web.pilots_matrix import decided_pilot_id

DRIVER_EDITORS = frozenset({ADMIN, FINANCE})
VALUE_READERS = frozenset({ADMIN, EXECUTIVE, FINANCE})


def package_id(w) -> int:
    kpi_id(w)
    decided_pilot_id(w)
    return db.session.scalar(select(Package.id))


def driver_id(w) -> int:
    pid = package_id(w)
    found = db.session.scalar(select(ValueDriver.id))
    if found is None:
        code = {k.code: k.id for k in db.session.scalars(select(Kpi))}
        now = utcnow()
        db.session.execute(
            insert(ValueDriver).values(package_id=pid, kpi_id=code["FCR"], volume_kpi_id=code["CONTACTS"],
                                       lever="cost", unit_low=3.5, unit_most_likely=4.2, unit_high=5.0,
                                       source="matrix", owner="", explanation="", version=1,
                                       created_at=now, updated_at=now)
        )  # fmt: skip
        db.session.commit()
        found = db.session.scalar(select(ValueDriver.id))
    return found


def driver_form(w) -> dict:
    return {"package": str(package_id(w)), "kpi": "FCR", "volume_kpi": "CONTACTS", "lever": "cost",
            "unit_low": "3.5", "unit_most_likely": "4.2", "unit_high": "5", "source": "Finance 2026",
            "owner": "Contrôle de gestion", "explanation": "A repeat contact avoided costs 4.20 €."}  # fmt: skip


def driver_edit_form(w) -> dict:
    return {**driver_form(w), "unit_high": "5.5", "version": "1"}


def rows(Route) -> list:
    # fmt: off
    return [
        Route("GET", "/value/", VALUE_READERS, url=lambda w: (driver_id(w), "/value/")[1]),
        Route("GET", "/value/drivers", DRIVER_EDITORS),
        Route("GET", "/value/drivers/new", DRIVER_EDITORS),
        Route("POST", "/value/drivers/new", DRIVER_EDITORS, form=driver_form, allowed_redirect="/value/drivers"),
        Route("GET", "/value/drivers/<int:driver_id>/edit", DRIVER_EDITORS,
              url=lambda w: f"/value/drivers/{driver_id(w)}/edit"),
        Route("POST", "/value/drivers/<int:driver_id>/edit", DRIVER_EDITORS,
              url=lambda w: f"/value/drivers/{driver_id(w)}/edit", form=driver_edit_form,
              allowed_redirect="/value/drivers"),
        Route("GET", "/value/packages/<int:package_id>/gate", DRIVER_EDITORS,
              url=lambda w: f"/value/packages/{package_id(w)}/gate"),
        Route("POST", "/value/packages/<int:package_id>/gate", DRIVER_EDITORS,
              url=lambda w: f"/value/packages/{package_id(w)}/gate",
              form=lambda w: {"to": "L1", "comment": "pilot designed"}),
    ]
    # fmt: on
