"""Logging in and out, throttling, sessions, the account page, CSRF, security headers,
cookies, error pages and user administration — through the Flask test client."""

from __future__ import annotations

import pytest
from babel.support import Translations
from sqlalchemy import select

from programme import create_app
from programme.audit import REDACTED, AuditEvent
from programme.auth.models import User
from programme.config import ROOT
from programme.extensions import db as _db
from programme.network.models import Region, Site
from tests.factories import PASSWORD, login_as, make_site, make_user
from tests.web.helpers import (
    CSRF_ERROR,
    count,
    csrf_header_token,
    field_error,
    flashes,
    h1,
    hidden_value,
    html_lang,
    is_login_redirect,
    location,
    login,
    make_client,
    page,
)

WRONG = "Wrong email or password."
THROTTLED = "Too many attempts. Wait a few minutes and try again."
NEW_PASSWORD = "Brand-new-password-7"


def _logged_in(client) -> bool:
    response = client.get("/account")
    if response.status_code == 200:
        return True
    assert is_login_redirect(response, "/account"), (response.status_code, location(response))
    return False


# --- logging in ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "heading"),
    [
        ("admin", "Programme office"),
        ("diagnostician", "In-situ diagnostics"),
        ("pilot_team", "Pilot team"),
        ("coach", "My sites"),
        ("site_manager", "My site"),
        ("executive", "Programme at a glance"),
    ],
)
def test_login_lands_on_the_home_page_of_the_role(client, session, role, heading):
    extra = {"site_id": make_site().id} if role == "site_manager" else {}
    user = make_user(role, **extra)

    response = login(client, user.email)

    assert response.status_code == 302
    assert location(response) == "/"
    home = client.get("/")
    assert home.status_code == 200
    assert h1(page(home)) == heading


def test_login_is_case_insensitive_on_the_email(client, session):
    make_user("admin", email="claire.martin@example.org")
    assert location(login(client, "  Claire.Martin@EXAMPLE.org ")) == "/"


def test_wrong_password_and_unknown_email_get_the_same_generic_message(client, session, new_client):
    user = make_user("admin")

    wrong_password = login(client, user.email, "not-the-password")
    unknown = login(new_client(), "nobody@example.org", PASSWORD)

    for response in (wrong_password, unknown):
        assert response.status_code == 401
        assert flashes(page(response)) == [WRONG]
        assert "<input" in page(response) and 'name="password"' in page(response)
    assert not _logged_in(client)


def test_failed_login_is_recorded_without_the_password(client, session):
    user = make_user("admin")
    login(client, user.email, "secret-guess-123")
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "login_failed")).one()
    assert event.actor == user.email
    assert "secret-guess-123" not in str(event.changes) + str(event.summary)


def test_empty_login_form_is_422(client, session):
    response = client.post("/login", data={"email": "", "password": ""})
    assert response.status_code == 422
    assert field_error(page(response), "email")


def test_deactivated_user_cannot_log_in(client, session):
    user = make_user("coach", active=False)
    response = login(client, user.email)
    assert response.status_code == 401
    assert flashes(page(response)) == [WRONG]
    assert not _logged_in(client)


def test_already_logged_in_user_visiting_login_goes_home(client, session):
    login_as(client, make_user("coach"))
    response = client.get("/login")
    assert response.status_code == 302
    assert location(response) == "/"


def test_anonymous_visitor_is_sent_to_login_and_back(client, session):
    user = make_user("admin")
    first = client.get("/sites?q=lyon")
    assert is_login_redirect(first, "/sites?q=lyon")
    response = login(client, user.email, next="/sites?q=lyon")
    assert location(response) == "/sites?q=lyon"


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example",
        "//evil.example/path",
        "https://evil.example/",
        "http:/evil.example",
        "/\\evil.example",
        "\\\\evil.example",
        "/\t/evil.example",
        "javascript:alert(1)",
        "evil.example",
    ],
)
def test_next_parameter_cannot_send_people_elsewhere(client, session, target):
    user = make_user("admin")
    response = login(client, user.email, next=target)
    assert response.status_code == 302
    assert location(response) == "/"


