"""Jobs run the same way in a thread, inline, or on Redis through `flask --app app worker`."""

from __future__ import annotations

import os
import time
from datetime import timedelta

import pytest
from flask_babel import force_locale
from sqlalchemy import select, update

from programme.database import utcnow
from programme.jobs import services as jobs
from programme.jobs.models import Job

REDIS_TEST_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"  # nothing listens on port 1


def counting_job(session, params, progress):
    """A job function like the real ones: reports progress, returns a result."""
    for step in range(params["steps"]):
        progress(int(100 * step / params["steps"]), f"step {step}")
    if params.get("fail"):
        raise jobs.JobError("the file vanished")
    return {"counted": params["steps"]}


@pytest.fixture
def test_kind(monkeypatch):
    monkeypatch.setitem(jobs.JOB_KINDS, "count", f"{__name__}:counting_job")
    return "count"


@pytest.fixture
def runner_config(app):
    saved = {
        key: app.config.get(key) for key in ("JOB_RUNNER", "REDIS_URL", "JOB_HEARTBEAT_TIMEOUT")
    }
    yield app.config
    app.config.update(saved)


def _job(session, job_id) -> Job:
    session.expire_all()
    return session.scalar(select(Job).where(Job.id == job_id))


def _queue_job(session, kind, **params) -> int:
    job = jobs.create_job(session, kind, {"steps": 3, **params}, user_id=None)
    session.commit()
    return job.id


def test_inline_runner_records_result(app, session, test_kind, runner_config):
    runner_config["JOB_RUNNER"] = "inline"
    job_id = _queue_job(session, test_kind)
    jobs.start(job_id)
    job = _job(session, job_id)
    assert (job.status, job.progress, job.result) == ("done", 100, {"counted": 3})


def test_expected_failure_is_shown_to_the_user(app, session, test_kind, runner_config):
    runner_config["JOB_RUNNER"] = "inline"
    job_id = _queue_job(session, test_kind, fail=True)
    jobs.start(job_id)
    job = _job(session, job_id)
    assert (job.status, job.error) == ("failed", "the file vanished")


def test_thread_runner_finishes_in_the_background(app, session, test_kind, runner_config):
    runner_config["JOB_RUNNER"] = "thread"
    job_id = _queue_job(session, test_kind)
    jobs.start(job_id)
    deadline = time.monotonic() + 20
    while _job(session, job_id).status != "done" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _job(session, job_id).result == {"counted": 3}


def test_rq_runner_queues_on_redis_and_the_worker_runs_it(app, session, test_kind, runner_config):
    from redis import Redis
    from rq import Queue

    runner_config.update({"JOB_RUNNER": "rq", "REDIS_URL": REDIS_TEST_URL})
    queue = Queue("programme", connection=Redis.from_url(REDIS_TEST_URL))
    queue.empty()
    job_id = _queue_job(session, test_kind)
    jobs.start(job_id)
    assert len(queue) == 1
    assert _job(session, job_id).status == "queued"  # nothing runs until a worker takes it

    result = app.test_cli_runner().invoke(args=["worker", "--burst"])
    assert result.exit_code == 0, result.output
    job = _job(session, job_id)
    assert (job.status, job.result) == ("done", {"counted": 3})
    assert len(queue) == 0


def test_the_worker_takes_an_import_before_a_refresh_queued_earlier(
    app, session, test_kind, runner_config, monkeypatch
):
    """Writes queue recomputations all day: a job somebody waits for (an import) goes first."""
    from redis import Redis
    from rq import Queue

    from programme.jobs.schedule import QUEUE, REFRESH_QUEUE
    from programme.reports import freshness

    runner_config.update({"JOB_RUNNER": "rq", "REDIS_URL": REDIS_TEST_URL})
    connection = Redis.from_url(REDIS_TEST_URL)
    refreshes = Queue(REFRESH_QUEUE, connection=connection)
    Queue(QUEUE, connection=connection).empty()
    refreshes.empty()
    order = []
    monkeypatch.setattr(
        freshness, "refresh_headlines", lambda app, wait=None: order.append("refresh")
    )
    refreshes.enqueue("programme.reports.freshness.refresh_in_worker", result_ttl=0)
    job_id = _queue_job(session, test_kind)
    jobs.start(job_id)
    real_run = jobs.run_job

    def run(app_, job_id_):
        order.append("import")
        return real_run(app_, job_id_)

    monkeypatch.setattr(jobs, "run_job", run)
    result = app.test_cli_runner().invoke(args=["worker", "--burst"])
    assert result.exit_code == 0, result.output
    assert order == ["import", "refresh"]
    assert _job(session, job_id).status == "done"
    assert len(refreshes) == 0


def test_worker_refuses_to_start_without_redis(app, runner_config):
    runner_config["REDIS_URL"] = None
    result = app.test_cli_runner().invoke(args=["worker", "--burst"])
    assert result.exit_code != 0
    assert "REDIS_URL is not set" in result.output


# --- jobs that cannot get stuck --------------------------------------------------------------


