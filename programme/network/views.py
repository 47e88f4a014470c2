"""Network screens: site list with live search, site detail, create/edit, import, regions."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, request, url_for
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_login import current_user, login_required

from programme.auth.permissions import can, require
from programme.errors import Invalid
from programme.extensions import db
from programme.network import queries
from programme.network.access import get_site_or_403
from programme.network.forms import (
    RegionForm,
    SiteForm,
    SiteImportForm,
    region_choices,
    site_data,
    site_values,
)
from programme.network.importing import FileRejected, site_rows
from programme.network.models import OPERATORS, SITE_TYPES, Site
from programme.network.services import (
    find_region,
    get_or_create_region,
    save_site_choosing_region,
    upsert_sites,
)
from programme.web.forms import save_or_conflict
from programme.web.htmx import render
from programme.web.parsing import int_arg

bp = Blueprint("network", __name__)


@bp.get("/sites")
@require("view_network")
def site_list():
    filters = queries.SiteFilters(
        q=request.args.get("q", "")[:100],
        region_id=int_arg("region"),
        type=request.args.get("type", "") if request.args.get("type") in SITE_TYPES else "",
        operator=request.args.get("operator", "")
        if request.args.get("operator") in OPERATORS
        else "",
        page=int_arg("page") or 1,
    )
    result = queries.site_page(
        db.session, current_user, filters, current_app.config["SITE_PAGE_SIZE"]
    )
    return render(
        "network/site_list.html",
        "network/_site_table.html",
        result=result,
        filters=filters,
        regions=queries.all_regions(db.session),
        site_types=SITE_TYPES,
        operators=OPERATORS,
    )


@bp.get("/sites/<int:site_id>")
@login_required
def site_detail(site_id: int):
    site = get_site_or_403(site_id)
    managers = [site.manager] if site.manager_id else []
    staff = queries.site_staff(db.session, site.id)
    return render("network/site_detail.html", site=site, managers=managers, staff=staff)


def _save(form: SiteForm, site: Site | None = None) -> Site:
    return save_site_choosing_region(
        db.session,
        site_values(form),
        site,
        choice=form.region.data or "",
        new_region=form.new_region.data or "",
        confirmed=bool(form.confirm_new_region.data),
    )


def _site_form(form: SiteForm, site: Site | None, status: int = 200, conflict: bool = False):
    return render(
        "network/site_form.html",
        form=form,
        site=site,
        conflict=conflict,
        regions=queries.all_regions(db.session),
        status=status,
    )


def _new_form() -> SiteForm:
    form = SiteForm()
    form.region.choices = region_choices(queries.all_regions(db.session))
    return form


@bp.route("/sites/new", methods=["GET", "POST"])
@require("edit_network")
def site_new():
    form = _new_form()
    if request.method == "GET":
        form.channels.data = ["in_person"]
        return _site_form(form, None)
    if form.validate_on_submit():
        saved = save_or_conflict(lambda: _save(form), form)
        if saved.ok:
            flash(_("Site %(code)s created.", code=saved.result.code), "success")
            return redirect(url_for("network.site_detail", site_id=saved.result.id))
    return _site_form(form, None, status=422)


@bp.route("/sites/<int:site_id>/edit", methods=["GET", "POST"])
@login_required
def site_edit(site_id: int):
    site = get_site_or_403(site_id, "edit_network")
    form = _new_form()
    if request.method == "GET":
        form.process(data=site_data(site))
        return _site_form(form, site)
    if form.validate_on_submit():
        saved = save_or_conflict(
            lambda: _save(form, site),
            form,
            sent_version=form.version.data,
            current_version=site.version,
        )
        if saved.ok:
            flash(_("Site %(code)s saved.", code=site.code), "success")
            return redirect(url_for("network.site_detail", site_id=site.id))
        if saved.conflict:
            site = db.session.get(Site, site_id)
            form.version.data = str(site.version)
            return _site_form(form, site, status=409, conflict=True)
    return _site_form(form, site, status=422)


@bp.route("/sites/import", methods=["GET", "POST"])
@require("import_sites")
def site_import():
    limit = current_app.config["SITE_IMPORT_MAX_BYTES"]
    if request.method == "POST" and (request.content_length or 0) > limit + 64 * 1024:
        abort(413)
    request.max_content_length = limit + 64 * 1024
    form = SiteImportForm()
    errors, result, problem = [], None, None
    status = 200
    if form.validate_on_submit():
        upload = form.file.data
        data = upload.read(limit + 1)
        filename = upload.filename or ""
        if len(data) > limit:
            problem = _(
                "The file is larger than %(mb)s MB.",
                mb=format_decimal(limit / (1024 * 1024), "#,##0.##"),
            )
            status = 413
        else:
            try:
                rows = site_rows(filename, data)
                result = upsert_sites(
                    db.session,
                    rows,
                    update_only=form.update_only.data,
                    create_regions=form.create_regions.data,
                    source=filename,
                )
                db.session.commit()
            except FileRejected as rejected:
                db.session.rollback()
                problem = str(rejected)
                status = rejected.status or (
                    415 if filename and not filename.lower().endswith((".csv", ".xlsx")) else 422
                )
            except Invalid as failure:
                db.session.rollback()
                errors = failure.errors
                status = 422
    elif request.method == "POST":
        status = 422
    return render(
        "network/site_import.html",
        form=form,
        errors=errors,
        result=result,
        problem=problem,
        status=status,
    )


@bp.route("/regions", methods=["GET", "POST"])
@require("view_network")
def region_list():
    form = RegionForm()
    status = 200
    if request.method == "POST":
        if not can(current_user, "edit_network"):
            abort(403)
        if form.validate_on_submit():
            if find_region(db.session, form.name.data):
                form.name.errors = [_("This region already exists.")]
                status = 422
            else:
                region = get_or_create_region(db.session, form.name.data)
                db.session.commit()
                flash(_("Region %(name)s created.", name=region.name), "success")
                return redirect(url_for("network.region_list"))
        else:
            status = 422
    rows = queries.regions_with_counts(db.session, current_user)
    return render("network/region_list.html", rows=rows, form=form, status=status)
