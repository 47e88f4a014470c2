"""Test data: plain functions that create what a test needs, nothing shared."""

from __future__ import annotations

import itertools

from flask import current_app

from programme.auth.models import User
from programme.auth.services import hash_password, open_login_session
from programme.extensions import db
from programme.network.models import Region, Site

PASSWORD = "Correct-Horse-42"
_PASSWORD_HASH = hash_password(PASSWORD)  # hashed once: Argon2 is slow on purpose
_counter = itertools.count(1)


def make_region(name: str | None = None) -> Region:
    region = Region(name=name or f"Région {next(_counter)}")
    db.session.add(region)
    db.session.commit()
    return region


def make_site(code: str | None = None, region: Region | None = None, **values) -> Site:
    region = region or make_region()
    number = next(_counter)
    site = Site(
        code=code or f"S-{number:04d}",
        name=values.pop("name", f"Agence {number}"),
        type=values.pop("type", "branch"),
        region_id=region.id,
        **values,
    )
    db.session.add(site)
    db.session.commit()
    return site


def make_user(role: str = "admin", email: str | None = None, **values) -> User:
    user = User(
        email=email or f"{role}-{next(_counter)}@example.org",
        role=role,
        name=values.pop("name", role.title()),
        password_hash=_PASSWORD_HASH,
        **values,
    )
    db.session.add(user)
    db.session.commit()
    return user


def login_as(client, user: User) -> None:
    """Log a test client in without going through the form (the form has its own tests):
    a login session on the server, its id in the client's session cookie."""
    login_id = open_login_session(db.session, user, current_app.config["REMEMBER_COOKIE_DURATION"])
    db.session.commit()
    with client.session_transaction() as sess:
        sess["_user_id"] = login_id
        sess["_fresh"] = True
