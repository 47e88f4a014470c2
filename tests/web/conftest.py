"""Test clients for the web tests: every request in its own application context, in English.

The root `session` fixture keeps an application context pushed for the whole test. Flask
reuses an active application context for a request, so with the plain test client every
request of a test shares one `flask.g`: Flask-Login's cached current user, Flask-Babel's
locale and Flask-WTF's CSRF token leak from one request (and one client) to the next — an
anonymous client is served as the user a previous request logged in. Production pushes a
fresh context per request; `IsolatedClient` does the same, so each request also gets its
own database session, exactly as behind gunicorn. Consequence for tests: read what a
request wrote with a fresh query (`count()`, `session.expire_all()` before `session.get`).

The interface language is the user's choice, else Accept-Language, else French. These
clients send `Accept-Language: en` so that assertions on messages do not depend on how far
the French catalogue has been translated; the language tests switch explicitly.
"""

from __future__ import annotations

import pytest

from tests.web.helpers import make_client


@pytest.fixture
def client(app):
    return make_client(app)


@pytest.fixture
def new_client(app):
    """Another browser: `new_client()`, `new_client(remote_addr="10.0.0.2")`, `new_client(language=None)`."""

    def factory(**kwargs):
        return make_client(app, **kwargs)

    return factory
