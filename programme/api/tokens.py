"""API tokens: created for a user, shown once, stored as a SHA-256 hash, revocable.

Tokens are 256-bit random strings, so a fast hash is enough (no password stretching)."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from programme.api.models import ApiToken
from programme.database import utcnow

PREFIX = "pgm_"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(session: Session, user, name: str) -> tuple[ApiToken, str]:
    """The new token row and the token itself (the only time it is available)."""
    token = PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        user_id=user.id,
        name=(name or "api").strip()[:120],
        prefix=token[:12],
        token_hash=_hash(token),
    )
    session.add(row)
    session.flush()
    return row, token


def revoke_token(session: Session, row: ApiToken) -> None:
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        session.flush()


def user_for_token(session: Session, token: str):
    """The active user behind a valid, unrevoked token, else None."""
    if not token or not token.startswith(PREFIX) or len(token) > 100:
        return None, None
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == _hash(token)))
    if row is None or row.revoked_at is not None:
        return None, None
    user = row.user
    if user is None or not user.active:
        return None, None
    return user, row


def tokens_of(session: Session, user) -> list[ApiToken]:
    return list(
        session.scalars(
            select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.created_at.desc())
        )
    )
