"""Write admission: a host runs at most WRITE_CONCURRENCY write requests at once.

Writers that never pause (integrations pushing batches, a grid typed at speed) would
otherwise take every core of the host, and the people reading (an executive's Monday
dashboard, a coach's home on a phone) would queue behind them. A write request (POST, PUT,
PATCH, DELETE) first takes one of WRITE_CONCURRENCY slots shared by every process of the
host; the others wait for a free slot, asleep, while reads go on. Default: the host's
cores; 0 turns it off.

A waiting write holds one of its process's threads (gunicorn `gthread`), asleep; readers
need free threads too, or they queue behind writers that are only waiting. So a process
lets at most WRITE_WAITERS writes wait at once (default: half its threads, GUNICORN_THREADS,
default 16); the next write runs at once without a slot (logged).

The slots are `flock` locks on small files in /dev/shm (else the temp directory), named
after the database, so every gunicorn worker of the host shares them and a killed worker's
slot is freed by the kernel. A write that has waited WRITE_QUEUE_SECONDS (default 30) runs
without a slot (logged): the limit protects readers, it never refuses a write. Nothing is
written in the database, nothing needs Redis."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import tempfile
import threading
import time
from pathlib import Path

from flask import Flask, current_app, g, request

log = logging.getLogger(__name__)

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Signing in and out start or end a session: never queued behind the network's writes
# (nor counted as a person's write by the page cache).
SESSION_ENDPOINTS = frozenset({"auth.login", "auth.logout"})


DEFAULT_THREADS = 16  # threads per gunicorn worker (gunicorn.conf.py)


def cores() -> int:
    """The cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


def web_threads() -> int:
    """Threads per gunicorn worker: GUNICORN_THREADS, else DEFAULT_THREADS."""
    return max(1, env_int("GUNICORN_THREADS", DEFAULT_THREADS))


def default_concurrency() -> int:
    value = os.environ.get("WRITE_CONCURRENCY", "").strip()
    return max(0, int(value)) if value.isdigit() else cores()


def default_waiters() -> int:
    value = os.environ.get("WRITE_WAITERS", "").strip()
    return max(0, int(value)) if value.isdigit() else max(1, web_threads() // 2)


class WriteSlots:
    """`slots` flock-backed slots in `directory`; each thread keeps its own descriptors
    (a flock belongs to an open file description, so two threads never share one)."""

    def __init__(self, directory: Path, slots: int, waiters: int | None = None):
        self.paths = [directory / f"slot-{i}" for i in range(slots)]
        directory.mkdir(parents=True, exist_ok=True)
        for path in self.paths:
            path.touch(exist_ok=True)
        self._local = threading.local()
        self.waiters = waiters  # None: no cap on the threads of this process that wait
        self._waiting = 0
        self._lock = threading.Lock()

    def _files(self) -> list[int]:
        held = getattr(self._local, "held", None)
        if held is None:
            held = self._local.held = _Descriptors(self.paths)
        return held.files

    def acquire(self, timeout: float) -> int | None:
        """The descriptor of the slot taken, or None when none freed within `timeout`, or
        at once when none is free and `waiters` threads of this process already wait."""
        files = self._files()
        fd = self._try(files)
        if fd is not None:
            return fd
        with self._lock:
            if self.waiters is not None and self._waiting >= self.waiters:
                return None
            self._waiting += 1
        try:
            return self._wait(files, timeout)
        finally:
            with self._lock:
                self._waiting -= 1

    @staticmethod
    def _try(files: list[int]) -> int | None:
        start = threading.get_ident() % len(files)  # spread first tries over the slots
        for i in range(len(files)):
            fd = files[(start + i) % len(files)]
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return fd
            except BlockingIOError:
                continue
        return None

    def _wait(self, files: list[int], timeout: float) -> int | None:
        deadline = time.monotonic() + timeout
        pause = 0.002
        while time.monotonic() < deadline:
            time.sleep(pause)
            pause = min(pause * 2, 0.02)
            fd = self._try(files)
            if fd is not None:
                return fd
        return None

    @staticmethod
    def release(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)


class _Descriptors:
    """A thread's open slot files, closed when the thread ends (its `threading.local`
    values are dropped then): the dev server starts a thread per request."""

    def __init__(self, paths: list[Path]):
        self.files = [os.open(path, os.O_RDWR | os.O_CREAT, 0o600) for path in paths]

    def __del__(self):
        for fd in self.files:
            with contextlib.suppress(OSError):
                os.close(fd)


def _slot_directory(app: Flask) -> Path:
    base = Path("/dev/shm") if os.path.isdir("/dev/shm") else Path(tempfile.gettempdir())
    database = str(app.config.get("SQLALCHEMY_DATABASE_URI") or "")
    name = hashlib.sha256(f"{app.instance_path}|{database}".encode()).hexdigest()[:16]
    return base / f"programme-writes-{name}"


def init_write_admission(app: Flask) -> None:
    slots = int(app.config.get("WRITE_CONCURRENCY", default_concurrency()) or 0)
    if slots <= 0:
        return
    waiters = int(app.config.get("WRITE_WAITERS", default_waiters()) or 0)
    app.extensions["write_slots"] = WriteSlots(_slot_directory(app), slots, waiters)

    @app.before_request
    def _admit_write():
        if request.method not in WRITE_METHODS or request.endpoint in SESSION_ENDPOINTS:
            return
        timeout = float(current_app.config.get("WRITE_QUEUE_SECONDS", 30))
        started = time.monotonic()
        fd = current_app.extensions["write_slots"].acquire(timeout)
        if fd is None:
            log.warning(
                "write admitted without a slot after %.1f s (WRITE_CONCURRENCY=%d, "
                "WRITE_WAITERS=%d)",
                time.monotonic() - started,
                slots,
                waiters,
            )
        g.write_slot = fd

    @app.teardown_request
    def _release_write(_error=None):
        fd = g.pop("write_slot", None)
        if fd is not None:
            WriteSlots.release(fd)
