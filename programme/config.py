"""Settings from environment variables, with safe defaults."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INSTANCE = ROOT / "instance"


def database_url() -> str:
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{INSTANCE / 'programme.db'}"
    # psycopg 3 is the PostgreSQL driver; accept the usual spellings of the URL.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def secret_key() -> str:
    """SECRET_KEY from the environment, else one generated once into instance/."""
    key = os.environ.get("SECRET_KEY")
    if key:
        return key
    INSTANCE.mkdir(parents=True, exist_ok=True)
    path = INSTANCE / "secret_key"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    return path.read_text().strip()


def _flag(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


class Config:
    def __init__(self) -> None:
        self.SECRET_KEY = secret_key()
        self.SQLALCHEMY_DATABASE_URI = database_url()
        self.SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
        self.REDIS_URL = os.environ.get("REDIS_URL") or None
        production = os.environ.get("PROGRAMME_ENV", "").lower() == "production"
        secure = production or os.environ.get("PREFERRED_URL_SCHEME") == "https"
        self.PREFERRED_URL_SCHEME = "https" if secure else "http"
        self.SESSION_COOKIE_HTTPONLY = True
        self.SESSION_COOKIE_SAMESITE = "Lax"
        self.SESSION_COOKIE_SECURE = secure
        self.REMEMBER_COOKIE_HTTPONLY = True
        self.REMEMBER_COOKIE_SAMESITE = "Lax"
        self.REMEMBER_COOKIE_SECURE = secure
        self.WTF_CSRF_TIME_LIMIT = None  # token lives as long as the session
        self.WTF_CSRF_HEADERS = ["X-CSRFToken"]
        # Generous global cap; each upload route sets its own tighter limit.
        self.MAX_CONTENT_LENGTH = 512 * 1024 * 1024
        self.SITE_IMPORT_MAX_BYTES = int(os.environ.get("SITE_IMPORT_MAX_BYTES", 5 * 1024 * 1024))
        self.BABEL_DEFAULT_LOCALE = "fr"
        self.BABEL_DEFAULT_TIMEZONE = "Europe/Paris"
        self.LANGUAGES = ["fr", "en"]
        self.RATELIMIT_STORAGE_URI = self.REDIS_URL or "memory://"
        self.RATELIMIT_HEADERS_ENABLED = False
        self.LOGIN_LIMIT_PER_ACCOUNT = os.environ.get("LOGIN_LIMIT_PER_ACCOUNT", "5 per 5 minutes")
        self.LOGIN_LIMIT_PER_IP = os.environ.get("LOGIN_LIMIT_PER_IP", "20 per 5 minutes")
        # /api/v1: requests per token, and per address for calls without a valid token.
        self.API_RATE_LIMIT = os.environ.get("API_RATE_LIMIT", "600 per minute")
        # Close the loop (issue 19): contact references are deleted this many days after
        # their case closes (`flask purge-contact-references`).
        self.FEEDBACK_CONTACT_RETENTION_DAYS = int(
            os.environ.get("FEEDBACK_CONTACT_RETENTION_DAYS", 90)
        )
        self.API_ANONYMOUS_RATE_LIMIT = os.environ.get("API_ANONYMOUS_RATE_LIMIT", "60 per minute")
        self.DEMO_PASSWORD = os.environ.get("DEMO_PASSWORD", "demo-Programme-2026")
        self.AUDIT_PAGE_SIZE = 50
        self.SITE_PAGE_SIZE = 50
        self.TESTING = _flag("PROGRAMME_TESTING")
        # Deployment impact on the executive home after a data change: "thread" serves the
        # previous figures (labelled stale) and recomputes them in the background; "inline"
        # recomputes synchronously (tests, for determinism).
        self.IMPACT_REFRESH = os.environ.get(
            "IMPACT_REFRESH", "inline" if self.TESTING else "thread"
        )