def test_logout(client, session):
    login_as(client, make_user("coach"))
    response = client.post("/logout")
    assert response.status_code == 302
    assert location(response) == "/login"
    assert "You are logged out." in flashes(page(client.get("/login")))
    assert not _logged_in(client)
    assert client.get("/logout").status_code == 405


# --- throttling ------------------------------------------------------------------------------


def test_login_throttled_per_account(app, client, session, new_client):
    assert app.config["LOGIN_LIMIT_PER_ACCOUNT"] == "5 per 5 minutes"
    user = make_user("admin", email="target@example.org")
    other = make_user("admin", email="other@example.org")

    for _attempt in range(5):
        assert login(client, user.email, "guess-guess-guess").status_code == 401

    sixth = login(client, user.email, PASSWORD)  # even the right password
    assert sixth.status_code == 429
    assert THROTTLED in page(sixth)
    assert not _logged_in(client)
    # the same account from another address, spelled differently: still throttled
    elsewhere = login(new_client(remote_addr="10.9.9.9"), " TARGET@example.org", PASSWORD)
    assert elsewhere.status_code == 429
    # another account from the first address is not affected
    assert location(login(new_client(), other.email)) == "/"


def test_successful_login_does_not_count_against_the_limit(client, session, new_client):
    user = make_user("admin")
    for _attempt in range(4):
        assert login(client, user.email, "guess-guess-guess").status_code == 401
    for _success in range(3):
        browser = new_client()
        assert location(login(browser, user.email)) == "/"
    assert login(client, user.email, "guess-guess-guess").status_code == 401  # 5th failure
    assert login(client, user.email, "guess-guess-guess").status_code == 429  # 6th


def test_login_throttled_per_ip(app, session, new_client):
    limit = int(app.config["LOGIN_LIMIT_PER_IP"].split()[0])
    user = make_user("admin")
    attacker = new_client(remote_addr="203.0.113.7")

    for attempt in range(limit):
        response = login(attacker, f"guess{attempt}@example.org", "guess-guess-guess")
        assert response.status_code == 401, attempt

    blocked = login(attacker, user.email, PASSWORD)
    assert blocked.status_code == 429
    assert THROTTLED in page(blocked)
    # someone else, from another address, logs in normally
    assert location(login(new_client(remote_addr="198.51.100.4"), user.email)) == "/"


# --- password change and sessions ------------------------------------------------------------


def _password_form(current=PASSWORD, new=NEW_PASSWORD, confirm=None):
    return {"current_password": current, "new_password": new, "confirm": confirm or new}


def test_password_change_with_a_wrong_current_password(client, session, new_client):
    user = make_user("coach")
    other_device = new_client()
    login_as(client, user)
    login_as(other_device, user)

    response = client.post("/account/password", data=_password_form(current="not-my-password"))

    assert response.status_code == 422
    assert field_error(page(response), "current_password") == "The current password is wrong."
    session.expire_all()
    stored = session.get(User, user.id)
    assert stored.password_hash == user.password_hash
    assert _logged_in(other_device)
    assert location(login(new_client(), user.email, PASSWORD)) == "/"


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        (_password_form(new="short-1"), "new_password", "between 10 and 200 characters"),
        (_password_form(confirm="Something-else-42"), "confirm", "The two passwords differ."),
    ],
    ids=["too short", "confirmation differs"],
)
def test_password_change_refused(client, session, form, field, message):
    user = make_user("coach")
    login_as(client, user)
    response = client.post("/account/password", data=form)
    assert response.status_code == 422
    assert message in (field_error(page(response), field) or "")
    session.expire_all()
    assert session.get(User, user.id).password_hash == user.password_hash


