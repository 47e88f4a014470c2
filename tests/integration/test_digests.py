"""E-mail digests through a real (in-process) SMTP server, on a frozen clock: the person's
time zone decides when theirs is due, never twice per period, built from live data when
sent (a completed item is gone), an empty digest is not sent, an unreachable SMTP server
is logged and retried at the next run (issue 16, item 6)."""

from __future__ import annotations

import email
import logging
import socket
from datetime import UTC, date, datetime, timedelta
from email import policy

import pytest
from aiosmtpd.controller import Controller
from flask_babel import force_locale
from sqlalchemy import func, select

from programme.deployment.models import Visit
from programme.errors import Invalid
from programme.home import digests
from programme.home.models import DigestPreference, DigestSent
from tests.deployment_factories import assign, make_coach, make_package, make_sites, make_wave
from tests.factories import make_user

MONDAY = date(2026, 12, 7)  # the frozen day: a Monday


def at(day: date, hour: int, minute: int = 0) -> datetime:
    """A UTC instant."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Inbox:
    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
        return "250 Message accepted"

    def text(self, message) -> str:
        return message.get_body(("plain",)).get_content()


@pytest.fixture
def smtp(app):
    inbox = Inbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    saved = {k: app.config.get(k) for k in ("MAIL_SERVER", "MAIL_PORT", "BASE_URL")}
    app.config.update(
        MAIL_SERVER="127.0.0.1", MAIL_PORT=port, BASE_URL="https://programme.example.org"
    )
    yield inbox
    controller.stop()
    app.config.update(saved)


@pytest.fixture
def coach(session):
    """A coach whose sites were last visited 18 days (overdue) and 10 days (due on
    Friday) before the frozen Monday."""
    package = make_package(2)
    late, fine = make_sites(2, prefix="DIG")
    start = MONDAY - timedelta(days=40)
    wave = make_wave(package, [late, fine], start=start, go_live=MONDAY + timedelta(days=20))
    user = make_user("coach", name="Camille Coach", email="camille@example.org", language="en")
    coach = make_coach(user=user, secondment_end=None)
    for site in (late, fine):
        assign(wave, site, coach, start=start, end=MONDAY + timedelta(days=50))
    for site, days in ((late, 18), (fine, 10)):
        session.add(
            Visit(
                wave_id=wave.id,
                site_id=site.id,
                coach_id=coach.id,
                visited_on=MONDAY - timedelta(days=days),
                duration_minutes=60,
                worked_on="Accueil",
            )
        )
    session.commit()
    return {"user": user, "coach": coach, "wave": wave, "late": late, "fine": fine}


def _opt_in(session, user, frequency="daily", hour=7, zone="Europe/Paris"):
    digests.save_preference(session, user, frequency, hour, zone)
    session.commit()


def _sent(session) -> int:
    return session.scalar(select(func.count()).select_from(DigestSent))


def test_the_time_zone_decides_when_the_digest_is_due(app, session, smtp, coach):
    _opt_in(session, coach["user"], hour=7, zone="Europe/Paris")
    far = make_user("coach", email="far@example.org")
    _opt_in(session, far, hour=7, zone="America/Martinique")

    # 05:30 UTC = 06:30 in Paris: not yet.
    report = digests.send_digests(session, app, at(MONDAY, 5, 30))
    assert report.sent == 0 and smtp.messages == []
    # 06:15 UTC = 07:15 in Paris (02:15 in Martinique): Camille's digest only.
    report = digests.send_digests(session, app, at(MONDAY, 6, 15))
    assert report.sent == 1
    (message,) = smtp.messages
    assert message["To"] == "camille@example.org"
    body = smtp.text(message)
    first = body.split("most urgent first:")[1].strip().splitlines()[0]
    assert first.startswith(f"- [Overdue] Visit overdue at {coach['late'].code}")
    # Absolute links to where it gets done.
    assert (
        f"https://programme.example.org/waves/{coach['wave'].id}/sites/{coach['late'].id}" in body
    )
    html = message.get_body(("html",)).get_content()
    assert f'href="https://programme.example.org/waves/{coach["wave"].id}/sites/' in html


def test_never_twice_in_a_period(app, session, smtp, coach):
    _opt_in(session, coach["user"])
    digests.send_digests(session, app, at(MONDAY, 6, 15))
    digests.send_digests(session, app, at(MONDAY, 6, 30))
    digests.send_digests(session, app, at(MONDAY, 21, 45))
    assert len(smtp.messages) == 1 and _sent(session) == 1
    # The next day is another period.
    digests.send_digests(session, app, at(MONDAY + timedelta(days=1), 6, 15))
    assert len(smtp.messages) == 2 and _sent(session) == 2


def test_a_completed_item_is_gone_from_the_next_digest(app, session, smtp, coach):
    _opt_in(session, coach["user"])
    digests.send_digests(session, app, at(MONDAY, 6, 15))
    assert "Visit overdue at " + coach["late"].code in smtp.text(smtp.messages[0])
    # The coach visits the late site on Monday, next visit planned in a week.
    session.add(
        Visit(
            wave_id=coach["wave"].id,
            site_id=coach["late"].id,
            coach_id=coach["coach"].id,
            visited_on=MONDAY,
            duration_minutes=90,
            worked_on="Accueil au flux",
            next_visit_on=MONDAY + timedelta(days=7),
        )
    )
    session.commit()
    # Tuesday: the overdue visit is gone; the other site's visit is now due this week.
    digests.send_digests(session, app, at(MONDAY + timedelta(days=1), 6, 15))
    assert len(smtp.messages) == 2
    tuesday = smtp.text(smtp.messages[1])
    assert "Visit overdue" not in tuesday
    assert "Visit due at " + coach["fine"].code in tuesday


def test_an_empty_digest_is_not_sent(app, session, smtp):
    idle = make_user("coach", email="idle@example.org", language="en")  # no site: nothing to do
    _opt_in(session, idle)
    report = digests.send_digests(session, app, at(MONDAY, 6, 15))
    assert report.due == 1 and report.empty == 1 and report.sent == 0
    assert smtp.messages == [] and _sent(session) == 0


def test_weekly_digest_on_monday_only(app, session, smtp, coach):
    _opt_in(session, coach["user"], frequency="weekly", hour=8)
    digests.send_digests(session, app, at(MONDAY - timedelta(days=1), 9))  # Sunday
    assert smtp.messages == []
    digests.send_digests(session, app, at(MONDAY, 7, 15))  # Monday 08:15 in Paris
    digests.send_digests(session, app, at(MONDAY + timedelta(days=1), 7, 15))
    assert len(smtp.messages) == 1
    assert "this week" in smtp.messages[0]["Subject"]
    assert session.scalar(select(DigestSent.period)) == "2026-W50"


def test_the_digest_is_in_the_persons_language(app, session, smtp, coach):
    coach["user"].language = "fr"
    session.commit()
    _opt_in(session, coach["user"])
    digests.send_digests(session, app, at(MONDAY, 6, 15))
    (message,) = smtp.messages
    assert message["Subject"].strip().startswith("Programme\u202f: ce qui vous attend aujourd’hui")
    assert "Visite en retard à " + coach["late"].code in smtp.text(message)


def test_unreachable_smtp_is_logged_and_retried_at_the_next_run(app, session, smtp, coach, caplog):
    _opt_in(session, coach["user"])
    port = app.config["MAIL_PORT"]
    app.config["MAIL_PORT"] = _free_port()  # nobody listens there
    with caplog.at_level(logging.WARNING, logger="programme.home.digests"):
        report = digests.send_digests(session, app, at(MONDAY, 6, 15))
    assert report.failed == 1 and report.sent == 0
    assert "not sent, retried at the next run" in caplog.text
    assert _sent(session) == 0 and smtp.messages == []
    # Fifteen minutes later the server is back: the digest goes.
    app.config["MAIL_PORT"] = port
    report = digests.send_digests(session, app, at(MONDAY, 6, 30))
    assert report.sent == 1 and len(smtp.messages) == 1 and _sent(session) == 1


def test_without_smtp_settings_nothing_is_sent_and_nothing_fails(app, session, coach):
    assert not app.config.get("MAIL_SERVER")
    _opt_in(session, coach["user"])
    report = digests.send_digests(session, app, at(MONDAY, 6, 15))
    assert report.sent == report.failed == report.due == 0
    runner = app.test_cli_runner()
    result = runner.invoke(args=["send-digests"])
    assert result.exit_code == 0 and "MAIL_SERVER is not set" in result.output


def test_cli_sends_the_due_digests(app, session, smtp, coach):
    # Preference at an hour that is always past in some zone would make the test depend on
    # the clock: 0 h in UTC is past at any time of the day.
    _opt_in(session, coach["user"], hour=0, zone="UTC")
    result = app.test_cli_runner().invoke(args=["send-digests"])
    assert result.exit_code == 0, result.output
    assert "sent: 1" in result.output and len(smtp.messages) == 1


@pytest.mark.parametrize(
    ("frequency", "hour", "zone", "field"),
    [
        ("daily", "24", "Europe/Paris", "hour"),
        ("daily", "-1", "Europe/Paris", "hour"),
        ("daily", "sept", "Europe/Paris", "hour"),
        ("daily", "7", "Europe/Pariss", "time_zone"),
        ("daily", "7", "../../etc/passwd", "time_zone"),
        ("daily", "7", "", "time_zone"),
        ("hourly", "7", "Europe/Paris", "frequency"),
    ],
)
def test_bad_preferences_are_refused_and_nothing_saved(app, session, frequency, hour, zone, field):
    user = make_user("coach")
    with (
        app.test_request_context(),
        force_locale("en"),
        pytest.raises(Invalid) as refused,
    ):
        digests.save_preference(session, user, frequency, hour, zone)
    assert set(refused.value.by_field) == {field}
    session.rollback()
    assert session.scalar(select(func.count()).select_from(DigestPreference)) == 0
