"""Screens of the close-the-loop cases and the counter note. Thin: parse → check → service."""

from __future__ import annotations

import base64
import uuid
from datetime import date, datetime, timedelta

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from programme.auth.permissions import require
from programme.diagnostics.models import CAUSES, step_label
from programme.extensions import db
from programme.feedback import importing, queries, services
from programme.feedback.access import get_case_or_403, may_handle_case, may_reassign_case
from programme.feedback.forms import (
    CloseForm,
    ContactedForm,
    CounterForm,
    ImportForm,
    ReassignForm,
)
from programme.feedback.models import COUNTER_SOURCE, OUTCOMES, SCALE_LABELS, STATUSES
from programme.kpis import file_import
from programme.kpis.file_import import Mapping
from programme.kpis.importing import FileRejected
from programme.network.models import Site
from programme.web.forms import attach_errors, save_or_conflict
from programme.web.htmx import render
from programme.web.parsing import date_arg, int_arg

bp = Blueprint("feedback", __name__)

LIST_STATUSES = {**STATUSES, "overdue": None, "escalated": None}


def _status_labels() -> dict[str, str]:
    return {
        "open": _("To contact"),
        "overdue": _("Past due"),
        "escalated": _("Escalated"),
        "contacted": _("Contacted"),
        "closed": _("Closed"),
    }


@bp.get("/cases")
@require("view_cases")
def case_list():
    status = request.args.get("status", "")
    status = status if status in LIST_STATUSES else ""
    site_id = int_arg("site")
    rows = queries.case_rows(db.session, current_user, status=status or None, site_id=site_id)
    return render(
        "feedback/case_list.html",
        "feedback/_case_table.html",
        rows=rows,
        chosen_status=status,
        site_id=site_id,
        sites=queries.perimeter_sites(db.session, current_user),
        status_labels=_status_labels(),
    )


@bp.get("/cases/figures")
@require("view_loop_figures")
def loop_figures():
    by = request.args.get("by", "site")
    by = by if by in ("site", "region", "network") else "site"
    return render(
        "feedback/figures.html",
        rows=queries.loop_figures(db.session, current_user, by=by),
        total=queries.loop_figures(db.session, current_user, by="network"),
        by=by,
    )


@bp.get("/cases/irritants")
@require("view_irritants")
def irritant_counts():
    today = date.today()
    since = date_arg("since", years=(2000, 2100)) or today - timedelta(days=90)
    until = date_arg("until", years=(2000, 2100)) or today
    if since > until:
        since, until = until, since
    return render(
        "feedback/irritants.html",
        rows=queries.irritant_counts(db.session, since, until),
        causes=queries.causes_since(db.session, since, until),
        proposals=queries.proposed_irritants(db.session, since, until),
        cause_labels=CAUSES,
        since=since,
        until=until,
    )


def _irritant_choices() -> list[tuple[str, str]]:
    return [("", _("None"))] + [(str(i.id), i.name) for i in queries.irritants(db.session)]


def _assignee_choices(case) -> list[tuple[str, str]]:
    return [(str(u.id), u.display_name) for u in queries.possible_assignees(db.session, case.site)]


def _render_case(case, close_form=None, reassign_form=None, status=200, loose=()):
    handles = may_handle_case(current_user, case)
    if handles and case.response.contact_ref:
        services.record_contact_view(db.session, case)
        db.session.commit()
    if close_form is None:
        close_form = CloseForm(formdata=None)
        close_form.journey_step.data = case.journey_step or ""
    close_form.irritant.choices = _irritant_choices()
    reassign = may_reassign_case(current_user, case)
    if reassign and reassign_form is None:
        reassign_form = ReassignForm(formdata=None)
        reassign_form.assignee.data = str(case.assignee_id or "")
    if reassign_form is not None:
        reassign_form.assignee.choices = _assignee_choices(case)
    return render(
        "feedback/case_detail.html",
        status=status,
        case=case,
        response=case.response,
        handles=handles,
        reassign=reassign,
        contacted_form=ContactedForm(formdata=None),
        close_form=close_form,
        reassign_form=reassign_form,
        loose=loose,
        outcome_labels=OUTCOMES,
        cause_labels=CAUSES,
        scale_labels=SCALE_LABELS,
        step_label=step_label,
    )