def _running_since(session, job_id: int, seconds_ago: int) -> None:
    """The job as a worker killed mid-way leaves it: running, last heartbeat long ago."""
    moment = utcnow() - timedelta(seconds=seconds_ago)
    session.execute(
        update(Job)
        .where(Job.id == job_id)
        .values(status="running", progress=22, started_at=moment, heartbeat_at=moment)
    )
    session.commit()


def test_enqueue_failure_marks_the_job_failed_and_carries_on(
    app, session, test_kind, runner_config
):
    runner_config.update({"JOB_RUNNER": "rq", "REDIS_URL": UNREACHABLE_REDIS})
    job_id = _queue_job(session, test_kind)
    jobs.start(job_id)  # no exception: the caller's request goes on
    job = _job(session, job_id)
    assert (job.status, job.error) == ("failed", jobs.NOT_STARTED)
    assert job.finished_at is not None
    with app.test_request_context(), force_locale("en"):
        assert jobs.error_text(job).startswith("Could not start: the job queue is unreachable")
    with app.test_request_context(), force_locale("fr"):
        assert jobs.error_text(job).startswith("Impossible de démarrer")


def test_progress_records_a_heartbeat(app, session, test_kind, runner_config):
    runner_config["JOB_RUNNER"] = "inline"
    job_id = _queue_job(session, test_kind)
    before = utcnow() - timedelta(seconds=1)
    jobs.start(job_id)
    job = _job(session, job_id)
    beat = (
        job.heartbeat_at
        if job.heartbeat_at.tzinfo
        else job.heartbeat_at.replace(tzinfo=before.tzinfo)
    )
    assert job.status == "done" and beat >= before


def test_stale_running_job_is_marked_failed_when_read(app, session, test_kind, runner_config):
    stale = _queue_job(session, test_kind)
    alive = _queue_job(session, test_kind)
    _running_since(session, stale, 120)
    _running_since(session, alive, 5)
    jobs.refresh(session, _job(session, stale), _job(session, alive))
    assert (_job(session, stale).status, _job(session, stale).error) == ("failed", jobs.INTERRUPTED)
    assert _job(session, alive).status == "running"  # a heartbeat 5 s ago: still working
    with app.test_request_context(), force_locale("en"):
        assert "nothing was written" in jobs.error_text(_job(session, stale))


def test_heartbeat_timeout_is_configurable(app, session, test_kind, runner_config):
    runner_config["JOB_HEARTBEAT_TIMEOUT"] = 600
    job_id = _queue_job(session, test_kind)
    _running_since(session, job_id, 120)
    assert jobs.recover_stale() == 0
    runner_config["JOB_HEARTBEAT_TIMEOUT"] = 60
    assert jobs.recover_stale() == 1
    assert _job(session, job_id).status == "failed"


def test_worker_start_marks_jobs_left_running_failed(app, session, test_kind, runner_config):
    from redis import Redis
    from rq import Queue

    runner_config.update({"JOB_RUNNER": "rq", "REDIS_URL": REDIS_TEST_URL})
    Queue("programme", connection=Redis.from_url(REDIS_TEST_URL)).empty()
    job_id = _queue_job(session, test_kind)
    _running_since(session, job_id, 120)  # its worker was killed at 22 %
    result = app.test_cli_runner().invoke(args=["worker", "--burst"])
    assert result.exit_code == 0, result.output
    job = _job(session, job_id)
    assert (job.status, job.error, job.progress) == ("failed", jobs.INTERRUPTED, 22)


def test_thread_runner_job_is_recovered_by_the_next_job(app, session, test_kind, runner_config):
    runner_config["JOB_RUNNER"] = "inline"
    stale = _queue_job(session, test_kind)
    _running_since(session, stale, 120)
    jobs.start(_queue_job(session, test_kind))  # a worker (thread or inline) starting a job
    assert _job(session, stale).status == "failed"


def test_a_job_runs_once_even_if_started_twice(app, session, test_kind, runner_config):
    runner_config["JOB_RUNNER"] = "inline"
    job_id = _queue_job(session, test_kind)
    jobs.start(job_id)
    finished = _job(session, job_id).finished_at
    jobs.start(job_id)  # a second delivery of the same job: nothing happens
    assert _job(session, job_id).finished_at == finished


class _Ticks:
    """A stop event whose wait() times out `ticks` times, then reports stop."""

    def __init__(self, ticks: int):
        self.ticks = ticks

    def wait(self, _interval) -> bool:
        self.ticks -= 1
        return self.ticks < 0


def test_heartbeat_timer_beats_while_running_only(app, session, test_kind):
    from programme.extensions import db

    running = _queue_job(session, test_kind)
    _running_since(session, running, 120)
    done = _queue_job(session, test_kind)
    session.execute(update(Job).where(Job.id == done).values(status="done"))
    session.commit()
    jobs._heartbeat(db.engine, running, 10, _Ticks(2))
    jobs._heartbeat(db.engine, done, 10, _Ticks(2))
    assert not jobs.is_stale(_job(session, running))  # a fresh heartbeat
    assert _job(session, done).heartbeat_at is None  # a finished job is left alone


# --- jobs lost from the queue ----------------------------------------------------------------


