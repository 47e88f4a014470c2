"""The job worker's schedule (RQ's cron scheduler): `flask send-digests` every 15 minutes
and the daily purges are registered when a worker starts, each due time is queued once
however many workers run, and the queued run sends the digest that is due (a frozen clock,
an in-process SMTP server) — issue 16, item 6; issue 13 (uploads purged daily)."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from croniter import croniter
from redis import Redis
from rq import Queue
from rq.cron import CronScheduler

from programme.home import digests
from programme.jobs import schedule
from tests.integration.test_digests import MONDAY, at
from tests.integration.test_digests import coach as coach  # noqa: F401 - fixtures
from tests.integration.test_digests import smtp as smtp  # noqa: F401
from tests.integration.test_jobs import REDIS_TEST_URL


@pytest.fixture
def redis():
    connection = Redis.from_url(REDIS_TEST_URL)
    Queue(schedule.QUEUE, connection=connection).empty()
    for key in connection.scan_iter("programme:schedule:*"):
        connection.delete(key)
    yield connection
    Queue(schedule.QUEUE, connection=connection).empty()


@pytest.fixture
def worker_on_redis(app):
    saved = {key: app.config.get(key) for key in ("REDIS_URL", "JOB_RUNNER")}
    app.config.update(REDIS_URL=REDIS_TEST_URL, JOB_RUNNER="rq")
    yield
    app.config.update(saved)


def _task(name: str) -> schedule.Task:
    return next(task for task in schedule.SCHEDULE if task.command == name)


def test_the_schedule_runs_existing_commands_at_the_promised_times(app):
    for task in schedule.SCHEDULE:
        assert app.cli.get_command(None, task.command) is not None, task.command
    # send-digests: every quarter of an hour.
    times = croniter(_task("send-digests").cron, datetime(2026, 12, 7, 6, 7))
    assert [times.get_next(datetime).strftime("%H:%M") for _ in range(3)] == [
        "06:15",
        "06:30",
        "06:45",
    ]
    # The purges: once a day.
    for name in ("purge-uploads", "purge-contact-references"):
        times = croniter(_task(name).cron, datetime(2026, 12, 7, 12, 0))
        first, second = times.get_next(datetime), times.get_next(datetime)
        assert (second - first).days == 1


def test_a_worker_registers_the_schedule(redis):
    scheduler, stop = schedule.start_scheduler(redis)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            found = {s.name: s for s in CronScheduler.all(redis)}
            if scheduler.name in found:
                break
            time.sleep(0.1)
        registered = {job.name: job for job in found[scheduler.name].get_jobs()}
        assert registered["send-digests"].cron == "*/15 * * * *"
        assert (
            registered["send-digests"].func_name == "programme.jobs.schedule.run_scheduled_command"
        )
        assert registered["send-digests"].queue_name == "programme"
        assert {"purge-uploads", "purge-contact-references", "take-snapshot"} <= set(registered)
    finally:
        stop.set()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and scheduler.name in {
        s.name for s in CronScheduler.all(redis)
    }:
        time.sleep(0.1)
    assert scheduler.name not in {s.name for s in CronScheduler.all(redis)}


def test_the_worker_command_starts_the_schedule_and_stops_it(app, worker_on_redis, monkeypatch):
    from rq import SimpleWorker

    started = []

    def fake_start(connection):
        started.append(__import__("threading").Event())
        return None, started[-1]

    monkeypatch.setattr(schedule, "start_scheduler", fake_start)
    monkeypatch.setattr(SimpleWorker, "work", lambda self, burst=False: True)
    result = app.test_cli_runner().invoke(args=["worker"])
    assert result.exit_code == 0, result.output
    assert len(started) == 1 and started[0].is_set()  # stopped with the worker
    result = app.test_cli_runner().invoke(args=["worker", "--burst"])
    assert result.exit_code == 0 and len(started) == 1  # a burst run has no schedule


PAST = datetime(2025, 12, 1, 6, 15, tzinfo=UTC)  # a due time already reached


def _due(scheduler: schedule.WorkerCronScheduler, moment: datetime) -> None:
    for job in scheduler.get_jobs():
        job.next_enqueue_time = moment


def test_each_due_time_is_queued_once_across_workers(redis):
    first, second = schedule.WorkerCronScheduler(redis), schedule.WorkerCronScheduler(redis)
    due = PAST
    _due(first, due)
    _due(second, due)
    assert len(first.enqueue_jobs()) == len(schedule.SCHEDULE)
    assert second.enqueue_jobs() == []  # another worker: the same due times are taken
    queue = Queue(schedule.QUEUE, connection=redis)
    commands = sorted(job.args[0] for job in queue.get_jobs())
    assert commands == sorted(task.command for task in schedule.SCHEDULE)
    # Both move on to their next due time (in the future).
    for scheduler in (first, second):
        assert all(job.next_enqueue_time > datetime.now(UTC) for job in scheduler.get_jobs())
    assert redis.ttl(schedule.claim_key("send-digests", due)) > 24 * 3600


def test_the_scheduled_run_sends_the_due_digest(
    app,
    session,
    redis,
    worker_on_redis,
    smtp,  # noqa: F811
    coach,  # noqa: F811
    monkeypatch,
):
    digests.save_preference(session, coach["user"], "daily", 7, "Europe/Paris")
    session.commit()
    late_code = coach["late"].code

    class Frozen(datetime):
        @classmethod
        def now(cls, tz=None):
            return at(MONDAY, 6, 15).astimezone(tz)  # 07:15 in Paris

    monkeypatch.setattr(digests, "datetime", Frozen)
    scheduler = schedule.WorkerCronScheduler(redis, [_task("send-digests")])
    _due(scheduler, PAST)
    assert [job.name for job in scheduler.enqueue_jobs()] == ["send-digests"]

    result = app.test_cli_runner().invoke(args=["worker", "--burst"])
    assert result.exit_code == 0, result.output
    (message,) = smtp.messages
    assert message["To"] == "camille@example.org"
    assert f"Visit overdue at {late_code}" in smtp.text(message)

    # The next quarter of an hour: queued and run again, nothing sent twice.
    _due(scheduler, PAST.replace(minute=30))
    scheduler.enqueue_jobs()
    result = app.test_cli_runner().invoke(args=["worker", "--burst"])
    assert result.exit_code == 0, result.output
    assert len(smtp.messages) == 1
    assert Queue(schedule.QUEUE, connection=redis).count == 0
