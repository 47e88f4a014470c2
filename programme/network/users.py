"""User administration: the accounts, their role and their perimeter (a site or a region
of the network)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from programme.auth import services
from programme.auth.forms import UserForm
from programme.auth.models import User
from programme.auth.permissions import require
from programme.auth.roles import ROLES
from programme.extensions import db
from programme.network.models import Site
from programme.network.queries import all_regions
from programme.web.forms import save_or_conflict
from programme.web.htmx import render
from programme.web.page_cache import note_write

bp = Blueprint("users", __name__)


def _perimeter_choices(form: UserForm) -> None:
    sites = db.session.execute(select(Site.id, Site.code, Site.name).order_by(Site.code)).all()
    form.site_id.choices = [("", "—")] + [(str(i), f"{c} – {n}") for i, c, n in sites]
    form.region_id.choices = [("", "—")] + [(str(r.id), r.name) for r in all_regions(db.session)]


def _as_id(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


@bp.get("/users")
@require("manage_users")
def user_list():
    role = request.args.get("role", "")
    stmt = select(User).order_by(User.email)
    if role in ROLES:
        stmt = stmt.where(User.role == role)
    users = db.session.scalars(stmt).all()
    return render("network/user_list.html", "network/_user_table.html", users=users, role=role)


@bp.route("/users/new", methods=["GET", "POST"])
@require("manage_users")
def user_new():
    form = UserForm()
    _perimeter_choices(form)
    status = 200
    if form.validate_on_submit():
        if not form.password.data:
            form.password.errors.append(_("A new account needs a password."))
        else:

            def create():
                user = services.create_user(
                    db.session,
                    form.email.data,
                    form.role.data,
                    form.password.data,
                    name=form.name.data or "",
                    language=form.language.data or None,
                    site_id=_as_id(form.site_id.data),
                    region_id=_as_id(form.region_id.data),
                )
                user.active = form.active.data
                return user

            saved = save_or_conflict(create, form)
            if saved.ok:
                user = saved.result
                flash(_("Account %(email)s created.", email=user.email), "success")
                return redirect(url_for("users.user_list"))
        status = 422
    elif request.method == "POST":
        status = 422
    return render("network/user_form.html", form=form, user=None, status=status)


@bp.route("/users/<int:user_id>/edit", methods=["GET", "POST"])
@require("manage_users")
def user_edit(user_id: int):
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    form = UserForm(obj=user) if request.method == "GET" else UserForm()
    _perimeter_choices(form)
    if request.method == "GET":
        form.site_id.data = str(user.site_id or "")
        form.region_id.data = str(user.region_id or "")
        form.language.data = user.language or ""
        form.version.data = str(user.version)
        return render("network/user_form.html", form=form, user=user)
    if form.validate_on_submit():
        if form.version.data != str(user.version):
            return _user_conflict(form, user)
        other = services.find_user(db.session, form.email.data)
        if other is not None and other.id != user.id:
            form.email.errors.append(_("An account with this email already exists."))
        elif user.id == current_user.id and (form.role.data != user.role or not form.active.data):
            form.role.errors.append(_("You cannot change your own role or deactivate yourself."))
        else:
            user.email = services.normalise_email(form.email.data)
            user.name = form.name.data or ""
            user.role = form.role.data
            user.language = form.language.data or None
            user.site_id = _as_id(form.site_id.data)
            user.region_id = _as_id(form.region_id.data)
            if user.active and not form.active.data:
                services.end_other_sessions(user)
            user.active = form.active.data

            def set_password():
                if form.password.data:
                    services.check_password_strength(form.password.data, user.email)
                    services.set_password(user, form.password.data)

            saved = save_or_conflict(set_password, form)
            if saved.conflict:
                return _user_conflict(form, db.session.get(User, user_id))
            if saved.ok:
                note_write(user.id)  # their kept pages follow their new role or perimeter
                flash(_("Account %(email)s saved.", email=user.email), "success")
                return redirect(url_for("users.user_list"))
    return render("network/user_form.html", form=form, user=user, status=422)


def _user_conflict(form: UserForm, user: User):
    form.version.data = str(user.version)
    return render("network/user_form.html", form=form, user=user, conflict=True, status=409)
