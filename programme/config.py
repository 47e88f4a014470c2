"""Settings from environment variables, with safe defaults."""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
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


# The keys of `network.models.CHANNELS` and `SITE_TYPES`, spelled out: the settings sit
# below every domain (tests/unit/test_layers.py checks that the two lists agree).
CHANNEL_KEYS = ("in_person", "phone", "digital")
SITE_TYPE_KEYS = ("branch", "shop", "agency", "call_centre", "visa_centre", "field_sales")


def _pairs(name: str, keys: tuple[str, ...], parse) -> dict:
    """A mapping from an environment variable written `key=value,key=value` (e.g.
    FEEDBACK_DUE_WORKING_DAYS="phone=1,digital=3"). An unknown key or a bad value stops the
    start-up with a message naming the variable: a setting is never silently ignored."""
    raw = os.environ.get(name, "").strip()
    result = {}
    for part in filter(None, (p.strip() for p in raw.split(","))):
        key, sep, value = (x.strip() for x in part.partition("="))
        if not sep or key not in keys:
            raise ValueError(
                f"{name}: “{part}” is not key=value with a key among {', '.join(keys)}"
            )
        try:
            result[key] = parse(value)
        except ValueError as error:
            raise ValueError(f"{name}: “{part}”: {error}") from None
    return result


def _working_days(value: str) -> int:
    if not value.isdigit() or not 1 <= int(value) <= 20:
        raise ValueError("a whole number of working days from 1 to 20 is expected")
    return int(value)