def test_password_change_ends_the_other_sessions_only(client, session, new_client):
    user = make_user("coach")
    other_device = new_client()
    login_as(client, user)
    login_as(other_device, user)
    assert _logged_in(other_device)

    response = client.post("/account/password", data=_password_form())

    assert response.status_code == 302
    assert location(response) == "/account"
    assert "Password changed. Your other sessions have been logged out." in flashes(
        page(client.get("/account"))
    )
    assert _logged_in(client)
    assert not _logged_in(other_device)
    assert login(new_client(), user.email, PASSWORD).status_code == 401
    assert location(login(new_client(), user.email, NEW_PASSWORD)) == "/"


def test_password_change_keeps_remember_me_on_this_device_only(client, session, new_client):
    user = make_user("coach")
    assert location(login(client, user.email, remember=True)) == "/"
    old_cookie = client.get_cookie("remember_token").value

    assert client.post("/account/password", data=_password_form()).status_code == 302

    new_cookie = client.get_cookie("remember_token")
    assert new_cookie is not None and new_cookie.value != old_cookie
    fresh = new_client()
    fresh.set_cookie("remember_token", new_cookie.value)
    assert _logged_in(fresh), "this device stays signed in after a restart"
    stale = new_client()
    stale.set_cookie("remember_token", old_cookie)
    assert not _logged_in(stale), "a remember-me cookie issued before the change is dead"


def test_log_out_everywhere_ends_remember_me_too(app, client, session, new_client):
    user = make_user("coach")
    laptop = client
    assert location(login(laptop, user.email, remember=True)) == "/"
    remember = laptop.get_cookie("remember_token")
    assert remember is not None, "remember=y must set the remember-me cookie"

    def only_the_remember_cookie():
        browser = new_client()
        browser.set_cookie("remember_token", remember.value)
        return browser

    # control: the remember-me cookie alone logs the laptop back in
    assert _logged_in(only_the_remember_cookie())

    phone = new_client()
    login_as(phone, user)
    response = phone.post("/account/logout-everywhere")
    assert response.status_code == 302
    assert location(response) == "/login"
    assert "You are logged out on every device." in flashes(page(phone.get("/login")))

    assert not _logged_in(phone)
    assert not _logged_in(laptop)
    assert not _logged_in(only_the_remember_cookie())


# --- language --------------------------------------------------------------------------------


def _french(msgid: str) -> str:
    catalogue = Translations.load(str(ROOT / "programme" / "translations"), ["fr"])
    return catalogue.gettext(msgid)


def test_language_choice_on_the_account_page(client, session):
    user = make_user("coach")
    login_as(client, user)
    english = page(client.get("/account"))
    assert html_lang(english) == "en"
    assert h1(english) == "My account"

    response = client.post("/account/language", data={"language": "fr"})
    assert response.status_code == 302
    french = page(client.get("/account"))
    assert html_lang(french) == "fr"
    if _french("My account") != "My account":  # once the catalogue translates it
        assert h1(french) == _french("My account")
    session.expire_all()
    assert session.get(User, user.id).language == "fr"

    client.post("/account/language", data={"language": "en"})
    assert html_lang(page(client.get("/account"))) == "en"


def test_account_language_refuses_unknown_languages(client, session):
    user = make_user("coach", language="en")
    login_as(client, user)
    response = client.post("/account/language", data={"language": "de"})
    assert response.status_code == 422
    session.expire_all()
    assert session.get(User, user.id).language == "en"


def test_anonymous_language_switch(client, session):
    assert html_lang(page(client.get("/login"))) == "en"

    response = client.post("/language", data={"language": "fr", "next": "/login"})
    assert response.status_code == 302
    assert location(response) == "/login"
    assert html_lang(page(client.get("/login"))) == "fr"

    client.post("/language", data={"language": "en", "next": "/login"})
    assert html_lang(page(client.get("/login"))) == "en"


def test_anonymous_language_choice_becomes_the_account_language(client, session):
    user = make_user("coach")
    client.post("/language", data={"language": "fr", "next": "/login"})
    login(client, user.email)
    session.expire_all()
    assert session.get(User, user.id).language == "fr"
    assert html_lang(page(client.get("/"))) == "fr"


def test_language_switch_next_is_checked(client, session):
    response = client.post("/language", data={"language": "fr", "next": "//evil.example"})
    assert location(response) == "/"


