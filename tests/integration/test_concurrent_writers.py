"""Many API clients writing at once (issue 13): 8 threads × 15 batches × 200 rows, on the
threaded development server and on gunicorn with 3 workers. Every batch is accepted
and every row is stored exactly once.

On SQLite (the embedded default) this is what `BEGIN IMMEDIATE` is for: without it,
about half the batches failed with "database is locked". With TEST_DATABASE_URL the same
tests run on PostgreSQL."""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from werkzeug.serving import make_server

from programme.api.tokens import create_token
from programme.config import ROOT
from programme.extensions import db
from programme.kpis.models import Kpi, Measurement
from programme.network.models import Site
from tests.factories import make_region, make_site, make_user
from tests.kpi_factories import default_kpis

THREADS, BATCHES = 8, 15
SITES, KPIS, DAYS_PER_BATCH = 20, ("WAIT", "CONV"), 5  # 20 × 2 × 5 = 200 rows a batch
VALUES = {"WAIT": 6.5, "CONV": 0.31}
LAST_DAY = date.today() - timedelta(days=1)


def _batch(thread: int, number: int) -> list[dict]:
    """200 rows whose (site, KPI, date) keys no other batch uses: each batch has its own
    5 days, the same 20 sites and 2 KPIs."""
    first = (thread * BATCHES + number) * DAYS_PER_BATCH
    return [
        {
            "site": f"CC-{s:03d}",
            "kpi": kpi,
            "date": (LAST_DAY - timedelta(days=first + d)).isoformat(),
            "value": VALUES[kpi],
            "n": 40 + s,
        }
        for d in range(DAYS_PER_BATCH)
        for s in range(SITES)
        for kpi in KPIS
    ]


@pytest.fixture
def token(session) -> str:
    """Sites, KPIs, an admin and their API token: the minimum a client needs."""
    default_kpis()
    region = make_region("Normandie")
    for s in range(SITES):
        make_site(f"CC-{s:03d}", region)
    _row, secret = create_token(db.session, make_user("admin"), "concurrency")
    db.session.commit()
    return secret


def _post_all(port: int, token: str, batch=_batch) -> list[tuple[int, dict | str]]:
    """THREADS clients, each posting its BATCHES batches on a keep-alive connection."""
    outcomes: list[tuple[int, dict | str]] = []
    lock = threading.Lock()
    start = threading.Barrier(THREADS)

    def client(thread: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        start.wait()
        try:
            for number in range(BATCHES):
                try:
                    conn.request(
                        "POST", "/api/v1/measurements", json.dumps(batch(thread, number)), headers
                    )
                    response = conn.getresponse()
                    raw = response.read().decode()
                    status = response.status
                except (OSError, http.client.HTTPException) as error:
                    status, raw = 0, repr(error)
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = raw[:300]
                with lock:
                    outcomes.append((status, body))
        finally:
            conn.close()

    threads = [threading.Thread(target=client, args=(t,)) for t in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    return outcomes


def _assert_every_row_once(app, outcomes) -> None:
    failures = [(status, body) for status, body in outcomes if status != 201]
    assert len(outcomes) == THREADS * BATCHES
    assert failures == [], f"{len(failures)} batches refused, e.g. {failures[:3]}"
    assert all(body == {"created": 200, "unchanged": 0, "corrected": 0} for _s, body in outcomes)
    expected = {
        (row["site"], row["kpi"], row["date"])
        for t in range(THREADS)
        for b in range(BATCHES)
        for row in _batch(t, b)
    }
    assert len(expected) == THREADS * BATCHES * 200
    with app.app_context():
        stored = db.session.execute(
            select(Site.code, Kpi.code, Measurement.period_date, Measurement.revision)
            .join(Site, Site.id == Measurement.site_id)
            .join(Kpi, Kpi.id == Measurement.kpi_id)
        ).all()
        total = db.session.scalar(select(func.count()).select_from(Measurement))
        db.session.remove()
    keys = [(site, kpi, day.isoformat()) for site, kpi, day, _revision in stored]
    assert total == len(keys) == len(expected)  # nothing lost, nothing twice
    assert set(keys) == expected
    assert {revision for *_key, revision in stored} == {1}


def test_threaded_dev_server_takes_every_batch(app, token):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        outcomes = _post_all(server.server_port, token)
    finally:
        server.shutdown()
        thread.join(timeout=10)
    _assert_every_row_once(app, outcomes)


def _same_keys(thread: int, number: int) -> list[dict]:
    """Every client sends the SAME 100 keys, from its own source, with its own values."""
    return [
        {
            "site": f"CC-{s:03d}",
            "kpi": "WAIT",
            "date": (LAST_DAY - timedelta(days=d)).isoformat(),
            "value": round(5 + thread + number / 10, 2),
            "n": 40,
            "source": f"feed-{thread}",
        }
        for d in range(5)
        for s in range(SITES)
    ]


def test_clients_sending_the_same_keys_at_once_give_one_value_per_key(app, token):
    """Six feeds sending the same site, KPI and days at the same moment: no batch fails
    (no unique-key error, no deadlock), each key holds one value, and every replaced value
    is in its history; the weekly rollups equal a recomputation."""
    from programme.kpis.models import MeasurementRevision
    from programme.kpis.services import recomputed_rollups, stored_rollups

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        outcomes = _post_all(server.server_port, token, batch=_same_keys)
    finally:
        server.shutdown()
        thread.join(timeout=10)
    assert [o for o in outcomes if o[0] != 201] == []
    created = sum(body["created"] for _s, body in outcomes)
    corrected = sum(body["corrected"] for _s, body in outcomes)
    with app.app_context():
        stored = db.session.execute(select(Measurement.revision)).scalars().all()
        history = db.session.scalar(select(func.count()).select_from(MeasurementRevision))
        assert len(stored) == created == SITES * 5  # one value per key, created once
        assert history == corrected == sum(r - 1 for r in stored)
        rollups, recomputed = stored_rollups(db.session), recomputed_rollups(db.session)
        assert rollups.keys() == recomputed.keys()
        for key, sums in recomputed.items():  # floating sums, added in another order
            assert rollups[key] == pytest.approx(sums, rel=1e-9)
        db.session.remove()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_until_up(port: int, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"gunicorn exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
        finally:
            conn.close()
    pytest.fail(f"gunicorn did not answer /healthz:\n{log.read_text()[-3000:]}")


def test_gunicorn_with_three_workers_takes_every_batch(app, database_url, token):
    port = _free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"REDIS_URL", "JOB_RUNNER", "PROXY_HOPS"}
    }
    env.update(
        DATABASE_URL=database_url,
        PYTHONPATH=str(ROOT),
        GUNICORN_ACCESS_LOG="",  # the app's own line per request is enough here
        GUNICORN_THREADS="4",
    )
    with tempfile.TemporaryDirectory(prefix="gunicorn-") as folder:
        log = Path(folder) / "gunicorn.log"
        with open(log, "wb") as out:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "-c",
                    "gunicorn.conf.py",
                    "-w",
                    "3",
                    "-b",
                    f"127.0.0.1:{port}",
                    "app:app",
                ],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        try:
            _wait_until_up(port, process, log)
            outcomes = _post_all(port, token)
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        lines = log.read_text()
        assert "Traceback" not in lines, lines[-3000:]
    _assert_every_row_once(app, outcomes)
