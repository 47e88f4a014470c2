"""Value-driver screens: the list, create and edit (programme office and finance)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from programme.auth.permissions import require
from programme.extensions import db
from programme.value import queries, services
from programme.value.access import get_driver_or_403
from programme.value.forms import DriverForm, driver_data
from programme.web.forms import Saved, save_or_conflict
from programme.web.htmx import render

bp = Blueprint("value", __name__)


def _form(data: dict | None = None) -> DriverForm:
    form = DriverForm(data=data) if data is not None else DriverForm()
    form.set_choices(queries.driver_choices(db.session))
    return form


def _save(form: DriverForm, driver=None) -> Saved:
    """Save through the service: 422 with the errors on the form's fields, 409 when the
    version is stale or the package's planned value is frozen (said on the package)."""
    saved = save_or_conflict(
        lambda: services.save_driver(db.session, form.values(), driver),
        form,
        sent_version=form.version.data if driver is not None else None,
        current_version=driver.version if driver is not None else None,
    )
    if saved.conflict and saved.current is not None:
        form.package.errors = [*form.package.errors, services.frozen_message(saved.current)]
    return saved


@bp.get("/value/drivers")
@require("manage_value_drivers")
def driver_list():
    return render("value/driver_list.html", drivers=services.drivers(db.session))


@bp.route("/value/drivers/new", methods=["GET", "POST"])
@require("manage_value_drivers")
def driver_new():
    form = _form()
    status = 200
    if request.method == "POST":
        saved = _save(form) if form.validate() else Saved(422)
        if saved.ok:
            flash(_("Value driver saved."), "success")
            return redirect(url_for("value.driver_list"))
        status = saved.status
    return render("value/driver_form.html", form=form, driver=None, status=status)


@bp.route("/value/drivers/<int:driver_id>/edit", methods=["GET", "POST"])
@login_required
def driver_edit(driver_id: int):
    driver = get_driver_or_403(driver_id)
    if request.method == "GET":
        return render("value/driver_form.html", form=_form(driver_data(driver)), driver=driver)
    form = _form()
    stale = form.version.data != str(driver.version)
    saved = _save(form, driver) if stale or form.validate() else Saved(422)
    if saved.ok:
        flash(_("Value driver saved."), "success")
        return redirect(url_for("value.driver_list"))
    return render(
        "value/driver_form.html",
        form=form,
        driver=driver,
        conflict=stale,
        status=saved.status,
    )
