"""E-mail digests: what a person's home lists, sent daily or weekly at the hour they chose
in their time zone.

- Each person opts in on their account page (`save_preference`: daily or weekly, an hour
  0–23, an IANA time zone checked with zoneinfo).
- `send_digests(session, app, now)` — run by `flask send-digests` every 15 minutes — sends
  the digests that are due at `now`: daily from the chosen hour of the person's day,
  weekly from the chosen hour on Monday. Each digest is built from live data when it is
  sent (`services.lines_for`, the home's own list, overdue first), in the person's
  language, with absolute links (BASE_URL). An empty digest is not sent.
- At most once per period: a `digest_sent` row (unique on person and period) is claimed
  before sending and committed only once the SMTP server accepted the message. If SMTP is
  unreachable the claim is rolled back and logged: the next run tries again; the run
  never crashes.
- Without MAIL_SERVER nothing is sent (the account page says so).
"""

from __future__ import annotations

import contextlib
import logging
import smtplib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Flask, render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from programme.auth.models import User
from programme.errors import FieldError, Invalid
from programme.home import services
from programme.home.models import FREQUENCIES, DigestPreference, DigestSent

log = logging.getLogger(__name__)

OFF = "off"
WEEKLY_DAY = 0  # Monday


def valid_time_zone(name: str) -> bool:
    if not name or len(name) > 64:
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def validate(frequency: Any, hour: Any, time_zone: Any) -> tuple[str, int, str]:
    """The cleaned (frequency, hour, time zone), or Invalid with a message per field."""
    errors: dict[str, str] = {}
    frequency = str(frequency or "").strip()
    if frequency not in (OFF, *FREQUENCIES):
        errors["frequency"] = _("Choose every day, every Monday or no e-mail.")
    clean_hour = -1
    with contextlib.suppress(TypeError, ValueError):
        clean_hour = int(str(hour).strip())
    if frequency != OFF and not 0 <= clean_hour <= 23:
        errors["hour"] = _("Choose an hour between 0 and 23.")
    zone = str(time_zone or "").strip()
    if frequency != OFF and not valid_time_zone(zone):
        errors["time_zone"] = _(
            "Unknown time zone “%(zone)s”: give a name such as Europe/Paris.", zone=zone[:64]
        )
    if errors:
        raise Invalid(FieldError(name, message) for name, message in errors.items())
    return frequency, clean_hour, zone


def preference_for(session: Session, user) -> DigestPreference | None:
    return session.scalar(select(DigestPreference).where(DigestPreference.user_id == user.id))


def save_preference(
    session: Session, user, frequency: Any, hour: Any, time_zone: Any
) -> DigestPreference | None:
    """Opt in (or change), or opt out with frequency "off". Nothing is written on bad input."""
    frequency, hour, zone = validate(frequency, hour, time_zone)
    pref = preference_for(session, user)
    if frequency == OFF:
        if pref is not None:
            session.delete(pref)
        return None
    if pref is None:
        pref = DigestPreference(user_id=user.id)
        session.add(pref)
    pref.frequency, pref.hour, pref.time_zone = frequency, hour, zone
    return pref


def due_period(pref: DigestPreference, now: datetime) -> str | None:
    """The period a digest is due for at `now` (aware), in the person's time zone: the
    local day from the chosen hour on ("2026-12-07"), or, weekly, Monday from the chosen
    hour on ("2026-W50"). None when nothing is due."""
    local = now.astimezone(ZoneInfo(pref.time_zone))
    if local.hour < pref.hour:
        return None
    if pref.frequency == "daily":
        return local.date().isoformat()
    if local.weekday() != WEEKLY_DAY:
        return None
    iso = local.isocalendar()
    return f"{iso[0]}-W{iso[1]:02d}"


def mail_configured(app: Flask) -> bool:
    return bool(app.config.get("MAIL_SERVER"))


def base_url(app: Flask) -> str:
    """Where the digests' links point: BASE_URL, else SERVER_NAME with the URL scheme."""
    if app.config.get("BASE_URL"):
        return app.config["BASE_URL"].rstrip("/")
    if app.config.get("SERVER_NAME"):
        return f"{app.config.get('PREFERRED_URL_SCHEME', 'http')}://{app.config['SERVER_NAME']}"
    return "http://localhost:5000"


@dataclass
class Digest:
    subject: str
    text: str
    html: str
    lines: list[services.Line]


