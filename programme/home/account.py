"""The account page: language, password, the e-mail digest, logging out everywhere.

It sits with the homes because it shows sections of several domains (the digest is
`programme.home.digests`); the session and password rules are `programme.auth.services`."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from programme.auth import services
from programme.auth.forms import EmptyForm, LanguageForm, PasswordChangeForm
from programme.extensions import db
from programme.home.views import digest_context
from programme.web.forms import save_or_conflict
from programme.web.htmx import render

bp = Blueprint("account", __name__)


@bp.route("/account", methods=["GET"])
@login_required
def show():
    return _account_page()


def _account_page(status: int = 200, language_form=None, password_form=None):
    language_form = language_form or LanguageForm(language=current_user.language or "fr")
    return render(
        "home/account.html",
        language_form=language_form,
        password_form=password_form or PasswordChangeForm(formdata=None),
        everywhere_form=EmptyForm(),
        status=status,
        **digest_context(),
    )


@bp.post("/account/language")
@login_required
def language():
    form = LanguageForm()
    if not form.validate_on_submit():
        return _account_page(422, language_form=form)
    current_user.language = form.language.data
    db.session.commit()
    flash(_("Language saved."), "success")
    return redirect(url_for("account.show"))


@bp.post("/account/password")
@login_required
def password():
    form = PasswordChangeForm()
    if form.validate_on_submit():
        saved = save_or_conflict(
            lambda: services.change_password(
                db.session, current_user, form.current_password.data, form.new_password.data
            ),
            form,
            renamed={"password": "new_password"},
        )
        if saved.ok:
            # Keep this session (and its remember-me cookie, if it had one); end the others.
            remembered = current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token")
            login_user(current_user._get_current_object(), remember=remembered in request.cookies)
            flash(_("Password changed. Your other sessions have been logged out."), "success")
            return redirect(url_for("account.show"))
    return _account_page(422, password_form=form)


@bp.post("/account/logout-everywhere")
@login_required
def logout_everywhere():
    form = EmptyForm()
    if not form.validate_on_submit():
        abort(400)
    services.end_other_sessions(current_user)
    services.close_login_session(db.session, current_user)
    db.session.commit()
    logout_user()
    session.clear()
    flash(_("You are logged out on every device."), "info")
    return redirect(url_for("auth.login"))
