"""A package's stage gates (issue 18): the current gate, its history and the move form.

It lives in the reports layer because signing off L5 reads the deployment-impact estimate
(programme/reports/impact.py): value → reports, never the other way round."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from programme.auth.permissions import require
from programme.extensions import db
from programme.pilots.models import Package
from programme.reports.value import effect_excludes_zero
from programme.value import services
from programme.value.forms import GateForm
from programme.web.htmx import render

bp = Blueprint("value_gates", __name__)


def _page(package: Package, form: GateForm, status: int = 200):
    return render(
        "value/gate.html",
        package=package,
        form=form,
        gate=services.current_gate(db.session, package.id),
        history=services.gate_history(db.session, package.id),
        status=status,
    )


@bp.route("/value/packages/<int:package_id>/gate", methods=["GET", "POST"])
@require("move_gates")
def package_gate(package_id: int):
    package = db.session.get(Package, package_id)
    if package is None:
        abort(404)
    form = GateForm()
    if request.method == "GET":
        return _page(package, form)
    if form.validate():
        clear = form.to.data == "L5" and effect_excludes_zero(db.session, package)
        try:
            services.move_gate(
                db.session,
                current_user,
                package,
                form.to.data,
                form.comment.data or "",
                reason=form.reason.data or "",
                evidence=form.evidence.data or "",
                effect_excludes_zero=clear,
            )
            db.session.commit()
        except services.ValueRefused as refused:
            db.session.rollback()
            for name, message in refused.errors.items():
                getattr(form, name).errors = [*getattr(form, name).errors, message]
        else:
            flash(_("Gate moved to %(gate)s.", gate=form.to.data), "success")
            return redirect(url_for("value_gates.package_gate", package_id=package.id))
    return _page(package, form, 422)