def build_digest(session: Session, user, pref: DigestPreference, now: datetime) -> Digest | None:
    """The digest as it stands now (inside a request context for the links and a forced
    locale for the language), or None when nothing needs the person."""
    local = now.astimezone(ZoneInfo(pref.time_zone))
    lines = services.lines_for(session, user, local.date(), now)
    if not lines:
        return None
    links = [(line, line.url(external=True)) for line in lines]
    subject = (
        _("Programme: what needs you today (%(num)d)", num=len(lines))
        if pref.frequency == "daily"
        else _("Programme: what needs you this week (%(num)d)", num=len(lines))
    )
    context = {"user": user, "links": links, "pref": pref, "today": local.date()}
    return Digest(
        subject,
        render_template("home/digest_email.txt", **context),
        render_template("home/digest_email.html", **context),
        lines,
    )


@dataclass
class RunReport:
    due: int = 0
    sent: int = 0
    empty: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


def _connection(app: Flask):
    from programme.extensions import mail

    cfg = app.config
    return mail.get_connection(
        backend=cfg.get("MAIL_BACKEND") or "smtp",
        host=cfg.get("MAIL_SERVER"),
        port=cfg.get("MAIL_PORT"),
        username=cfg.get("MAIL_USERNAME"),
        password=cfg.get("MAIL_PASSWORD"),
        use_tls=bool(cfg.get("MAIL_USE_TLS")),
        use_ssl=bool(cfg.get("MAIL_USE_SSL")),
        timeout=cfg.get("MAIL_TIMEOUT"),
    )


def _message(app: Flask, user, digest: Digest, connection):
    from flask_mailman import EmailMultiAlternatives

    message = EmailMultiAlternatives(
        digest.subject,
        digest.text,
        app.config.get("MAIL_DEFAULT_SENDER"),
        [user.email],
        connection=connection,
    )
    message.attach_alternative(digest.html, "text/html")
    return message


def send_digests(session: Session, app: Flask, now: datetime | None = None) -> RunReport:
    """Send every digest due at `now` (see the module docstring). Never raises for an
    SMTP problem: it is logged and the digest is tried again at the next run."""
    now = now or datetime.now(UTC)
    report = RunReport()
    if not mail_configured(app):
        log.info("send-digests: MAIL_SERVER is not set, no digest sent")
        return report
    rows = session.execute(
        select(DigestPreference, User)
        .join(User, User.id == DigestPreference.user_id)
        .where(User.active.is_(True))
        .order_by(DigestPreference.id)
    ).all()
    sent_periods = {
        (user_id, period)
        for user_id, period in session.execute(
            select(DigestSent.user_id, DigestSent.period).where(
                DigestSent.user_id.in_([u.id for _p, u in rows])
            )
        )
    }
    connection = None
    for pref, user in rows:
        try:
            period = due_period(pref, now)
        except (ZoneInfoNotFoundError, ValueError):
            log.warning(
                "send-digests: user %s has an unknown time zone %r", user.id, pref.time_zone
            )
            continue
        if period is None or (user.id, period) in sent_periods:
            continue
        report.due += 1
        language = user.language if user.language in app.config["LANGUAGES"] else None
        with (
            app.test_request_context("/", base_url=base_url(app)),
            force_locale(language or app.config["BABEL_DEFAULT_LOCALE"]),
        ):
            digest = build_digest(session, user, pref, now)
        if digest is None:
            report.empty += 1
            continue
        # Claim the period first: a second runner at the same moment fails on the unique
        # key and skips; the claim is committed only once the message is accepted.
        session.add(DigestSent(user_id=user.id, period=period, lines=len(digest.lines)))
        try:
            session.flush()
        except IntegrityError:
            session.rollback()
            continue
        try:
            if connection is None:
                connection = _connection(app)
                connection.open()
            _message(app, user, digest, connection).send()
        except (OSError, smtplib.SMTPException) as error:
            session.rollback()
            report.failed += 1
            report.errors.append(f"{user.email}: {error}")
            log.warning(
                "send-digests: digest for user %s (%s) not sent, retried at the next run: %s",
                user.id,
                period,
                error,
            )
            if connection is not None:
                with contextlib.suppress(Exception):  # the connection is already broken
                    connection.close()
                connection = None
            continue
        session.commit()
        report.sent += 1
    if connection is not None:
        with contextlib.suppress(Exception):
            connection.close()
    return report