# --- CSRF ------------------------------------------------------------------------------------


def test_csrf_missing_token_on_login(client, session, csrf_on):
    user = make_user("admin")
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 400
    assert CSRF_ERROR in page(response)
    assert not _logged_in(client)


def test_csrf_token_from_the_page_lets_the_login_through(client, session, csrf_on):
    user = make_user("admin")
    token = hidden_value(page(client.get("/login")), "csrf_token")
    assert token
    response = client.post(
        "/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token}
    )
    assert location(response) == "/"


def test_csrf_missing_token_on_site_creation(client, session, csrf_on):
    login_as(client, make_user("admin"))
    client.get("/sites/new")
    response = client.post(
        "/sites/new",
        data={
            "code": "NEW-1",
            "name": "Agence",
            "type": "branch",
            "region": "Bretagne",
            "operator": "internal",
        },
    )
    assert response.status_code == 400
    assert CSRF_ERROR in page(response)
    assert count(session, Site) == 0
    assert count(session, Region) == 0


def test_csrf_missing_token_on_password_change(client, session, csrf_on):
    user = make_user("coach")
    login_as(client, user)
    client.get("/account")
    response = client.post("/account/password", data=_password_form())
    assert response.status_code == 400
    assert CSRF_ERROR in page(response)
    session.expire_all()
    assert session.get(User, user.id).password_hash == user.password_hash


def test_htmx_post_with_the_csrf_header_is_accepted(client, session, csrf_on):
    login_as(client, make_user("admin"))
    token = csrf_header_token(page(client.get("/regions")))

    forged = client.post(
        "/regions",
        data={"name": "Bretagne"},
        headers={"HX-Request": "true", "X-CSRFToken": "forged"},
    )
    assert forged.status_code == 400
    assert count(session, Region) == 0

    response = client.post(
        "/regions", data={"name": "Bretagne"}, headers={"HX-Request": "true", "X-CSRFToken": token}
    )
    assert response.status_code == 302
    assert session.scalars(select(Region.name)).all() == ["Bretagne"]


# --- security headers and cookies ------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "status"),
    [("/login", 200), ("/", 302), ("/no-such-page", 404), ("/static/app.css", 200)],
    ids=["html page", "redirect", "404", "static file"],
)
def test_security_headers_on_every_response(client, session, path, status):
    response = client.get(path)
    assert response.status_code == status
    csp = response.headers.get("Content-Security-Policy", "")
    directives = {d.split()[0]: d.split()[1:] for d in csp.split(";") if d.strip()}
    assert directives.get("default-src") == ["'self'"]
    assert directives.get("frame-ancestors") == ["'none'"]
    assert "'unsafe-inline'" not in csp
    assert "'unsafe-eval'" not in csp
    assert response.headers.get("X-Content-Type-Options") == "nosniff"
    assert response.headers.get("X-Frame-Options") == "DENY"
    assert response.headers.get("Referrer-Policy")


def _cookie_header(response, name: str) -> str:
    for header in response.headers.getlist("Set-Cookie"):
        if header.startswith(f"{name}="):
            return header
    raise AssertionError(f"no {name} cookie set: {response.headers.getlist('Set-Cookie')}")


def _attributes(header: str) -> set[str]:
    return {part.strip().lower() for part in header.split(";")[1:]}


def test_session_and_remember_cookies_are_httponly_and_lax(app, client, session):
    user = make_user("coach")
    response = login(client, user.email, remember=True)
    for name in ("session", "remember_token"):
        attributes = _attributes(_cookie_header(response, name))
        assert "httponly" in attributes
        assert "samesite=lax" in attributes
        # the test app runs the development configuration (plain http) unless told otherwise
        assert ("secure" in attributes) is bool(app.config["SESSION_COOKIE_SECURE"])


@pytest.fixture
def production_app(monkeypatch, database_url):
    monkeypatch.setenv("PROGRAMME_ENV", "production")
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": database_url,
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_STORAGE_URI": "memory://",
        }
    )
    yield app
    with app.app_context():
        _db.engine.dispose()


