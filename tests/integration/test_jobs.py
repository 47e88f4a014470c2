"""Jobs run the same way in a thread, inline, or on Redis through `flask --app app worker`."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from programme.jobs import services as jobs
from programme.jobs.models import Job

REDIS_TEST_URL = "redis://127.0.0.1:6379/15"


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
    saved = {key: app.config.get(key) for key in ("JOB_RUNNER", "REDIS_URL")}
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


def test_worker_refuses_to_start_without_redis(app, runner_config):
    runner_config["REDIS_URL"] = None
    result = app.test_cli_runner().invoke(args=["worker", "--burst"])
    assert result.exit_code != 0
    assert "REDIS_URL is not set" in result.output