def _case_route(value: str) -> str:
    if value not in ("site_manager", "regional_manager"):
        raise ValueError("site_manager or regional_manager is expected")
    return value


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
        # Reverse proxies in front of the app whose X-Forwarded-* headers are trusted
        # (docs/deploy.md); 0: none, the peer address is the client.
        self.PROXY_HOPS = int(os.environ.get("PROXY_HOPS") or 0)
        production = os.environ.get("PROGRAMME_ENV", "").lower() == "production"
        secure = production or os.environ.get("PREFERRED_URL_SCHEME") == "https"
        self.PREFERRED_URL_SCHEME = "https" if secure else "http"
        self.SESSION_COOKIE_HTTPONLY = True
        self.SESSION_COOKIE_SAMESITE = "Lax"
        self.SESSION_COOKIE_SECURE = secure
        self.REMEMBER_COOKIE_HTTPONLY = True
        # "Keep me signed in" lasts this long; a login session (see auth/services.py) too.
        self.REMEMBER_COOKIE_DURATION = timedelta(days=int(os.environ.get("REMEMBER_DAYS", 30)))
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
        # Redis is an accelerator, never a single point of failure: when the limits storage
        # cannot be reached, every limit (logins, API) carries on in this process's memory and
        # Flask-Limiter retries Redis with a back-off; an unreachable server is given up on
        # within a second instead of holding the request (see extensions.py for the warning).
        self.RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
        self.RATELIMIT_SWALLOW_ERRORS = True
        self.RATELIMIT_STORAGE_OPTIONS = {"socket_connect_timeout": 1, "socket_timeout": 1}
        self.LOGIN_LIMIT_PER_ACCOUNT = os.environ.get("LOGIN_LIMIT_PER_ACCOUNT", "5 per 5 minutes")
        self.LOGIN_LIMIT_PER_IP = os.environ.get("LOGIN_LIMIT_PER_IP", "20 per 5 minutes")
        # /api/v1: requests per token, and per address for calls without a valid token.
        self.API_RATE_LIMIT = os.environ.get("API_RATE_LIMIT", "600 per minute")
        # Close the loop: contact references are deleted this many days after
        # their case closes (`flask purge-contact-references`).
        self.FEEDBACK_CONTACT_RETENTION_DAYS = int(
            os.environ.get("FEEDBACK_CONTACT_RETENTION_DAYS", 90)
        )
        # Working days from a response to its case's deadline, per channel (default 2), and
        # who gets a new case per site type (default the site's manager), e.g.
        # FEEDBACK_DUE_WORKING_DAYS="phone=1" FEEDBACK_CASE_ROUTING="call_centre=regional_manager".
        self.FEEDBACK_DUE_WORKING_DAYS = _pairs(
            "FEEDBACK_DUE_WORKING_DAYS", CHANNEL_KEYS, _working_days
        )
        self.FEEDBACK_CASE_ROUTING = _pairs("FEEDBACK_CASE_ROUTING", SITE_TYPE_KEYS, _case_route)
        self.API_ANONYMOUS_RATE_LIMIT = os.environ.get("API_ANONYMOUS_RATE_LIMIT", "60 per minute")
        self.DEMO_PASSWORD = os.environ.get("DEMO_PASSWORD", "demo-Programme-2026")
        self.AUDIT_PAGE_SIZE = 50
        self.SITE_PAGE_SIZE = 50
        self.TESTING = _flag("PROGRAMME_TESTING")
        # Deployment impact on the executive home after a data change: "thread" serves the
        # previous figures (labelled stale) and recomputes them in the background; "inline"
        # recomputes synchronously (tests, for determinism).
        # E-mail digests (programme/home/digests.py) through SMTP; unset MAIL_SERVER = no
        # e-mail (the account page says so). BASE_URL: the absolute links of the digests
        # (the CLI has no request to take the host from), e.g. https://programme.example.org.
        self.MAIL_SERVER = os.environ.get("MAIL_SERVER") or None
        self.MAIL_PORT = int(os.environ.get("MAIL_PORT", 25))
        self.MAIL_USERNAME = os.environ.get("MAIL_USERNAME") or None
        self.MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD") or None
        self.MAIL_USE_TLS = _flag("MAIL_USE_TLS")
        self.MAIL_USE_SSL = _flag("MAIL_USE_SSL")
        self.MAIL_DEFAULT_SENDER = os.environ.get("MAIL_DEFAULT_SENDER", "programme@localhost")
        self.MAIL_TIMEOUT = int(os.environ.get("MAIL_TIMEOUT", 20))
        self.BASE_URL = os.environ.get("BASE_URL") or None
        self.IMPACT_REFRESH = os.environ.get(
            "IMPACT_REFRESH", "inline" if self.TESTING else "thread"
        )
        # Jobs and uploads (docs/architecture.md, "Jobs" and "Uploads").
        # A running job whose worker sent no heartbeat for this long is marked failed.
        self.JOB_HEARTBEAT_TIMEOUT = int(os.environ.get("JOB_HEARTBEAT_TIMEOUT", 60))
        self.JOB_HEARTBEAT_INTERVAL = int(os.environ.get("JOB_HEARTBEAT_INTERVAL", 10))
        # Upload files are deleted this many days after their import ended.
        self.UPLOAD_RETENTION_DAYS = int(os.environ.get("UPLOAD_RETENTION_DAYS", 30))
        # XLSX uploads are inspected before they are parsed (programme/xlsx.py).
        self.XLSX_MAX_SHEET_BYTES = int(os.environ.get("XLSX_MAX_SHEET_BYTES", 512 * 1024**2))
        self.XLSX_MAX_SHARED_STRINGS_BYTES = int(
            os.environ.get("XLSX_MAX_SHARED_STRINGS_BYTES", 64 * 1024**2)
        )
        self.XLSX_MAX_PART_BYTES = int(os.environ.get("XLSX_MAX_PART_BYTES", 32 * 1024**2))
        self.XLSX_MAX_RATIO = int(os.environ.get("XLSX_MAX_RATIO", 100))
        self.IMPORT_MAX_ROWS = int(os.environ.get("IMPORT_MAX_ROWS", 2_000_000))
        # Cached report sections and headline impacts are recomputed at most once per this
        # many seconds whatever the write rate (programme/reports/cache.py).
        self.REPORT_REFRESH_SECONDS = float(os.environ.get("REPORT_REFRESH_SECONDS", "30"))
        # A person's home and report pages are kept this many seconds in Redis
        # (programme/web/page_cache.py); their own writes show at once. 0, or no REDIS_URL:
        # computed on every visit.
        self.PAGE_CACHE_SECONDS = float(os.environ.get("PAGE_CACHE_SECONDS", "30"))