@bp.get("/cases/<int:case_id>")
@login_required
def case_detail(case_id: int):
    return _render_case(get_case_or_403(case_id))


@bp.post("/cases/<int:case_id>/contacted")
@login_required
def case_contacted(case_id: int):
    case = get_case_or_403(case_id, "handle_cases")
    saved = save_or_conflict(lambda: services.mark_contacted(db.session, case))
    if saved.conflict:
        return _render_case(
            case, status=409, loose=[_("This case was already contacted or closed.")]
        )
    flash(_("Marked as contacted."), "success")
    return redirect(url_for("feedback.case_detail", case_id=case.id))


@bp.post("/cases/<int:case_id>/close")
@login_required
def case_close(case_id: int):
    case = get_case_or_403(case_id, "handle_cases")
    form = CloseForm()
    form.irritant.choices = _irritant_choices()
    # CSRFProtect has checked the token; the service checks every value.
    saved = save_or_conflict(
        lambda: services.close_case(
            db.session,
            case,
            outcome=request.form.get("outcome"),
            cause=request.form.get("cause"),
            journey_step=request.form.get("journey_step"),
            note=request.form.get("note"),
            irritant_id=request.form.get("irritant"),
            proposed_irritant=request.form.get("proposed_irritant"),
        ),
        form,
    )
    if saved.conflict:
        if saved.current is None:  # a concurrent write of the same case
            abort(409)
        return _render_case(case, status=409, loose=[_("This case is already closed.")])
    if not saved.ok:
        return _render_case(case, close_form=form, status=422, loose=saved.loose)
    flash(_("Case closed."), "success")
    return redirect(url_for("feedback.case_detail", case_id=case.id))


@bp.post("/cases/<int:case_id>/reassign")
@login_required
def case_reassign(case_id: int):
    case = get_case_or_403(case_id, "reassign_cases")
    form = ReassignForm()
    form.assignee.choices = _assignee_choices(case)
    saved = save_or_conflict(
        lambda: services.reassign_case(db.session, case, request.form.get("assignee")), form
    )
    if not saved.ok:
        return _render_case(case, reassign_form=form, status=422, loose=saved.loose)
    flash(_("Case reassigned."), "success")
    return redirect(url_for("feedback.case_detail", case_id=case.id))


# --- a note taken at the counter ----------------------------------------------------------------


def _counter_item(form: CounterForm, sites: dict[str, Site]) -> dict:
    site = sites.get(form.site.data or "")
    received = form.received_at.data
    if received is not None:
        zone = services.site_zone(site.time_zone if site else None)
        received = received.replace(tzinfo=zone)
    return {
        "source": COUNTER_SOURCE,
        "external_id": uuid.uuid4().hex,
        "site": form.site.data,
        "received_at": received.isoformat() if received else None,
        "channel": form.channel.data,
        "journey_step": form.journey_step.data or None,
        "score": (form.score.data or "").strip(),
        "scale": form.scale.data,
        "comment": form.comment.data,
        "language": str(request.accept_languages.best_match(["fr", "en"]) or "fr"),
        "complaint": bool(form.complaint.data),
        "contact_consent": bool(form.contact_consent.data),
        "contact": form.contact.data,
    }


