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


# --- the value page ----------------------------------------------------------------------------

report_bp = Blueprint("value_report", __name__)


@report_bp.app_template_filter("money")
def money(amount) -> str:
    """Euros in the user's language (Babel): "1 260,00 €", "€1,260.00"; — when missing."""
    from flask_babel import format_currency

    return "—" if amount is None else format_currency(amount, "EUR")


@report_bp.get("/value/")
@require("view_value")
def value_page():
    from datetime import date

    from sqlalchemy import select

    from programme.kpis.models import Kpi
    from programme.network.models import Region
    from programme.reports import impact, value_screens

    today = date.today()
    chosen, errors = value_screens.parse_filters(db.session, request.args, today)
    drivers = services.drivers(db.session)
    packages = sorted({d.package for d in drivers}, key=lambda p: impact.sort_key(p.name))
    kpis = sorted({d.kpi for d in drivers}, key=lambda k: k.code)
    regions = sorted(db.session.scalars(select(Region)), key=lambda r: impact.sort_key(r.name))
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
        except services.ValueRefused as refused:
            errors.update(refused.errors)
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
    kpi_labels = {k.code: k for k in db.session.scalars(select(Kpi))}
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
        kpi_labels=kpi_labels,
        period_first=value_screens.month_label(chosen["from"]),
        period_last=value_screens.month_label(chosen["to"]),
        region_name=next((r.name for r in regions if r.id == chosen["region"]), None),
    )


@report_bp.app_context_processor
def _value_home():
    """The home pages' value lines, computed only when a template asks for them:
    `value_to_date()` (None when no value driver exists) and `value_gates()`."""

    def to_date():
        from datetime import date

        from programme.reports import value_screens

        if not value_screens.has_drivers(db.session):
            return None
        return value_screens.to_date(db.session, today=date.today())

    def gates():
        from sqlalchemy import select

        from programme.reports.impact import sort_key

        packages = sorted(db.session.scalars(select(Package)), key=lambda p: sort_key(p.name))
        return [(p, services.current_gate(db.session, p.id)) for p in packages]

    def pilot_projection(pilot_id: int):
        from programme.reports import value_screens

        return value_screens.pilot_projection(db.session, pilot_id)

    return {
        "value_to_date": to_date,
        "value_gates": gates,
        "pilot_projected_value": pilot_projection,
    }
