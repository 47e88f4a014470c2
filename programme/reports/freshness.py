"""After a write, the headline impacts are recomputed in the background.

An SQLAlchemy hook notes, cheaply, when a transaction writes measurements, corrections,
rollups, waves, wave sites or checklist items (ORM flushes, and the bulk statements the
intake pipeline and the audit summaries run through the session). After such a commit,
`schedule_refresh` starts one recomputation of the headline impacts:

- with Redis and an RQ worker (the job runner is "rq"), it is queued on RQ and run by
  `flask --app app worker`; if Redis cannot take it, a thread of this process runs it;
- else a daemon thread of this process runs it;
- in "inline" refresh mode (tests) nothing is scheduled: the next read recomputes.

Writes are coalesced: one refresh is scheduled at a time (a claim shared through Redis),
and it waits for the refresh gate, so the figures are recomputed at most once per
REPORT_REFRESH_SECONDS whatever the write rate. Nothing here ever fails the write: errors
are logged.
"""

from __future__ import annotations

import logging
import time
from contextlib import contextmanager
from datetime import date

from flask import Flask, current_app, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session

from programme.jobs.schedule import REFRESH_QUEUE
from programme.reports import cache as report_cache

log = logging.getLogger(__name__)

# Tables whose writes move the headline impacts or the sections the screens cache.
WATCHED = frozenset(
    {
        "measurement",
        "measurement_revision",
        "kpi_week_rollup",
        "wave",
        "wave_site",
        "checklist_item",
    }
)
WATCHED_AUDIT = frozenset({"measurement", "kpi", "wave", "wave_site", "site", "checklist_item"})
FLAG = "reports_dirty"
SCHEDULED = "headline-refresh-scheduled"
WORKER_COMMANDS = ("worker",)  # `flask --app app worker` runs jobs that write measurements
_installed = False


def install() -> None:
    """Listen to every session's flushes, statements and commits (once per process)."""
    global _installed
    if _installed:
        return
    _installed = True
    event.listen(Session, "after_flush", _after_flush)
    event.listen(Session, "do_orm_execute", _on_execute)
    event.listen(Session, "after_commit", _after_commit)
    event.listen(Session, "after_soft_rollback", _after_rollback)


def _after_flush(session: Session, flush_context) -> None:
    if session.info.get(FLAG):
        return
    for obj in (*session.new, *session.dirty, *session.deleted):
        if getattr(obj, "__tablename__", None) in WATCHED:
            session.info[FLAG] = True
            return


def _on_execute(state) -> None:
    session = state.session
    if session.info.get(FLAG) or not (state.is_insert or state.is_update or state.is_delete):
        return
    table = getattr(state.statement, "table", None)
    name = getattr(table, "name", None)
    if name in WATCHED:
        session.info[FLAG] = True
    elif name == "audit_event":  # a summary event: an import of measurements, say
        try:
            entity = state.statement.compile().params.get("entity")
        except Exception:  # noqa: BLE001 - when in doubt, refresh
            entity = None
        if entity is None or entity in WATCHED_AUDIT:
            session.info[FLAG] = True


def _after_rollback(session: Session, previous_transaction) -> None:
    if previous_transaction.parent is None:
        session.info.pop(FLAG, None)


def _in_cli_command() -> bool:
    """True inside a `flask` command other than the job worker: seeding, rebuilding rollups
    and the like write in bulk and end; the next screen refreshes what they changed (a
    background reader would also get in the way of the seed's exclusive SQLite load)."""
    import click

    context = click.get_current_context(silent=True)
    return context is not None and context.info_name not in WORKER_COMMANDS


_paused = 0


@contextmanager
def paused():
    """No refresh scheduled by the commits made inside (bulk loads, benchmarks' seeding)."""
    global _paused
    _paused += 1
    try:
        yield
    finally:
        _paused -= 1


def _after_commit(session: Session) -> None:
    if not session.info.pop(FLAG, False) or not has_app_context():
        return
    if _paused or _in_cli_command():
        return
    try:
        schedule_refresh(current_app._get_current_object())
    except Exception:  # noqa: BLE001 - a write never fails because of a cache
        log.exception("could not schedule the refresh of the headline impacts")


def schedule_refresh(app: Flask) -> str | None:
    """Schedule one background recomputation of the headline impacts unless one is already
    scheduled; returns how ("rq", "thread") or None."""
    if report_cache.refresh_mode() == "inline":
        return None
    cache = report_cache.get_cache()
    if not cache.claim(SCHEDULED, report_cache.RUN_TTL):
        return None  # one is already waiting: it will read this write too
    from programme.jobs.services import runner

    if runner(app) == "rq" and cache.shared:
        try:
            from redis import Redis
            from rq import Queue

            queue = Queue(REFRESH_QUEUE, connection=Redis.from_url(app.config["REDIS_URL"]))
            queue.enqueue(
                "programme.reports.freshness.refresh_in_worker",
                job_timeout=report_cache.RUN_TTL,
                result_ttl=0,
            )
            return "rq"
        except Exception as error:  # noqa: BLE001 - Redis down: this process does it
            log.warning("headline refresh not queued (%s): running it in this process", error)
    try:
        report_cache.spawn(refresh_headlines, app, name="impact-refresh-after-write")
    except BaseException:
        cache.release(SCHEDULED)
        raise
    return "thread"


def refresh_in_worker() -> None:
    """Entry point for RQ workers (`flask --app app worker` runs them in an app context)."""
    refresh_headlines(current_app._get_current_object())


def refresh_headlines(app: Flask, wait: float | None = None) -> bool:
    """Recompute the headline impacts once the refresh gate opens (waiting at most `wait`
    seconds, default the refresh window plus a run), unless they are up to date. One
    computation serves every language (results hold no words). True when recomputed."""
    from flask_babel import force_locale

    from programme.extensions import db
    from programme.reports import impact

    with app.app_context():
        cache = report_cache.get_cache()
        deadline = time.monotonic() + (
            report_cache.refresh_seconds() + report_cache.RUN_TTL if wait is None else wait
        )
        language = force_locale(app.config.get("BABEL_DEFAULT_LOCALE") or "fr")
        try:
            with language, Session(db.engine) as session:
                key = impact.headline_key(session)
                while True:
                    with report_cache.refresh_gate(cache, key) as gate:
                        if gate.open:
                            cache.release(SCHEDULED)  # later writes schedule another run
                            today = date.today()
                            entry = cache.get(key)
                            if entry is not None and entry.stamp == (
                                impact.data_stamp(session),
                                today,
                            ):
                                return False
                            impact.refresh._recompute(
                                session, key, impact.DEFAULT_WINDOW_WEEKS, today
                            )
                            return True
                    if time.monotonic() >= deadline:
                        return False
                    time.sleep(0.5)
        except Exception:  # noqa: BLE001 - a failed refresh keeps the previous figures
            log.exception("refresh of the headline impacts after a write failed")
            return False
        finally:
            cache.release(SCHEDULED)