def test_production_cookies_are_secure(production_app, session):
    assert production_app.config["SESSION_COOKIE_SECURE"] is True
    assert production_app.config["REMEMBER_COOKIE_SECURE"] is True
    user = make_user("coach")
    client = make_client(production_app)
    response = login(client, user.email, remember=True)
    assert response.status_code == 302
    for name in ("session", "remember_token"):
        attributes = _attributes(_cookie_header(response, name))
        assert {"secure", "httponly", "samesite=lax"} <= attributes
    assert "max-age=" in response.headers.get("Strict-Transport-Security", "")


# --- error pages -----------------------------------------------------------------------------


def _in_layout(text: str) -> bool:
    return '<header class="app-header">' in text and '<main id="main"' in text and "</html>" in text


def test_404_page_in_the_layout(client, session):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    text = page(response)
    assert _in_layout(text)
    assert "This page does not exist." in text


def test_500_page_in_the_layout(client, session, monkeypatch):
    from programme.home import views

    def broken(*args, **kwargs):
        raise RuntimeError("database on fire")

    monkeypatch.setattr(views.network_queries, "network_summary", broken)
    login_as(client, make_user("admin"))

    response = client.get("/")

    assert response.status_code == 500
    text = page(response)
    assert _in_layout(text)
    assert "Something went wrong on our side. The error has been logged." in text
    assert "database on fire" not in text
    assert "My account" in text  # the logged-in navigation still works


def test_403_page_in_the_layout(client, session):
    login_as(client, make_user("executive"))
    response = client.get("/users")
    assert response.status_code == 403
    assert _in_layout(page(response))


# --- user administration ---------------------------------------------------------------------


def _user_form(**values):
    form = {
        "email": "new.person@example.org",
        "name": "New Person",
        "role": "executive",
        "language": "",
        "site_id": "",
        "region_id": "",
        "active": "y",
        "password": "A-long-enough-password",
    }
    form.update(values)
    return {k: v for k, v in form.items() if v is not None}


def test_create_user(client, session, new_client):
    admin = make_user("admin")
    login_as(client, admin)

    response = client.post("/users/new", data=_user_form())

    assert response.status_code == 302
    assert location(response) == "/users"
    assert "Account new.person@example.org created." in flashes(page(client.get("/users")))
    created = session.scalars(select(User).where(User.email == "new.person@example.org")).one()
    assert created.role == "executive"
    assert "A-long-enough-password" not in created.password_hash
    event = session.scalars(
        select(AuditEvent).where(
            AuditEvent.entity == "user",
            AuditEvent.action == "create",
            AuditEvent.entity_id == str(created.id),
        )
    ).one()
    assert event.actor == admin.email
    assert event.changes["password_hash"] == [None, REDACTED]
    assert location(login(new_client(), "new.person@example.org", "A-long-enough-password")) == "/"


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"email": "Existing@Example.org"}, "email", "An account with this email already exists."),
        ({"password": "short-1"}, "password", "between 10 and 200 characters"),
        ({"password": ""}, "password", "A new account needs a password."),
        ({"email": "not-an-email"}, "email", "valid email"),
    ],
    ids=["duplicate email", "short password", "no password", "bad email"],
)
def test_create_user_refused(client, session, values, field, message):
    login_as(client, make_user("admin"))
    make_user("coach", email="existing@example.org")
    users, events = count(session, User), count(session, AuditEvent)

    response = client.post("/users/new", data=_user_form(**values))

    assert response.status_code == 422
    assert message in (field_error(page(response), field) or "")
    assert count(session, User) == users
    assert count(session, AuditEvent) == events


def _edit_form(user: User, **values):
    form = {
        "email": user.email,
        "name": user.name,
        "role": user.role,
        "language": "",
        "site_id": "",
        "region_id": "",
        "active": "y",
        "password": "",
        "version": str(user.version),
    }
    form.update(values)
    return {k: v for k, v in form.items() if v is not None}


