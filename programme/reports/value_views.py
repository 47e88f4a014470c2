"""A package's stage gates (the current gate, its history and the move form) and the value
page. They live in the reports layer because signing off L5 and the value read the
deployment-impact estimate: value → reports, never the other way round."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, flash, redirect, request, url_for
from flask_babel import format_currency
from flask_babel import gettext as _
from flask_login import current_user, login_required

from programme.auth.permissions import can, require
from programme.errors import Invalid
from programme.extensions import db
from programme.pilots.models import Package
from programme.pilots.queries import register_results_panel
from programme.reports import impact, value_screens
from programme.reports.value import effect_excludes_zero
from programme.value import queries, services
from programme.value.access import get_package_or_403
from programme.value.forms import GateForm
from programme.value.models import GATES
from programme.web.forms import save_or_conflict
from programme.web.htmx import render

bp = Blueprint("value_gates", __name__)


def _page(package: Package, form: GateForm, status: int = 200):
    return render(
        "value/gate.html",
        package=package,
        form=form,
        gate=services.current_gate(db.session, package.id),
        history=services.gate_history(db.session, package.id),
        gates=GATES,
        status=status,
    )


@bp.route("/value/packages/<int:package_id>/gate", methods=["GET", "POST"])
@login_required
def package_gate(package_id: int):
    package = get_package_or_403(package_id, "move_gates")
    form = GateForm()
    if request.method == "GET":
        return _page(package, form)
    if form.validate():
        clear = form.to.data == "L5" and effect_excludes_zero(db.session, package)
        saved = save_or_conflict(
            lambda: services.move_gate(
                db.session,
                current_user,
                package,
                form.to.data,
                form.comment.data or "",
                reason=form.reason.data or "",
                evidence=form.evidence.data or "",
                effect_excludes_zero=clear,
            ),
            form,
        )
        if saved.ok:
            flash(_("Gate moved to %(gate)s.", gate=form.to.data), "success")
            return redirect(url_for("value_gates.package_gate", package_id=package.id))
    return _page(package, form, 422)


# --- the value page ----------------------------------------------------------------------------

report_bp = Blueprint("value_report", __name__)


@report_bp.app_template_filter("money")
def money(amount) -> str:
    """Euros in the user's language (Babel): "1 260,00 €", "€1,260.00"; — when missing."""
    return "—" if amount is None else format_currency(amount, "EUR")


@report_bp.get("/value/")
@require("view_value")
def value_page():
    today = date.today()
    chosen, errors = value_screens.parse_filters(db.session, request.args, today)
    drivers = services.drivers(db.session)
    packages = sorted({d.package for d in drivers}, key=lambda p: impact.sort_key(p.name))
    kpis = sorted({d.kpi for d in drivers}, key=lambda k: k.code)
    regions = sorted(queries.regions(db.session), key=lambda r: impact.sort_key(r.name))
    body = chart = driver = None
    if drivers and not errors:
        try:
            body = value_screens.report(
                db.session,
                package_id=chosen["package"],
                kpi_code=chosen["kpi"],
                region_id=chosen["region"],
                first=chosen["from"],
                last=chosen["to"],
                window_weeks=chosen["window_weeks"],
                today=today,
            )
        except Invalid as invalid:
            errors.update((e.field, e.message) for e in invalid.errors)
        else:
            for month in body["months"]:
                month["month_label"] = value_screens.month_label(month["month"])
            chart = value_screens.chart_spec(body)
            matching = [
                d
                for d in drivers
                if chosen["package"] in (None, d.package_id) and chosen["kpi"] in (None, d.kpi.code)
            ]
            driver = matching[0] if len(matching) == 1 else None
    return render(
        "value/report.html",
        status=422 if errors else 200,
        chosen=chosen,
        errors=errors,
        drivers=drivers,
        packages=packages,
        kpis=kpis,
        regions=regions,
        body=body,
        value_chart=chart,
        driver=driver,
        kpi_labels=queries.kpis_by_code(db.session),
        period_first=value_screens.month_label(chosen["from"]),
        period_last=value_screens.month_label(chosen["to"]),
        region_name=next((r.name for r in regions if r.id == chosen["region"]), None),
    )


@register_results_panel
def _pilot_projection(session, pilot, user) -> dict:
    """A pilot's results page: the projected annual value of going network-wide, for the
    readers of the value."""
    if not can(user, "view_value"):
        return {"projected_value": None}
    return {"projected_value": value_screens.pilot_projection(session, pilot.id)}
