"""Accounts."""

from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from programme.audit import Audited
from programme.database import Base, TimestampMixin, VersionedMixin


class User(Audited, VersionedMixin, TimestampMixin, UserMixin, Base):
    __tablename__ = "user"
    __audit_redact__ = frozenset({"password_hash"})
    __audit_exclude__ = frozenset(
        {"created_at", "updated_at", "version", "last_login_at", "session_version"}
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(30))
    password_hash: Mapped[str] = mapped_column(String(200))
    language: Mapped[str | None] = mapped_column(String(5))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Bumped by a password change or "log out everywhere": old session cookies stop working.
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    # Perimeter of a site / regional manager (either or both).
    site_id: Mapped[int | None] = mapped_column(ForeignKey("site.id", ondelete="SET NULL"))
    region_id: Mapped[int | None] = mapped_column(ForeignKey("region.id", ondelete="SET NULL"))
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    # The token of the login session this instance was loaded for (not a column): it
    # travels in the login id, so that logging out can end this session on the server.
    login_token = None

    @property
    def is_active(self) -> bool:  # Flask-Login
        return bool(self.active)

    def get_id(self) -> str:
        """Flask-Login's id, kept in the session and remember-me cookies:
        `user id:session version:login session token` (see auth/services.py)."""
        return f"{self.id}:{self.session_version}:{self.login_token or ''}"

    @property
    def display_name(self) -> str:
        return self.name or self.email


class LoginSession(Base):
    """One row per signed-in browser: its session and remember-me cookies carry the token,
    whose SHA-256 is stored here. Logging out deletes the row, so a copy of the cookie
    replayed afterwards is refused; rows expire with the remember-me duration."""

    __tablename__ = "login_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
