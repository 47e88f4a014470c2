"""Accounts: creation, passwords, sessions."""

from __future__ import annotations

import contextlib
import hashlib
import secrets
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session, object_session
from zxcvbn import zxcvbn

from programme.auth.models import LoginSession, User
from programme.auth.roles import normalise_role
from programme.database import utcnow
from programme.errors import Invalid

_hasher = PasswordHasher()  # Argon2id with the library's default parameters

MIN_PASSWORD_LENGTH = 10
MIN_PASSWORD_SCORE = 3  # zxcvbn: 0 (too guessable) … 4 (very unguessable)
MIN_LOCAL_PART = 3  # "jo@…" would forbid every password containing "jo"
# Checked against a dummy hash when the account does not exist, so timing does not tell.
_DUMMY_HASH = _hasher.hash("not-a-real-password-for-timing")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password_strength(password: str, email: str | None = None) -> None:
    """Refuse, saying why: fewer than 10 characters, the email's local part inside (when it
    has at least 3 characters, whatever the case), or a zxcvbn score below 3 (guessable)."""
    from flask_babel import gettext as _

    if len(password) < MIN_PASSWORD_LENGTH:
        raise Invalid.on(
            "password",
            _("The password must have at least %(n)d characters.", n=MIN_PASSWORD_LENGTH),
        )
    local_part = normalise_email(email or "").split("@", 1)[0]
    if len(local_part) >= MIN_LOCAL_PART and local_part in password.lower():
        raise Invalid.on(
            "password",
            _(
                "The password must not contain the first part of the email address (%(part)s).",
                part=local_part,
            ),
        )
    # zxcvbn refuses inputs over 72 characters; the first 72 are plenty to judge. No
    # user_inputs: zxcvbn keeps them in a module-global dictionary, unsafe across threads.
    if zxcvbn(password[:72])["score"] < MIN_PASSWORD_SCORE:
        raise Invalid.on(
            "password",
            _(
                "This password is too easy to guess: use several unrelated words, "
                "or mix in less common words, digits and symbols."
            ),
        )


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def find_user(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(func.lower(User.email) == normalise_email(email)))


def create_user(
    session: Session,
    email: str,
    role: str,
    password: str,
    name: str = "",
    language: str | None = None,
    site_id: int | None = None,
    region_id: int | None = None,
) -> User:
    from flask_babel import gettext as _

    email = normalise_email(email)
    if "@" not in email or len(email) > 254:
        raise Invalid.on("email", _("Enter a valid email address."))
    role_id = normalise_role(role)
    if role_id is None:
        raise Invalid.on("role", _("Unknown role: %(role)s.", role=role))
    if find_user(session, email) is not None:
        raise Invalid.on("email", _("An account with this email already exists."))
    check_password_strength(password, email)
    user = User(
        email=email,
        role=role_id,
        name=name.strip(),
        password_hash=hash_password(password),
        language=language,
        site_id=site_id,
        region_id=region_id,
    )
    session.add(user)
    session.flush()
    return user


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The user when the password is right and the account active; None otherwise."""
    user = find_user(session, email)
    if user is None:
        with contextlib.suppress(VerificationError):
            _hasher.verify(_DUMMY_HASH, password or "x")
        return None
    try:
        _hasher.verify(user.password_hash, password or "")
    except (VerificationError, InvalidHashError):
        return None
    if not user.active:
        return None
    values = {"last_login_at": utcnow(), "updated_at": User.updated_at}
    if _hasher.check_needs_rehash(user.password_hash):
        values["password_hash"] = hash_password(password)
    # A statement on these columns only, outside optimistic locking: a login is not an edit
    # of the account, so it neither bumps `version` (which would make concurrent logins and a
    # concurrent administrator's save fail as stale) nor touches `updated_at`.
    session.execute(
        update(User)
        .where(User.id == user.id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return user


def adopt_language(session: Session, user: User, language: str) -> None:
    """The language chosen before logging in becomes the account's, when it has none yet
    (a statement guarded on that, outside optimistic locking, like the login time)."""
    session.execute(
        update(User)
        .where(User.id == user.id, User.language.is_(None))
        .values(language=language, updated_at=User.updated_at)
        .execution_options(synchronize_session=False)
    )


def change_password(session: Session, user: User, current: str, new: str) -> None:
    from flask_babel import gettext as _

    try:
        _hasher.verify(user.password_hash, current or "")
    except (VerificationError, InvalidHashError):
        raise Invalid.on("current_password", _("The current password is wrong.")) from None
    check_password_strength(new, user.email)
    set_password(user, new)


def set_password(user: User, new: str) -> None:
    user.password_hash = hash_password(new)
    end_other_sessions(user)


def end_other_sessions(user: User) -> None:
    """Invalidate every session and remember-me cookie of the account, except the one this
    instance was loaded for (a password change keeps the device it was made on)."""
    user.session_version = (user.session_version or 1) + 1
    session = object_session(user)
    if session is not None and user.id is not None:
        stmt = delete(LoginSession).where(LoginSession.user_id == user.id)
        if user.login_token:
            stmt = stmt.where(LoginSession.token_hash != _token_hash(user.login_token))
        session.execute(stmt)


# --- login sessions ----------------------------------------------------------------------
# Flask-Login keeps `user.get_id()` in the signed session cookie (and in the remember-me
# cookie): "user id:session version:token". The token names one row of `login_session`;
# the session version is the account-wide switch (password change, log out everywhere,
# deactivation). A cookie is accepted only while both hold.


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_login_session(session: Session, user: User, lifetime: timedelta) -> str:
    """Start a login session for `user`; returns the login id to put in the cookies."""
    now = utcnow()
    # Housekeeping for this account only: sessions that were never logged out.
    session.execute(
        delete(LoginSession).where(LoginSession.user_id == user.id, LoginSession.expires_at <= now)
    )
    token = secrets.token_urlsafe(32)
    session.add(
        LoginSession(
            user_id=user.id,
            token_hash=_token_hash(token),
            created_at=now,
            expires_at=now + lifetime,
        )
    )
    user.login_token = token
    return user.get_id()


def close_login_session(session: Session, user: User) -> None:
    """End the login session `user` was loaded for (logout on this device only)."""
    if user.login_token:
        session.execute(
            delete(LoginSession).where(
                LoginSession.user_id == user.id,
                LoginSession.token_hash == _token_hash(user.login_token),
            )
        )
    user.login_token = None


def load_from_session_id(session: Session, login_id: str) -> User | None:
    try:
        user_part, version_part, token = login_id.split(":", 2)
        user_id, version = int(user_part), int(version_part)
    except (ValueError, AttributeError):
        return None
    if not token:
        return None
    user = session.scalar(
        select(User)
        .join(LoginSession, LoginSession.user_id == User.id)
        .where(
            User.id == user_id,
            LoginSession.token_hash == _token_hash(token),
            LoginSession.expires_at > utcnow(),
        )
    )
    if user is None or user.session_version != version or not user.active:
        return None
    user.login_token = token
    return user
