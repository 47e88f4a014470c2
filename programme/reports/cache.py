"""The cache of report sections and deployment-impact results: one API for both.

An entry is a value with the data stamp it was computed against and the time its data was
read (`Entry`). Every stamp is made by `stamp(session, source, columns)`: one round trip
reading the newest rows of what a source's figures are computed from. This module knows no
domain: each layer lists its columns (`kpis.stamps`, `reports.stamps`). Where an entry
lives:

- with `REDIS_URL`, in Redis (pickled plain data: dataclasses of text, numbers and dates),
  so every web worker reuses what one worker computed, and a fresh worker starts warm;
- always also in the process (`LocalStore`), which is all there is without Redis, and what
  serves when Redis fails: a Redis error is logged (at most once a minute), never raised,
  and Redis is left alone for a few seconds before it is tried again.

Refreshes are coalesced with claims (`claim(name, ttl)`): a Redis `SET NX EX` when Redis is
there, else an expiring in-process claim under a `threading.Lock`. A section is recomputed at
most once per `REPORT_REFRESH_SECONDS` (default 30) whatever the write rate, by one worker at
a time (see `refresh_gate`).

Keys are tuples of plain values; they never hold the reader's language (words are applied
when a page is rendered, see `programme.web.words`). Pickle is used for the values because
they are dataclasses built by this application; Redis is trusted like the database.
"""

from __future__ import annotations

import contextvars
import hashlib
import logging
import pickle
import threading
import time
import weakref
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy import select

log = logging.getLogger(__name__)

PREFIX = "programme:report-cache:"
ENTRY_TTL = 7 * 24 * 3600  # an entry nobody reads for a week goes
LOCAL_SIZE = 512
DEFAULT_REFRESH_SECONDS = 30
RUN_TTL = 600  # a refresh that takes longer than this no longer blocks the others
REDIS_RETRY_SECONDS = 5.0  # after a Redis error, use the process for this long
WARN_EVERY = 60.0


@dataclass
class Entry:
    stamp: Any
    value: Any
    computed_at: float  # wall-clock seconds (time.time()) when its data was read


def key_text(key: Any) -> str:
    """A stable text for a key, the same in every process: sets are sorted (their order
    follows string hashing, which differs between processes)."""

    def norm(value):
        if isinstance(value, (set, frozenset)):
            return ("set", tuple(sorted((norm(v) for v in value), key=repr)))
        if isinstance(value, (tuple, list)):
            return tuple(norm(v) for v in value)
        if isinstance(value, dict):
            return ("dict", tuple(sorted((repr(k), norm(v)) for k, v in value.items())))
        return value

    return hashlib.sha1(repr(norm(key)).encode()).hexdigest()


