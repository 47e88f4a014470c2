"""Write admission: a host runs at most WRITE_CONCURRENCY write requests at once; reads are
never held, a write that waited too long still runs, and a killed process frees its slot."""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import threading
import time

from programme import create_app
from programme.admission import WriteSlots


def test_a_second_writer_waits_for_the_slot_then_takes_it(tmp_path):
    slots = WriteSlots(tmp_path, 1)
    taken = slots.acquire(1)
    assert taken is not None
    waited = {}

    def second():
        started = time.monotonic()
        fd = slots.acquire(5)
        waited["seconds"] = time.monotonic() - started
        waited["fd"] = fd
        slots.release(fd)

    thread = threading.Thread(target=second)
    thread.start()
    time.sleep(0.3)
    assert thread.is_alive()  # still waiting: the only slot is held
    slots.release(taken)
    thread.join(5)
    assert waited["fd"] is not None
    assert waited["seconds"] >= 0.25


def test_two_slots_admit_two_writers_at_once_and_not_a_third(tmp_path):
    slots = WriteSlots(tmp_path, 2)
    results = []
    hold = threading.Event()

    def take():
        fd = slots.acquire(0.3)
        results.append(fd)
        if fd is not None:
            hold.wait(5)
            slots.release(fd)

    threads = [threading.Thread(target=take) for _ in range(3)]
    for t in threads:
        t.start()
    time.sleep(0.6)
    hold.set()
    for t in threads:
        t.join(5)
    assert sorted(fd is not None for fd in results) == [False, True, True]


def test_a_process_lets_only_its_waiters_wait_the_next_write_runs_at_once(tmp_path):
    """Readers need free threads: with one waiter allowed, a second write that finds every
    slot busy does not wait (it runs without a slot) while the first one waits."""
    slots = WriteSlots(tmp_path, 1, waiters=1)
    release = threading.Event()
    results: dict[str, tuple] = {}

    def write(name: str, timeout: float, hold: bool = False):
        started = time.monotonic()
        fd = slots.acquire(timeout)
        results[name] = (fd, time.monotonic() - started)
        if fd is not None:
            if hold:
                release.wait(5)
            slots.release(fd)

    holder = threading.Thread(target=write, args=("holder", 1, True))
    holder.start()
    time.sleep(0.1)
    waiter = threading.Thread(target=write, args=("waiter", 5))
    waiter.start()
    time.sleep(0.2)
    third = threading.Thread(target=write, args=("third", 5))
    third.start()
    third.join(2)
    assert results["third"][0] is None and results["third"][1] < 0.5  # did not wait
    assert waiter.is_alive()  # still waiting for the slot
    release.set()
    for thread in (holder, waiter):
        thread.join(5)
    assert results["waiter"][0] is not None and results["waiter"][1] >= 0.15

    # once nobody waits, a write waits again for a busy slot
    release.clear()
    holder = threading.Thread(target=write, args=("holder", 1, True))
    holder.start()
    time.sleep(0.1)
    write("later", 0.3)
    assert results["later"][0] is None and results["later"][1] >= 0.25
    release.set()
    holder.join(5)


def test_a_killed_process_frees_its_slot(tmp_path):
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from programme.admission import "
            "WriteSlots; s = WriteSlots(Path(sys.argv[1]), 1); assert s.acquire(5) is not None; "
            "print('held', flush=True); time.sleep(60)",
            str(tmp_path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        slots = WriteSlots(tmp_path, 1)
        assert slots.acquire(0.2) is None  # held by the other process
        holder.send_signal(signal.SIGKILL)
        holder.wait(5)
        fd = slots.acquire(2)
        assert fd is not None  # the kernel dropped the dead process's lock
        slots.release(fd)
    finally:
        holder.kill()


def _app(tmp_path, database_url, **config):
    return create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": database_url,
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_STORAGE_URI": "memory://",
            "IMPACT_REFRESH": "inline",
            **config,
        }
    )


def test_a_write_waits_while_every_slot_is_busy_and_a_read_does_not(
    app, database_url, tmp_path, caplog
):
    limited = _app(tmp_path, database_url, WRITE_CONCURRENCY=1, WRITE_QUEUE_SECONDS=0.5)
    slots = limited.extensions["write_slots"]
    busy = threading.Event()
    done = threading.Event()

    def hold_the_slot():
        fd = slots.acquire(1)
        busy.set()
        done.wait(10)
        slots.release(fd)

    holder = threading.Thread(target=hold_the_slot)
    holder.start()
    busy.wait(5)
    try:
        client = limited.test_client()
        started = time.monotonic()
        assert client.get("/login").status_code == 200
        read_seconds = time.monotonic() - started
        started = time.monotonic()
        with caplog.at_level(logging.WARNING, logger="programme.admission"):
            # Not signed in: the page answers with the login redirect, after the wait.
            response = client.post("/api/v1/measurements", json=[])
        write_seconds = time.monotonic() - started
    finally:
        done.set()
        holder.join(5)
    assert read_seconds < 0.5
    assert write_seconds >= 0.45  # it queued for its slot...
    assert response.status_code != 500  # ...and then ran without one, never refused
    assert "write admitted without a slot" in caplog.text


def test_zero_turns_the_limit_off(database_url, tmp_path):
    assert "write_slots" not in _app(tmp_path, database_url, WRITE_CONCURRENCY=0).extensions
