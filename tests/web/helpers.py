"""Small helpers shared by the web tests: reading pages, logging in through the form."""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, urlsplit

from flask.testing import FlaskClient
from sqlalchemy import func, select

from tests.factories import PASSWORD

DENIED = "You do not have access to this page or action."
CSRF_ERROR = "Your form expired or was sent from elsewhere. Reload the page and try again."


class IsolatedClient(FlaskClient):
    """A test client that runs each request (and each redirect hop) in its own application
    context, as production does; see tests/web/conftest.py for why."""

    def run_wsgi_app(self, environ, buffered=False):
        with self.application.app_context():
            return super().run_wsgi_app(environ, buffered=True)


def make_client(app, language: str | None = "en", remote_addr: str | None = None) -> FlaskClient:
    client = IsolatedClient(app, app.response_class, use_cookies=True)
    if language:
        client.environ_base["HTTP_ACCEPT_LANGUAGE"] = language
    if remote_addr:
        client.environ_base["REMOTE_ADDR"] = remote_addr
    return client


def page(response) -> str:
    """The response body as text, HTML entities decoded (so messages compare as shown)."""
    return html.unescape(response.get_data(as_text=True))


def count(session, model) -> int:
    """Rows in a model's table, read fresh from the database."""
    return session.scalar(select(func.count()).select_from(model))


def login(
    client, email: str, password: str = PASSWORD, remember: bool = False, next: str | None = None
):
    data = {"email": email, "password": password}
    if remember:
        data["remember"] = "y"
    return client.post("/login", data=data, query_string={"next": next} if next else None)


def location(response) -> str:
    return response.headers.get("Location", "")


def is_login_redirect(response, next_path: str | None = None) -> bool:
    """A 302 to the login page carrying `next` (what an anonymous visitor gets)."""
    if response.status_code != 302:
        return False
    parts = urlsplit(location(response))
    if parts.path != "/login":
        return False
    query = parse_qs(parts.query)
    if "next" not in query:
        return False
    return next_path is None or query["next"][0] == next_path


def field_error(text: str, field_id: str) -> str | None:
    """The error shown next to a form field (macros/forms.html), or None."""
    match = re.search(
        rf'<small id="{re.escape(field_id)}-error" class="field-error">(.*?)</small>', text, re.S
    )
    return match.group(1).strip() if match else None


def flashes(text: str) -> list[str]:
    return [m.strip() for m in re.findall(r'<p class="flash flash-\w+"[^>]*>(.*?)</p>', text, re.S)]


def html_lang(text: str) -> str | None:
    match = re.search(r'<html lang="([^"]*)"', text)
    return match.group(1) if match else None


def h1(text: str) -> str | None:
    match = re.search(r"<h1[^>]*>(.*?)</h1>", text, re.S)
    return re.sub(r"<[^>]+>", "", match.group(1)).strip() if match else None


def hidden_value(text: str, name: str) -> str | None:
    match = re.search(
        rf'<input[^>]*name="{re.escape(name)}"[^>]*value="([^"]*)"', text
    ) or re.search(rf'<input[^>]*value="([^"]*)"[^>]*name="{re.escape(name)}"', text)
    return match.group(1) if match else None


def csrf_header_token(text: str) -> str:
    """The token the layout hands to htmx: <body hx-headers='{"X-CSRFToken": "..."}'>."""
    match = re.search(r"hx-headers='\{\"X-CSRFToken\": \"([^\"]+)\"\}'", text)
    assert match, "the layout must give htmx the CSRF token"
    return match.group(1)
