"""Logging out ends the session on the server; remember-me lasts 30 days (configurable);
passwords are refused when short, built on the email's local part or easy to guess — saying
why, in English and French, wherever a password is set."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from programme.audit import AuditEvent
from programme.auth.models import LoginSession, User
from programme.auth.services import check_password_strength
from programme.config import Config
from programme.demo import DEMO_ACCOUNTS
from programme.errors import Invalid
from tests.factories import PASSWORD, login_as, make_user
from tests.web.helpers import count, field_error, is_login_redirect, location, login, page

SESSION_COOKIE = "session"
REMEMBER_COOKIE = "remember_token"

MESSAGES = {
    "short": {
        "en": "between 10 and 200 characters",
        "fr": "entre 10 et 200 caractères",
    },
    "local part": {
        "en": "The password must not contain the first part of the email address (marie.curie).",
        "fr": "Le mot de passe ne doit pas contenir la première partie de l’adresse e-mail "
        "(marie.curie).",
    },
    "guessable": {
        "en": "This password is too easy to guess",
        "fr": "Ce mot de passe est trop facile à deviner",
    },
}
REFUSED = {
    "short": "Short-1",
    "local part": "Marie.Curie-Radium-1898",  # contains the local part, whatever the case
    "guessable": "aaaaaaaaaa",
}
REASONS = list(REFUSED)
EMAIL = "marie.curie@example.org"


def _logged_in(client) -> bool:
    response = client.get("/account")
    if response.status_code == 200:
        return True
    assert is_login_redirect(response, "/account"), (response.status_code, location(response))
    return False


def _replay(new_client, name: str, value: str):
    browser = new_client()
    browser.set_cookie(name, value)
    return browser


# --- logout ends the session on the server -------------------------------------------------


def test_a_session_cookie_copied_before_logout_is_refused_after_it(client, session, new_client):
    user = make_user("coach")
    assert location(login(client, user.email)) == "/"
    copied = client.get_cookie(SESSION_COOKIE).value
    assert _logged_in(_replay(new_client, SESSION_COOKIE, copied))  # control: the copy works

    assert location(client.post("/logout")) == "/login"

    replayed = _replay(new_client, SESSION_COOKIE, copied)
    response = replayed.get("/account")
    assert is_login_redirect(response, "/account")
    assert count(session, LoginSession) == 0


def test_a_remember_me_cookie_copied_before_logout_is_refused_after_it(client, session, new_client):
    user = make_user("coach")
    assert location(login(client, user.email, remember=True)) == "/"
    copied = client.get_cookie(REMEMBER_COOKIE).value
    assert _logged_in(_replay(new_client, REMEMBER_COOKIE, copied))

    client.post("/logout")

    assert not _logged_in(_replay(new_client, REMEMBER_COOKIE, copied))


def test_logging_out_on_one_device_keeps_the_others(client, session, new_client):
    user = make_user("coach")
    phone = new_client()
    assert location(login(client, user.email)) == "/"
    assert location(login(phone, user.email)) == "/"
    assert count(session, LoginSession) == 2

    client.post("/logout")

    assert not _logged_in(client)
    assert _logged_in(phone)
    assert count(session, LoginSession) == 1


def test_a_login_session_past_its_expiry_is_refused(client, session):
    user = make_user("coach")
    login_as(client, user)
    assert _logged_in(client)
    session.execute(
        update(LoginSession).values(expires_at=datetime.now(UTC) - timedelta(minutes=1))
    )
    session.commit()
    assert not _logged_in(client)


def test_a_cookie_without_a_login_session_is_refused(client, session):
    """Cookies issued before login sessions existed ("id:version") no longer log anyone in."""
    user = make_user("coach")
    with client.session_transaction() as sess:
        sess["_user_id"] = f"{user.id}:{user.session_version}"
        sess["_fresh"] = True
    assert not _logged_in(client)


# --- remember-me duration ------------------------------------------------------------------


def test_remember_me_lasts_30_days(app, client, session):
    assert app.config["REMEMBER_COOKIE_DURATION"] == timedelta(days=30)
    user = make_user("coach")
    before = datetime.now(UTC)
    assert location(login(client, user.email, remember=True)) == "/"
    expires = client.get_cookie(REMEMBER_COOKIE).expires
    assert timedelta(days=29, hours=23) < expires - before <= timedelta(days=30, minutes=1)
    row = session.scalars(select(LoginSession)).one()
    stored = row.expires_at if row.expires_at.tzinfo else row.expires_at.replace(tzinfo=UTC)
    assert timedelta(days=29, hours=23) < stored - before <= timedelta(days=30, minutes=1)


def test_remember_me_duration_comes_from_remember_days(monkeypatch):
    monkeypatch.setenv("REMEMBER_DAYS", "7")
    week = Config()
    monkeypatch.delenv("REMEMBER_DAYS")
    default = Config()
    assert (
        timedelta(days=7),
        timedelta(days=30),
    ) == (week.REMEMBER_COOKIE_DURATION, default.REMEMBER_COOKIE_DURATION)


def test_a_shorter_remember_me_duration_is_applied(app, client, session):
    user = make_user("coach")
    app.config["REMEMBER_COOKIE_DURATION"] = timedelta(days=7)
    try:
        before = datetime.now(UTC)
        assert location(login(client, user.email, remember=True)) == "/"
    finally:
        app.config["REMEMBER_COOKIE_DURATION"] = timedelta(days=30)
    expires = client.get_cookie(REMEMBER_COOKIE).expires
    assert timedelta(days=6, hours=23) < expires - before <= timedelta(days=7, minutes=1)


# --- password rules ------------------------------------------------------------------------


@pytest.mark.parametrize("reason", REASONS)
@pytest.mark.parametrize("language", ["en", "fr"])
def test_password_change_refused_with_the_reason(session, new_client, reason, language):
    user = make_user("coach", email=EMAIL)
    browser = new_client(language=language)
    login_as(browser, user)
    before = (user.password_hash, user.session_version)
    new = REFUSED[reason]

    response = browser.post(
        "/account/password",
        data={"current_password": PASSWORD, "new_password": new, "confirm": new},
    )

    assert response.status_code == 422
    assert MESSAGES[reason][language] in (field_error(page(response), "new_password") or "")
    session.expire_all()
    stored = session.get(User, user.id)
    assert (stored.password_hash, stored.session_version) == before
    assert _logged_in(browser)


@pytest.mark.parametrize("reason", REASONS)
@pytest.mark.parametrize("language", ["en", "fr"])
def test_admin_account_creation_refused_with_the_reason(session, new_client, reason, language):
    browser = new_client(language=language)
    login_as(browser, make_user("admin"))
    users, events = count(session, User), count(session, AuditEvent)

    response = browser.post(
        "/users/new",
        data={
            "email": EMAIL,
            "name": "Marie",
            "role": "coach",
            "language": "",
            "site_id": "",
            "region_id": "",
            "active": "y",
            "password": REFUSED[reason],
        },
    )

    assert response.status_code == 422
    assert MESSAGES[reason][language] in (field_error(page(response), "password") or "")
    assert count(session, User) == users
    assert count(session, AuditEvent) == events


@pytest.mark.parametrize("reason", ["local part", "guessable"])
def test_admin_password_reset_refused_with_the_reason(client, session, reason):
    login_as(client, make_user("admin"))
    target = make_user("coach", email=EMAIL)
    before = (target.password_hash, target.version)

    response = client.post(
        f"/users/{target.id}/edit",
        data={
            "email": EMAIL,
            "name": target.name,
            "role": "coach",
            "language": "",
            "site_id": "",
            "region_id": "",
            "active": "y",
            "password": REFUSED[reason],
            "version": str(target.version),
        },
    )

    assert response.status_code == 422
    assert MESSAGES[reason]["en"] in (field_error(page(response), "password") or "")
    session.expire_all()
    stored = session.get(User, target.id)
    assert (stored.password_hash, stored.version) == before


def test_a_short_local_part_does_not_forbid_its_letters():
    check_password_strength("Jo-Radium-Polonium-1898", "jo@example.org")  # no error


def test_every_demo_account_accepts_the_demo_password(app):
    with app.test_request_context():
        for account in DEMO_ACCOUNTS:
            check_password_strength(app.config["DEMO_PASSWORD"], account.email)
        with pytest.raises(Invalid):
            check_password_strength("aaaaaaaaaa", "admin@demo.programme.fr")


# --- command line --------------------------------------------------------------------------


@pytest.mark.parametrize("reason", ["local part", "guessable"])
def test_create_user_cli_refuses_a_weak_password(app, session, reason):
    result = app.test_cli_runner().invoke(
        args=["create-user", EMAIL, "--role", "coach"],
        input=f"{REFUSED[reason]}\n{REFUSED[reason]}\n",
    )
    assert result.exit_code != 0
    assert MESSAGES[reason]["en"] in result.output
    assert count(session, User) == 0


@pytest.mark.parametrize("reason", REASONS)
def test_set_password_cli_refuses_a_weak_password(app, session, reason):
    user = make_user("coach", email=EMAIL)
    before = (user.password_hash, user.session_version)
    result = app.test_cli_runner().invoke(
        args=["set-password", EMAIL], input=f"{REFUSED[reason]}\n{REFUSED[reason]}\n"
    )
    assert result.exit_code != 0
    expected = "at least 10 characters" if reason == "short" else MESSAGES[reason]["en"]
    assert expected in result.output
    session.expire_all()
    stored = session.get(User, user.id)
    assert (stored.password_hash, stored.session_version) == before


def test_set_password_cli_accepts_a_strong_password(app, session):
    user = make_user("coach", email=EMAIL)
    before = user.password_hash
    result = app.test_cli_runner().invoke(
        args=["set-password", EMAIL], input="Radium-Polonium-1898\nRadium-Polonium-1898\n"
    )
    assert result.exit_code == 0, result.output
    session.expire_all()
    assert session.get(User, user.id).password_hash != before


def test_log_out_everywhere_ends_every_login_session_on_the_server(client, session, new_client):
    user = make_user("coach")
    phone = new_client()
    assert location(login(client, user.email, remember=True)) == "/"
    assert location(login(phone, user.email)) == "/"
    copied = client.get_cookie(SESSION_COOKIE).value

    assert location(phone.post("/account/logout-everywhere")) == "/login"

    assert count(session, LoginSession) == 0
    assert not _logged_in(client)
    assert not _logged_in(_replay(new_client, SESSION_COOKIE, copied))


def test_a_password_change_keeps_only_this_devices_login_session(client, session, new_client):
    user = make_user("coach")
    phone = new_client()
    assert location(login(client, user.email)) == "/"
    assert location(login(phone, user.email)) == "/"
    response = client.post(
        "/account/password",
        data={"current_password": PASSWORD, "new_password": "Radium-Polonium-1898",
              "confirm": "Radium-Polonium-1898"},
    )  # fmt: skip
    assert response.status_code == 302
    assert count(session, LoginSession) == 1
    assert _logged_in(client)
    assert not _logged_in(phone)
