"""Operations: one JSON log line per request and per job, a request id, and the
reverse-proxy setting.

- `programme.requests`: one line per request (request id, user id, method, route, path,
  status, duration and CPU time in ms). The request id is the incoming `X-Request-ID` when it looks
  like one, else a new one; it is echoed in the response's `X-Request-ID`.
- `programme.jobs`: one line per job run (job id, kind, status, duration in ms).
- `PROXY_HOPS` (default 0): how many reverse proxies stand in front of the app. Above 0,
  `ProxyFix` trusts that many `X-Forwarded-*` values, so `request.remote_addr` (per-IP
  login throttling, rate limits) is the real client and `url_for` builds https links.
"""

from __future__ import annotations

import logging
import re
import sys
import time
import uuid

from flask import Flask, g, request
from pythonjsonlogger.json import JsonFormatter

REQUEST_LOGGER = "programme.requests"
JOB_LOGGER = "programme.jobs"
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:@/+=-]{1,128}$")


def json_formatter() -> logging.Formatter:
    return JsonFormatter(
        "%(levelname)s %(name)s %(message)s",
        rename_fields={"levelname": "level", "name": "logger"},
        timestamp="time",  # ISO 8601, UTC
    )


def configure_logging(app: Flask) -> None:
    """The two loggers write JSON lines to stderr (gunicorn and the worker collect it).
    Under test they keep propagating (pytest's caplog reads them); otherwise they stop at
    their own handler, so Flask's plain handler on the app's logger ("programme") does not
    print each line a second time."""
    for name in (REQUEST_LOGGER, JOB_LOGGER):
        logger = logging.getLogger(name)
        logger.setLevel(logging.INFO)
        if app.config.get("TESTING") or any(
            getattr(h, "_programme_json", False) for h in logger.handlers
        ):
            continue  # tests read the records through caplog; one handler per process
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(json_formatter())
        handler._programme_json = True
        logger.addHandler(handler)
        logger.propagate = False


def request_id() -> str | None:
    return getattr(g, "request_id", None)


def _user_id() -> int | None:
    # Only a user already loaded by this request, read from its identity: the log line
    # never touches the database (the health checks; a request whose transaction was
    # rolled back, its objects expired, while the database is down must not turn its 503
    # into a 500 here).
    api_user = getattr(g, "api_user", None)
    if api_user is not None:
        return _identity(api_user)
    user = getattr(g, "_login_user", None)
    if user is not None and getattr(user, "is_authenticated", False):
        return _identity(user)
    return None


def _identity(obj) -> int | None:
    from sqlalchemy import inspect
    from sqlalchemy.exc import NoInspectionAvailable

    try:
        key = inspect(obj).identity
    except NoInspectionAvailable:  # not a mapped object (a test double)
        return getattr(obj, "id", None)
    return key[0] if key else None


def init_request_logging(app: Flask) -> None:
    configure_logging(app)
    hops = int(app.config.get("PROXY_HOPS") or 0)
    if hops > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops, x_prefix=hops
        )
    log = logging.getLogger(REQUEST_LOGGER)

    @app.before_request
    def _start_request():
        g.request_started = time.perf_counter()
        g.request_cpu = time.thread_time()
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex

    @app.after_request
    def _log_request(response):
        started = getattr(g, "request_started", None)
        rid = request_id() or uuid.uuid4().hex
        response.headers["X-Request-ID"] = rid
        duration = (time.perf_counter() - started) * 1000 if started else None
        cpu_started = getattr(g, "request_cpu", None)
        cpu = (time.thread_time() - cpu_started) * 1000 if cpu_started is not None else None
        log.info(
            "request",
            extra={
                "request_id": rid,
                "user_id": _user_id(),
                "method": request.method,
                "route": request.url_rule.rule if request.url_rule else None,
                "path": request.path,
                "status": response.status_code,
                "duration_ms": round(duration, 1) if duration is not None else None,
                "cpu_ms": round(cpu, 1) if cpu is not None else None,
                "remote_addr": request.remote_addr,
            },
        )
        return response


def log_job(job_id: int, kind: str, status: str, started: float) -> None:
    """The job's line, written when it has run (`started`: time.perf_counter())."""
    logging.getLogger(JOB_LOGGER).info(
        "job",
        extra={
            "job_id": job_id,
            "kind": kind,
            "status": status,
            "duration_ms": round((time.perf_counter() - started) * 1000, 1),
        },
    )