class LocalStore:
    """Entries and claims in this process (bounded; least recently used first out). Values
    are kept as they are (no copy): callers read them, never modify them."""

    def __init__(self, size: int = LOCAL_SIZE):
        self.size = size
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, Entry] = OrderedDict()
        self._claims: dict[str, float] = {}

    def get(self, key: str) -> Entry | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
            return entry

    def set(self, key: str, entry: Entry) -> None:
        with self._lock:
            self._entries[key] = entry
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def claim(self, name: str, ttl: float) -> bool:
        now = time.monotonic()
        with self._lock:
            if self._claims.get(name, 0.0) > now:
                return False
            self._claims[name] = now + ttl
            if len(self._claims) > 4 * self.size:
                self._claims = {k: v for k, v in self._claims.items() if v > now}
            return True

    def extend(self, name: str, ttl: float) -> None:
        with self._lock:
            self._claims[name] = time.monotonic() + ttl

    def release(self, name: str) -> None:
        with self._lock:
            self._claims.pop(name, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._claims.clear()


_instances: weakref.WeakSet[ReportCache] = weakref.WeakSet()


class ReportCache:
    """The cache of one application (one web worker): Redis when configured, the process
    otherwise or when Redis fails."""

    def __init__(self, redis_url: str | None):
        _instances.add(self)
        self.local = LocalStore()
        self.redis_url = redis_url
        self._redis = None
        self._down_until = 0.0
        self._warned_at = -WARN_EVERY

    # --- Redis, with its failures absorbed -----------------------------------------------

    def _client(self):
        if not self.redis_url or time.monotonic() < self._down_until:
            return None
        if self._redis is None:
            from redis import Redis

            self._redis = Redis.from_url(
                self.redis_url, socket_connect_timeout=0.5, socket_timeout=1.0
            )
        return self._redis

    def _failed(self, error: Exception) -> None:
        now = time.monotonic()
        self._down_until = now + REDIS_RETRY_SECONDS
        if now - self._warned_at >= WARN_EVERY:
            self._warned_at = now
            log.warning("report cache: Redis unavailable, using the process cache: %s", error)

    @property
    def shared(self) -> bool:
        """Entries are shared with the other workers (Redis configured and answering)."""
        return self._client() is not None

    # --- entries ---------------------------------------------------------------------------

    def get(self, key: Any) -> Entry | None:
        name = key_text(key)
        client = self._client()
        if client is not None:
            try:
                raw = client.get(PREFIX + "e:" + name)
            except Exception as error:  # noqa: BLE001 - Redis is an accelerator, never a fault
                self._failed(error)
            else:
                if raw is None:
                    return None
                local = self.local.get(name)
                try:
                    stamp, computed_at = pickle.loads(client.get(PREFIX + "m:" + name) or b"")
                except Exception:  # noqa: BLE001 - no or unreadable metadata: read the value
                    stamp, computed_at = None, None
                if local is not None and (local.stamp, local.computed_at) == (stamp, computed_at):
                    return local  # the same entry as this process holds: no unpickling
                try:
                    entry = pickle.loads(raw)
                except Exception:  # noqa: BLE001 - e.g. written by another version of the code
                    log.warning("report cache: unreadable entry dropped")
                    return None
                self.local.set(name, entry)
                return entry
        return self.local.get(name)

    def set(self, key: Any, entry: Entry) -> None:
        name = key_text(key)
        self.local.set(name, entry)
        client = self._client()
        if client is None:
            return
        try:
            data = pickle.dumps(entry, protocol=pickle.HIGHEST_PROTOCOL)
            meta = pickle.dumps((entry.stamp, entry.computed_at))
        except Exception:  # noqa: BLE001 - a value that cannot be shared stays in the process
            log.exception("report cache: value not picklable, kept in the process")
            return
        try:
            pipe = client.pipeline(transaction=True)
            pipe.set(PREFIX + "e:" + name, data, ex=ENTRY_TTL)
            pipe.set(PREFIX + "m:" + name, meta, ex=ENTRY_TTL)
            pipe.execute()
        except Exception as error:  # noqa: BLE001
            self._failed(error)

    # --- raw shared values (Redis only) ----------------------------------------------------

    def shared_get(self, *names: str) -> list[bytes | None] | None:
        """The values of `names` in Redis (None for each one missing), or None without Redis
        or when it fails: what only makes sense shared between workers is never kept in the
        process."""
        client = self._client()
        if client is None:
            return None
        try:
            return client.mget([PREFIX + "r:" + name for name in names])
        except Exception as error:  # noqa: BLE001
            self._failed(error)
            return None

    def shared_set(self, name: str, data: bytes, ttl: int) -> None:
        client = self._client()
        if client is None:
            return
        try:
            client.set(PREFIX + "r:" + name, data, ex=max(1, int(ttl)))
        except Exception as error:  # noqa: BLE001
            self._failed(error)

    def shared_incr(self, name: str, ttl: int = ENTRY_TTL) -> None:
        """Add one to the counter `name` (kept `ttl` seconds after its last change)."""
        client = self._client()
        if client is None:
            return
        try:
            pipe = client.pipeline(transaction=True)
            pipe.incr(PREFIX + "r:" + name)
            pipe.expire(PREFIX + "r:" + name, ttl)
            pipe.execute()
        except Exception as error:  # noqa: BLE001
            self._failed(error)

    # --- claims (coalescing) ---------------------------------------------------------------

    def claim(self, name: str, ttl: float) -> bool:
        """True for the one caller that takes `name` until it is released or `ttl` seconds
        pass (shared between workers with Redis)."""
        ttl = max(1, int(round(ttl)))
        client = self._client()
        if client is not None:
            try:
                return bool(client.set(PREFIX + "c:" + name, b"1", nx=True, ex=ttl))
            except Exception as error:  # noqa: BLE001
                self._failed(error)
        return self.local.claim(name, ttl)

    def extend(self, name: str, ttl: float) -> None:
        """Keep `name` claimed for `ttl` more seconds (or release it when `ttl` <= 0)."""
        if ttl <= 0:
            self.release(name)
            return
        client = self._client()
        if client is not None:
            try:
                client.set(PREFIX + "c:" + name, b"1", ex=max(1, int(round(ttl))))
                return
            except Exception as error:  # noqa: BLE001
                self._failed(error)
        self.local.extend(name, ttl)

    def release(self, name: str) -> None:
        self.local.release(name)
        client = self._client()
        if client is not None:
            try:
                client.delete(PREFIX + "c:" + name)
            except Exception as error:  # noqa: BLE001
                self._failed(error)

    def clear(self) -> None:
        """Forget everything this application cached (tests, benchmarks)."""
        self.local.clear()
        client = self._client()
        if client is not None:
            try:
                names = list(client.scan_iter(PREFIX + "*", count=500))
                if names:
                    client.delete(*names)
            except Exception as error:  # noqa: BLE001
                self._failed(error)


def clear_all() -> None:
    """Forget what every application of this process cached (tests, benchmarks)."""
    for cache in list(_instances):
        cache.clear()


_fallback = ReportCache(None)  # outside an application (scripts, unit tests)


def get_cache() -> ReportCache:
    """The current application's cache (created on first use from its REDIS_URL)."""
    if not has_app_context():
        return _fallback
    app = current_app._get_current_object()
    cache = app.extensions.get("report_cache")
    if cache is None:
        cache = app.extensions.setdefault(
            "report_cache",
            ReportCache(app.config.get("REDIS_URL")),
        )
    return cache


def refresh_seconds() -> float:
    """REPORT_REFRESH_SECONDS: the least time between two recomputations of one section."""
    if not has_app_context():
        return DEFAULT_REFRESH_SECONDS
    try:
        return max(
            0.0, float(current_app.config.get("REPORT_REFRESH_SECONDS", DEFAULT_REFRESH_SECONDS))
        )
    except (TypeError, ValueError):
        return DEFAULT_REFRESH_SECONDS


class refresh_gate:
    """Who may recompute `key` now: at most one worker at a time, and at most once per
    REPORT_REFRESH_SECONDS. `with refresh_gate(cache, key) as gate: if gate.open: ...`.
    The claim is taken for the run; after a successful run it is kept for the rest of the
    window (so that the next write waits for it), after a failure it is released (the next
    reader retries)."""

    def __init__(self, cache: ReportCache, key: Any, window: float | None = None):
        self.cache = cache
        self.name = "refresh:" + key_text(key)
        self.window = refresh_seconds() if window is None else window
        self.open = False
        self.started = 0.0

    def __enter__(self) -> refresh_gate:
        self.open = self.cache.claim(self.name, max(self.window, RUN_TTL))
        self.started = time.monotonic()
        return self

    def __exit__(self, kind, error, tb) -> None:
        if not self.open:
            return
        if error is not None:
            self.cache.release(self.name)
        else:
            self.cache.extend(self.name, self.window - (time.monotonic() - self.started))


# --- stale-while-revalidate ------------------------------------------------------------------

REFRESH_MODES = ("thread", "inline")
_computing: contextvars.ContextVar[bool] = contextvars.ContextVar("computing", default=False)
_threads: set[threading.Thread] = set()
_threads_lock = threading.Lock()


def refresh_mode() -> str:
    """IMPACT_REFRESH: "thread" (default: a stale result at once, recomputed in the
    background) or "inline" (recomputed synchronously, as the tests want)."""
    mode = current_app.config.get("IMPACT_REFRESH", "thread") if has_app_context() else "inline"
    return mode if mode in REFRESH_MODES else "thread"


def spawn(target, *args, name: str = "report-refresh") -> threading.Thread:
    """Start a daemon thread that `wait_for_refresh` can join."""
    thread = threading.Thread(target=_run, args=(target, args), name=name, daemon=True)
    with _threads_lock:
        _threads.add(thread)
    try:
        thread.start()
    except BaseException:
        with _threads_lock:
            _threads.discard(thread)
        raise
    return thread


def _run(target, args) -> None:
    try:
        target(*args)
    finally:
        with _threads_lock:
            _threads.discard(threading.current_thread())


def wait_for_refresh(timeout: float | None = None) -> bool:
    """Wait for the background refreshes under way (tests, benchmarks); True when none is
    left running within `timeout` seconds."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        with _threads_lock:
            running = [t for t in _threads if t.is_alive()]
        if not running:
            return True
        for thread in running:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            thread.join(left)
        if deadline is not None and time.monotonic() >= deadline:
            with _threads_lock:
                return not any(t.is_alive() for t in _threads)


def note_as_of(computed_at: float) -> None:
    """Remember, for the page being rendered, that it shows a result computed at
    `computed_at` while a newer one is being computed (the oldest such time wins)."""
    from flask import g, has_request_context

    if has_request_context():
        previous = g.get("report_as_of")
        g.report_as_of = computed_at if previous is None else min(previous, computed_at)


def cached(session, key: Any, compute, stamp) -> Any:
    """`compute(session)` memoised against `stamp(session)` in the shared cache.

    - Same stamp: the cached value.
    - Nothing cached at all (the very first request): computed here, and kept.
    - Stamp changed ("inline" mode, the tests): recomputed here.
    - Stamp changed ("thread" mode): the previous value at once (its time noted for the
      page's "as of"), and a background refresh, unless one ran less than
      REPORT_REFRESH_SECONDS ago or runs in another worker (`refresh_gate`)."""
    cache = get_cache()
    current = stamp(session)
    entry = cache.get(key)
    if entry is not None and entry.stamp == current:
        return entry.value
    if entry is None or refresh_mode() == "inline" or _computing.get():
        # (inside another section's computation, a part is never stale: the whole would
        # then be kept as up to date with an old part in it)
        return _compute_and_keep(cache, session, key, compute, stamp, current).value
    note_as_of(entry.computed_at)
    start_refresh(cache, session, key, compute, stamp)
    return entry.value


def _compute_and_keep(cache, session, key, compute, stamp, current=None) -> Entry:
    computed_at = time.time()
    if current is None:
        current = stamp(session)  # read first: a change during the computation is not missed
    token = _computing.set(True)
    try:
        entry = Entry(current, compute(session), computed_at)
    finally:
        _computing.reset(token)
    newest = cache.get(key)
    if newest is None or newest.computed_at <= computed_at:  # a slower, older run never wins
        cache.set(key, entry)
    return entry


def start_refresh(cache, session, key, compute, stamp) -> threading.Thread | None:
    """Recompute `key` in a background thread (its own app context, language and database
    session) if the refresh gate is open; None when it is not."""
    gate = refresh_gate(cache, key)
    gate.__enter__()
    if not gate.open:
        return None
    from flask_babel import get_locale

    bind = session.get_bind()
    engine = getattr(bind, "engine", bind)  # a Connection is not shared across threads
    app = current_app._get_current_object()
    locale = str(get_locale() or "")
    try:
        return spawn(_refresh, app, engine, cache, key, compute, stamp, locale, gate)
    except BaseException:
        gate.__exit__(RuntimeError, RuntimeError("not started"), None)
        raise


def _refresh(app, engine, cache, key, compute, stamp, locale, gate) -> None:
    from contextlib import nullcontext

    from flask_babel import force_locale
    from sqlalchemy.orm import Session

    failure = None
    try:
        language = force_locale(locale) if locale else nullcontext()
        with app.app_context(), language, Session(engine) as session:
            _compute_and_keep(cache, session, key, compute, stamp)
    except Exception as error:  # noqa: BLE001 - a failed refresh keeps the stale value
        failure = error
        log.exception("background refresh of a report section failed")
    finally:
        gate.__exit__(type(failure) if failure else None, failure, None)


# --- stamps ----------------------------------------------------------------------------------


def stamp(session, source: str, columns: list) -> tuple:
    """The one stamp function: the values of `columns` (scalar SQL expressions reading the
    newest rows of what `source`'s figures are computed from) in one round trip, with the
    database and the source's name. Each layer lists its own columns:
    `kpis.stamps.data_stamp`, `kpis.stamps.kpi_page_stamp`, `reports.stamps.programme_stamp`,
    `reports.stamps.impact_stamp`."""
    row = session.execute(select(*columns)).one()
    return (str(session.get_bind().url), source, tuple(row))