@bp.route("/feedback/counter", methods=["GET", "POST"])
@require("record_feedback")
def counter():
    sites = {s.code: s for s in queries.perimeter_sites(db.session, current_user)}
    form = CounterForm()
    form.site.choices = [(code, f"{code} · {s.name}") for code, s in sites.items()]
    status, loose = 200, []
    if request.method == "GET":
        own = db.session.get(Site, current_user.site_id) if current_user.site_id else None
        if own is not None:
            form.site.data = own.code
        form.received_at.data = datetime.now(
            services.site_zone(own.time_zone if own else None)
        ).replace(second=0, microsecond=0, tzinfo=None)
    elif form.validate_on_submit():
        try:
            summary = services.record_responses(
                db.session, current_user, [_counter_item(form, sites)], label="counter"
            )
            db.session.commit()
        except services.FeedbackRefused as refused:
            db.session.rollback()
            status = 403 if refused.forbidden else 422
            loose = attach_errors(form, refused)
        else:
            if summary.cases_opened:
                flash(_("Note recorded: a case was opened to call the customer back."), "success")
            else:
                flash(_("Note recorded."), "success")
            return redirect(url_for("feedback.counter"))
    else:
        status = 422
    return render("feedback/counter.html", status=status, form=form, loose=loose)


# --- files of responses --------------------------------------------------------------------------


def _import_page(form, status=200, **context):
    context.setdefault("names", [])
    context.setdefault("columns", {})
    context.setdefault("errors", [])
    return render(
        "feedback/import.html",
        status=status,
        form=form,
        fields=importing.FIELDS,
        required=importing.REQUIRED,
        **context,
    )


def _sent_file() -> tuple[str, bytes]:
    """The file uploaded, or carried from the previous step (its name and base64 bytes)."""
    upload = request.files.get("file")
    if upload and upload.filename:
        return file_import.read_upload(upload, importing.MAX_FILE_BYTES)
    try:
        data = base64.b64decode(request.form.get("content", ""), validate=True)
    except ValueError:
        data = b""
    return request.form.get("filename", ""), data


@bp.route("/feedback/import", methods=["GET", "POST"])
@require("record_feedback")
def import_file():
    form = ImportForm()
    if request.method == "GET":
        return _import_page(form)
    source = (form.source.data or "").strip()
    filename, data = _sent_file()
    if not source:
        form.source.errors = [_("Name the source of the file.")]
    elif len(source) > 60:
        form.source.errors = [_("At most %(n)d characters.", n=60)]
    if not data:
        form.file.errors = [_("Choose a file.")]
    if form.source.errors or form.file.errors:
        return _import_page(form, status=422)
    try:
        names = importing.read_headers(filename, data)
    except FileRejected as rejected:
        form.file.errors = [str(rejected)]
        return _import_page(form, status=422)
    rules = importing.COLUMNS
    by_hand = file_import.mapped_on_form(request.form, importing.FIELDS)
    if by_hand:
        mapping = Mapping(file_import.chosen_columns(request.form, importing.FIELDS, names))
    else:
        mapping = file_import.find_mapping(rules, db.session, source, names)
    keep = {
        "names": names,
        "columns": mapping.columns,
        "filename": filename,
        "content": base64.b64encode(data).decode(),
        "source": source,
    }
    problems = rules.problems(mapping, names)
    if problems:
        return _import_page(form, status=422 if by_hand else 200, problems=problems, **keep)
    confirm = request.form.get("step") == "confirm"
    try:
        lines, items = importing.read_items(filename, data, mapping.columns, source)
        summary = services.record_responses(
            db.session,
            current_user,
            items,
            lines=lines,
            label=f"file {filename[:100]}",
            dry_run=not confirm,
        )
    except FileRejected as rejected:
        form.file.errors = [str(rejected)]
        return _import_page(form, status=422)
    except services.FeedbackRefused as refused:
        db.session.rollback()
        return _import_page(
            form, status=403 if refused.forbidden else 422, errors=refused.errors, **keep
        )
    if not confirm:
        return _import_page(form, summary=summary, **keep)
    rules.remember(db.session, source, mapping)
    db.session.commit()
    flash(
        _(
            "File imported. New responses: %(created)d; already received: %(unchanged)d; "
            "cases opened: %(cases)d.",
            created=summary.created,
            unchanged=summary.unchanged,
            cases=summary.cases_opened,
        ),
        "success",
    )
    return redirect(url_for("feedback.import_file"))