@pytest.mark.parametrize(
    "values",
    [{"role": "executive"}, {"active": None}],
    ids=["demote", "deactivate"],
)
def test_admin_cannot_demote_or_deactivate_themselves(client, session, values):
    admin = make_user("admin")
    login_as(client, admin)

    response = client.post(f"/users/{admin.id}/edit", data=_edit_form(admin, **values))

    assert response.status_code == 422
    assert "You cannot change your own role or deactivate yourself." in page(response)
    session.expire_all()
    stored = session.get(User, admin.id)
    assert (stored.role, stored.active) == ("admin", True)
    assert _logged_in(client)


def test_edit_user_stale_version_is_a_conflict(client, session, new_client):
    admin = make_user("admin", email="first.admin@example.org")
    colleague = make_user("admin", email="second.admin@example.org")
    target = make_user("coach", email="target@example.org", name="Target")
    login_as(client, admin)
    other_desk = new_client()
    login_as(other_desk, colleague)
    mine = page(client.get(f"/users/{target.id}/edit"))
    theirs = page(other_desk.get(f"/users/{target.id}/edit"))
    assert hidden_value(mine, "version") == hidden_value(theirs, "version") == "1"

    saved = other_desk.post(
        f"/users/{target.id}/edit", data=_edit_form(target, name="Saved first", role="executive")
    )
    assert saved.status_code == 302

    response = client.post(f"/users/{target.id}/edit", data=_edit_form(target, name="Saved second"))

    assert response.status_code == 409
    text = page(response)
    assert "Someone else changed this account while you were editing it." in text
    assert "Executive" in text  # the saved state is shown
    assert hidden_value(text, "version") == "2"  # saving again is a deliberate overwrite
    session.expire_all()
    stored = session.get(User, target.id)
    assert (stored.name, stored.role) == ("Saved first", "executive")


def test_edit_user_duplicate_email(client, session):
    login_as(client, make_user("admin"))
    make_user("coach", email="taken@example.org")
    target = make_user("coach", email="target@example.org")
    response = client.post(
        f"/users/{target.id}/edit", data=_edit_form(target, email="TAKEN@example.org")
    )
    assert response.status_code == 422
    assert field_error(page(response), "email") == "An account with this email already exists."
    session.expire_all()
    assert session.get(User, target.id).email == "target@example.org"


def test_deactivating_a_user_ends_their_sessions(client, session, new_client):
    login_as(client, make_user("admin"))
    target = make_user("coach")
    their_browser = new_client()
    login_as(their_browser, target)
    assert _logged_in(their_browser)

    response = client.post(f"/users/{target.id}/edit", data=_edit_form(target, active=None))
    assert response.status_code == 302
    assert not _logged_in(their_browser)
    assert login(new_client(), target.email).status_code == 401

    # reactivated: the old session stays dead, a new login works
    session.expire_all()
    target = session.get(User, target.id)
    assert client.post(f"/users/{target.id}/edit", data=_edit_form(target)).status_code == 302
    assert not _logged_in(their_browser)
    assert location(login(new_client(), target.email)) == "/"


def test_admin_resets_a_password(client, session, new_client):
    login_as(client, make_user("admin"))
    target = make_user("coach")
    their_browser = new_client()
    login_as(their_browser, target)

    short = client.post(f"/users/{target.id}/edit", data=_edit_form(target, password="short-1"))
    assert short.status_code == 422
    assert _logged_in(their_browser)

    response = client.post(
        f"/users/{target.id}/edit", data=_edit_form(target, password=NEW_PASSWORD)
    )
    assert response.status_code == 302
    assert not _logged_in(their_browser)
    assert location(login(new_client(), target.email, NEW_PASSWORD)) == "/"


def test_user_list_role_filter_fragment(client, session):
    login_as(client, make_user("admin", email="boss@example.org"))
    make_user("coach", email="coach.one@example.org")
    response = client.get("/users?role=coach", headers={"HX-Request": "true"})
    text = page(response)
    assert response.status_code == 200
    assert "<html" not in text
    assert "coach.one@example.org" in text
    assert "boss@example.org" not in text
