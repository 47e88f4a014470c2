"""Diagnostics screens of the customer voice: verbatims and survey scores, typed in one at a
time or imported from a file."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from programme.diagnostics import queries, services
from programme.diagnostics.access import get_campaign_or_403, may_in_campaign
from programme.diagnostics.blueprint import bp
from programme.diagnostics.forms import (
    VerbatimForm,
    VoiceImportForm,
    save_form,
    set_verbatim_choices,
    verbatim_values,
)
from programme.diagnostics.importing import voice_rows
from programme.diagnostics.models import SENTIMENTS
from programme.errors import Invalid
from programme.extensions import db
from programme.network.importing import FileRejected
from programme.web.htmx import render
from programme.web.parsing import int_arg


@bp.route("/campaigns/<int:campaign_id>/voice", methods=["GET", "POST"])
@login_required
def voice(campaign_id: int):
    """The campaign's customer voice; posting adds a verbatim (`record_customer_voice`)."""
    action = "record_customer_voice" if request.method == "POST" else "view_diagnostics"
    campaign = get_campaign_or_403(campaign_id, action)
    sites = queries.sampled_sites(db.session, campaign, current_user)
    form = VerbatimForm()
    set_verbatim_choices(form, campaign, sites)
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            values = verbatim_values(form)
            saved = save_form(lambda: services.add_verbatim(db.session, campaign, values), form)
            if saved.ok:
                flash(_("Verbatim recorded."), "success")
                return redirect(url_for("diagnostics.voice", campaign_id=campaign.id))
        status = 422
    sentiment = request.args.get("sentiment", "")
    filters = queries.VoiceFilters(
        site_id=int_arg("site"), sentiment=sentiment if sentiment in SENTIMENTS else ""
    )
    verbatims, total = queries.verbatims(db.session, campaign, current_user, filters)
    return render(
        "diagnostics/voice.html",
        "diagnostics/_verbatim_table.html",
        campaign=campaign,
        form=form,
        filters=filters,
        verbatims=verbatims,
        total=total,
        sentiments=queries.sentiment_counts(db.session, campaign.id, current_user),
        scores=queries.survey_scores(db.session, campaign, current_user),
        sites=sites,
        may_work=may_in_campaign(current_user, campaign, "record_customer_voice"),
        status=status,
    )


@bp.route("/campaigns/<int:campaign_id>/voice/import", methods=["GET", "POST"])
@login_required
def voice_import(campaign_id: int):
    campaign = get_campaign_or_403(campaign_id, "record_customer_voice")
    limit = current_app.config.get("VOICE_IMPORT_MAX_BYTES", 5 * 1024 * 1024)
    if request.method == "POST" and (request.content_length or 0) > limit + 64 * 1024:
        abort(413)
    form = VoiceImportForm()
    errors, result, problem, status = [], None, None, 200
    if form.validate_on_submit():
        upload = form.file.data
        data = upload.read(limit + 1)
        filename = upload.filename or ""
        if len(data) > limit:
            problem, status = _("The file is too large."), 413
        else:
            try:
                rows = voice_rows(form.kind.data, filename, data)
                result = services.import_customer_voice(
                    db.session, campaign, form.kind.data, rows, source=filename
                )
                db.session.commit()
            except FileRejected as rejected:
                db.session.rollback()
                problem, status = str(rejected), rejected.status or 422
            except Invalid as failure:
                db.session.rollback()
                errors, status = failure.errors, 422
    elif request.method == "POST":
        status = 422
    return render(
        "diagnostics/voice_import.html",
        form=form,
        campaign=campaign,
        errors=errors,
        result=result,
        problem=problem,
        status=status,
    )
