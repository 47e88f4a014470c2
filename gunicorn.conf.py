"""gunicorn settings for `make serve` and production (docs/deploy.md).

Every value can be overridden from the environment (or on the command line, which wins):
WEB_CONCURRENCY (worker processes), GUNICORN_THREADS (threads per worker), HOST/PORT or
GUNICORN_BIND, GUNICORN_TIMEOUT, GUNICORN_GRACEFUL_TIMEOUT, GUNICORN_MAX_REQUESTS,
GUNICORN_ACCESS_LOG ("-" = stderr, empty = off), GUNICORN_LOG_LEVEL."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from programme.admission import cores, env_int, web_threads  # noqa: E402

workers = env_int("WEB_CONCURRENCY", 2 * cores() + 1)
# Many threads: a write waiting for its admission slot holds one, asleep (programme/admission.py).
threads = web_threads()
worker_class = "gthread" if threads > 1 else "sync"

bind = os.environ.get("GUNICORN_BIND") or (
    f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
)

# A request that runs longer than this is killed and its worker replaced; the large
# exports and imports run as jobs, not in a request.
timeout = env_int("GUNICORN_TIMEOUT", 60)
# On SIGTERM (a deploy), requests in flight get this long to finish.
graceful_timeout = env_int("GUNICORN_GRACEFUL_TIMEOUT", 30)
keepalive = 5

# Safety net against slow leaks: a worker is replaced after this many requests, the
# jitter keeping workers from all restarting at once.
max_requests = env_int("GUNICORN_MAX_REQUESTS", 2000)
max_requests_jitter = env_int("GUNICORN_MAX_REQUESTS_JITTER", max(1, max_requests // 10))

# One JSON line per request from gunicorn (client, bytes, user agent); the app writes its
# own line with the route, user and duration (programme/observability.py). Both carry
# the X-Request-ID, so they join.
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-") or None
access_log_format = (
    '{"logger": "gunicorn.access", "time": "%(t)s", "request_id": "%({x-request-id}o)s", '
    '"remote_addr": "%(h)s", "forwarded_for": "%({x-forwarded-for}i)s", '
    '"method": "%(m)s", "path": "%(U)s", "status": %(s)s, "bytes": "%(B)s", '
    '"duration_ms": %(M)s, "user_agent": "%(a)s"}'
)
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")

# No control socket by default: its default path is one per user, shared by every
# gunicorn on the host (set GUNICORN_CONTROL_SOCKET to a path of your own to use gunicornc).
if os.environ.get("GUNICORN_CONTROL_SOCKET"):
    control_socket = os.environ["GUNICORN_CONTROL_SOCKET"]
else:
    control_socket_disable = True

# Heartbeat files in memory, not on a disk that may stall.
if os.path.isdir("/dev/shm"):
    worker_tmp_dir = "/dev/shm"
# Behind a reverse proxy: PROXY_HOPS drives the app's ProxyFix; gunicorn itself trusts
# X-Forwarded-* only from these addresses (default: the loopback).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
