"""Value-driver screens: the list, create and edit (programme office and finance)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from programme.auth.permissions import require
from programme.extensions import db
from programme.kpis.models import Kpi
from programme.pilots.models import Package
from programme.value import services
from programme.value.forms import DriverForm
from programme.value.models import ValueDriver
from programme.web.htmx import render

bp = Blueprint("value", __name__)

FIELDS = (
    "package",
    "kpi",
    "volume_kpi",
    "lever",
    "unit_low",
    "unit_most_likely",
    "unit_high",
    "source",
    "owner",
    "explanation",
    "attribution",
)


def _choices(form: DriverForm) -> None:
    packages = db.session.scalars(select(Package).order_by(Package.name)).all()
    kpis = db.session.scalars(select(Kpi).order_by(Kpi.code)).all()
    form.package.choices = [(str(p.id), p.name) for p in packages]
    form.kpi.choices = [(k.code, k.label) for k in kpis if k.kind != "count"]
    form.volume_kpi.choices = [(k.code, k.label) for k in kpis if k.kind == "count"]


def _values(form: DriverForm) -> dict:
    return {name: getattr(form, name).data for name in FIELDS}


@bp.get("/value/drivers")
@require("manage_value_drivers")
def driver_list():
    return render("value/driver_list.html", drivers=services.drivers(db.session))


def _save(form: DriverForm, driver: ValueDriver | None):
    """The saved driver, or the refusal's status (422, or 409 when the plan is frozen) with
    the messages on the form's fields."""
    try:
        saved = services.save_driver(db.session, _values(form), driver)
        db.session.commit()
    except services.ValueRefused as refused:
        db.session.rollback()
        for name, message in refused.errors.items():
            getattr(form, name).errors = [*getattr(form, name).errors, message]
        return refused.status
    return saved


@bp.route("/value/drivers/new", methods=["GET", "POST"])
@require("manage_value_drivers")
def driver_new():
    form = DriverForm()
    _choices(form)
    status = 200
    if request.method == "POST":
        saved = _save(form, None) if form.validate() else 422
        if isinstance(saved, ValueDriver):
            flash(_("Value driver saved."), "success")
            return redirect(url_for("value.driver_list"))
        status = saved
    return render("value/driver_form.html", form=form, driver=None, status=status)


@bp.route("/value/drivers/<int:driver_id>/edit", methods=["GET", "POST"])
@require("manage_value_drivers")
def driver_edit(driver_id: int):
    driver = db.session.get(ValueDriver, driver_id)
    if driver is None:
        abort(404)
    if request.method == "GET":
        form = DriverForm(
            data={
                "package": str(driver.package_id),
                "kpi": driver.kpi.code,
                "volume_kpi": driver.volume_kpi.code,
                "lever": driver.lever,
                "unit_low": "" if driver.unit_low is None else f"{driver.unit_low:g}",
                "unit_most_likely": ""
                if driver.unit_most_likely is None
                else f"{driver.unit_most_likely:g}",
                "unit_high": "" if driver.unit_high is None else f"{driver.unit_high:g}",
                "source": driver.source,
                "owner": driver.owner,
                "explanation": driver.explanation,
                "attribution": f"{driver.attribution:g}",
                "version": str(driver.version),
            }
        )
        _choices(form)
        return render("value/driver_form.html", form=form, driver=driver)
    form = DriverForm()
    _choices(form)
    conflict = form.version.data != str(driver.version)
    status = 409
    if not conflict:
        saved = _save(form, driver) if form.validate() else 422
        if isinstance(saved, ValueDriver):
            flash(_("Value driver saved."), "success")
            return redirect(url_for("value.driver_list"))
        status = saved
    return render(
        "value/driver_form.html",
        form=form,
        driver=driver,
        conflict=conflict,
        status=status,
    )