def _entry(session, job_id: int):
    from redis import Redis
    from rq.job import Job as QueueEntry

    job = _job(session, job_id)
    return QueueEntry.fetch(
        jobs._queue_entry(job_id, job.created_at), connection=Redis.from_url(REDIS_TEST_URL)
    )


def test_queued_job_whose_queue_entry_is_gone_is_marked_failed_when_read(
    app, session, test_kind, runner_config
):
    """Redis restarted without its data (or emptied) while the job waited: no worker will
    ever run it, so it must not say "queued" for ever."""
    from redis import Redis
    from rq import Queue

    runner_config.update({"JOB_RUNNER": "rq", "REDIS_URL": REDIS_TEST_URL})
    queue = Queue("programme", connection=Redis.from_url(REDIS_TEST_URL))
    queue.empty()
    lost, kept = _queue_job(session, test_kind), _queue_job(session, test_kind)
    jobs.start(lost)
    jobs.start(kept)
    _entry(session, lost).delete()  # the queue lost it
    jobs.refresh(session, _job(session, lost), _job(session, kept))
    # just queued: a worker may not have had time to take it, nothing is decided yet
    assert _job(session, lost).status == "queued"

    runner_config["JOB_HEARTBEAT_TIMEOUT"] = 0  # both have waited long enough now
    jobs.refresh(session, _job(session, lost), _job(session, kept))
    job = _job(session, lost)
    assert (job.status, job.error, job.progress) == ("failed", jobs.LOST, 0)
    assert job.finished_at is not None
    assert _job(session, kept).status == "queued"  # still on the queue: left alone
    with app.test_request_context(), force_locale("en"):
        assert "nothing was written" in jobs.error_text(job)
        assert jobs.error_text(job).startswith("Lost from the job queue")
    with app.test_request_context(), force_locale("fr"):
        assert jobs.error_text(job).startswith("Perdu dans la file des traitements")

    result = app.test_cli_runner().invoke(args=["worker", "--burst"])
    assert result.exit_code == 0, result.output
    assert _job(session, kept).status == "done"  # the worker still runs the one it has
    assert _job(session, lost).status == "failed"


def test_worker_start_marks_jobs_lost_from_the_queue_failed(app, session, test_kind, runner_config):
    from redis import Redis
    from rq import Queue

    runner_config.update({"JOB_RUNNER": "rq", "REDIS_URL": REDIS_TEST_URL})
    Queue("programme", connection=Redis.from_url(REDIS_TEST_URL)).empty()
    Redis.from_url(REDIS_TEST_URL).set("programme:daily:purge-uploads", "x", ex=60)
    job_id = _queue_job(session, test_kind)
    jobs.start(job_id)
    Queue("programme", connection=Redis.from_url(REDIS_TEST_URL)).empty()  # Redis flushed
    runner_config["JOB_HEARTBEAT_TIMEOUT"] = 0
    result = app.test_cli_runner().invoke(args=["worker", "--burst"])
    assert result.exit_code == 0, result.output
    assert (_job(session, job_id).status, _job(session, job_id).error) == ("failed", jobs.LOST)


def test_queued_job_whose_worker_failed_before_taking_it_is_lost(
    app, session, test_kind, runner_config
):
    """The RQ entry ended (e.g. the database was down when the worker took it) while the
    job row still says queued."""
    from redis import Redis
    from rq import Queue

    runner_config.update({"JOB_RUNNER": "rq", "REDIS_URL": REDIS_TEST_URL})
    Queue("programme", connection=Redis.from_url(REDIS_TEST_URL)).empty()
    job_id = _queue_job(session, test_kind)
    jobs.start(job_id)
    entry = _entry(session, job_id)
    entry.set_status("failed")
    runner_config["JOB_HEARTBEAT_TIMEOUT"] = 0
    assert jobs.recover_lost() == 1
    assert _job(session, job_id).error == jobs.LOST


def test_lost_jobs_are_not_decided_while_the_queue_is_unreachable(
    app, session, test_kind, runner_config
):
    runner_config.update({"JOB_RUNNER": "rq", "REDIS_URL": REDIS_TEST_URL})
    job_id = _queue_job(session, test_kind)
    jobs.start(job_id)
    runner_config.update({"REDIS_URL": UNREACHABLE_REDIS, "JOB_HEARTBEAT_TIMEOUT": 0})
    assert jobs.recover_lost() == 0  # it may still be on the queue: ask again later
    assert _job(session, job_id).status == "queued"


def test_thread_runner_job_left_queued_by_a_dead_process_is_lost(
    app, session, test_kind, runner_config
):
    """With the thread runner a job is taken at once; one still queued after the timeout
    was started by a process that died."""
    runner_config.update({"JOB_RUNNER": "thread", "JOB_HEARTBEAT_TIMEOUT": 60})
    old = _queue_job(session, test_kind)
    session.execute(
        update(Job).where(Job.id == old).values(created_at=utcnow() - timedelta(seconds=120))
    )
    session.commit()
    fresh = _queue_job(session, test_kind)
    assert jobs.recover_lost() == 1
    assert (_job(session, old).status, _job(session, old).error) == ("failed", jobs.LOST)
    assert _job(session, fresh).status == "queued"
