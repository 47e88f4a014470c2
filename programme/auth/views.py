"""Login, logout and the language of the login page (the account page:
`programme.home.account`; user administration: `programme.network.users`)."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, Flask, abort, current_app, flash, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager, current_user, login_user, logout_user

from programme.audit import acting_as, record_event
from programme.auth import services
from programme.auth.forms import EmptyForm, LanguageForm, LoginForm
from programme.extensions import db, limiter
from programme.web.htmx import render

bp = Blueprint("auth", __name__)


def init_login(app: Flask, login_manager: LoginManager) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please log in to see this page.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"

    @login_manager.user_loader
    def _load(login_id: str):
        return services.load_from_session_id(db.session, login_id)


def _safe_next(target: str | None) -> str:
    if target:
        parts = urlsplit(target)
        if (
            not parts.scheme
            and not parts.netloc
            and target.startswith("/")
            and not target.startswith("//")
            and "\\" not in target
        ):
            return target
    return url_for("home.index")


def _account_key() -> str:
    return "login-account:" + services.normalise_email(request.form.get("email", ""))


def _wrong_credentials(response) -> bool:
    """Only a wrong email or password counts towards throttling: not a success, not an
    incomplete form, not a server error."""
    return response.status_code == 401


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(
    lambda: current_app.config["LOGIN_LIMIT_PER_IP"],
    methods=["POST"],
    deduct_when=_wrong_credentials,
)
@limiter.limit(
    lambda: current_app.config["LOGIN_LIMIT_PER_ACCOUNT"],
    key_func=_account_key,
    methods=["POST"],
    deduct_when=_wrong_credentials,
)
def login():
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        user = services.authenticate(db.session, form.email.data, form.password.data)
        if user is not None:
            language = session.get("language")
            session.clear()  # no session fixation: start a fresh session
            if language and not user.language:
                services.adopt_language(db.session, user, language)
            services.open_login_session(
                db.session, user, current_app.config["REMEMBER_COOKIE_DURATION"]
            )
            login_user(user, remember=form.remember.data)
            with acting_as(user.email, user.id):
                record_event(db.session, "user", "login", "login", entity_id=str(user.id))
            db.session.commit()
            return redirect(_safe_next(request.args.get("next")))
        db.session.rollback()
        with acting_as(services.normalise_email(form.email.data) or "anonymous"):
            record_event(db.session, "user", "login_failed", "failed login")
        db.session.commit()
        flash(_("Wrong email or password."), "error")
        status = 401
    elif request.method == "POST":
        status = 422
    return render("auth/login.html", form=form, status=status)


@bp.post("/logout")
def logout():
    form = EmptyForm()
    if not form.validate_on_submit():
        abort(400)
    if current_user.is_authenticated:
        # End this session on the server too: a copy of its cookies no longer works.
        services.close_login_session(db.session, current_user)
        db.session.commit()
    logout_user()
    session.clear()
    flash(_("You are logged out."), "info")
    return redirect(url_for("auth.login"))


@bp.post("/language")
def set_language():
    """Language choice for people who are not logged in (kept in the session)."""
    form = LanguageForm()
    if form.validate_on_submit():
        session["language"] = form.language.data
    return redirect(_safe_next(request.form.get("next")))
