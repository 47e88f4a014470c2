"""The production recipe: the Procfile's two processes, gunicorn's settings from the cores
and the environment, and the Makefile's ports (docs/deploy.md)."""

from __future__ import annotations

import os
import runpy
import shutil
import subprocess

import pytest

from programme.config import ROOT


def _gunicorn_settings(monkeypatch, **env) -> dict:
    for name in (
        "WEB_CONCURRENCY",
        "GUNICORN_THREADS",
        "GUNICORN_BIND",
        "HOST",
        "PORT",
        "GUNICORN_ACCESS_LOG",
        "GUNICORN_MAX_REQUESTS",
    ):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(ROOT / "gunicorn.conf.py"))


def test_procfile_runs_gunicorn_and_the_job_worker():
    lines = dict(
        line.split(":", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line
    )
    assert lines["web"].strip() == "gunicorn -c gunicorn.conf.py app:app"
    assert lines["worker"].strip() == "flask --app app worker"


def test_gunicorn_sizes_itself_from_the_cores(monkeypatch):
    settings = _gunicorn_settings(monkeypatch)
    cores = len(os.sched_getaffinity(0))
    assert settings["workers"] == 2 * cores + 1
    assert settings["threads"] == 16 and settings["worker_class"] == "gthread"
    assert settings["bind"] == "127.0.0.1:8000"
    assert settings["timeout"] > 0 and settings["graceful_timeout"] > 0
    assert settings["max_requests"] > 0 and settings["max_requests_jitter"] > 0
    assert settings["accesslog"] == "-"


def test_gunicorn_settings_follow_the_environment(monkeypatch):
    settings = _gunicorn_settings(
        monkeypatch,
        WEB_CONCURRENCY="3",
        GUNICORN_THREADS="1",
        PORT="5001",
        GUNICORN_ACCESS_LOG="",
        GUNICORN_MAX_REQUESTS="500",
    )
    assert (settings["workers"], settings["threads"], settings["worker_class"]) == (3, 1, "sync")
    assert settings["bind"] == "127.0.0.1:5001"
    assert settings["accesslog"] is None
    assert (settings["max_requests"], settings["max_requests_jitter"]) == (500, 50)


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
@pytest.mark.parametrize(
    "target, expected",
    [
        (["run"], "run --host 127.0.0.1 --port 5000"),
        (["run", "PORT=5001"], "run --host 127.0.0.1 --port 5001"),
        (["serve", "PORT=5001"], "honcho start -f Procfile -p 5001"),
    ],
)
def test_make_targets_take_a_port(target, expected):
    dry_run = subprocess.run(
        ["make", "-n", *target], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert expected in dry_run.stdout
