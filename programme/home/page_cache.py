"""A person's home page, kept a few seconds in Redis; their own writes show at once.

The home is what everyone opens first and most (a site manager's shop-floor phone, the
executive's Monday dashboard), and it gathers a page's worth of lines from every domain
(11 to 33 queries). Under the network's writes its report sections come from the shared
cache, but the lines of "what needs you today" are the person's own: computed on every
visit, they used half of the web workers' CPU under load (docs/benchmarks.md).

So the page as rendered is kept in Redis for HOME_CACHE_SECONDS (default 30):

- keyed by the person, their login session (the page holds that session's CSRF token),
  their role and their language;
- stamped with the person's write generation, a Redis counter every successful write
  request of theirs increments (`note_write`, after the request): the next visit after a
  write of their own recomputes the page, so a person always sees their own changes;
- what others write shows within HOME_CACHE_SECONDS, the same coalescing the report
  sections use (REPORT_REFRESH_SECONDS).

A visit with a message waiting to be shown (a flash) is computed, never served from or
kept in the cache. Without Redis, or while Redis fails, every visit is computed: in-process
copies could not see a write made through another worker.
"""

from __future__ import annotations

import hashlib
import pickle
from collections.abc import Callable

from flask import current_app, session
from flask_babel import get_locale
from flask_wtf.csrf import generate_csrf

from programme.reports.cache import get_cache

PREFIX = "programme:home:"


def _seconds() -> int:
    try:
        return max(0, int(float(current_app.config.get("HOME_CACHE_SECONDS", 30))))
    except (TypeError, ValueError):
        return 0


def _generation_key(user_id: int) -> str:
    return f"{PREFIX}gen:{user_id}"


def _page_key(user) -> str | None:
    login = session.get("_user_id")
    generate_csrf()  # the session's CSRF secret, made now if this is its first page
    csrf = session.get(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"))
    if not login or not csrf:
        return None
    visit = hashlib.sha1(f"{login}|{csrf}".encode()).hexdigest()
    return f"{PREFIX}page:{user.id}:{user.role}:{get_locale()}:{visit}"


def home_page(user, compute: Callable[[], str]) -> str:
    """The home page's HTML for `user`: kept, or computed by `compute()` and kept."""
    seconds = _seconds()
    cache = get_cache()
    if not seconds or session.get("_flashes"):
        return compute()
    key = _page_key(user)
    if key is None:
        return compute()
    kept = cache.shared_get(_generation_key(user.id), key)
    if kept is None:  # no Redis, or it failed
        return compute()
    generation, raw = kept
    generation = int(generation or 0)
    if raw is not None:
        try:
            kept_generation, html = pickle.loads(raw)
        except Exception:  # noqa: BLE001 - written by another version of the code: recompute
            kept_generation, html = None, None
        if kept_generation == generation:
            return html
    html = compute()
    if not session.get("_flashes"):
        cache.shared_set(key, pickle.dumps((generation, html)), seconds)
    return html


def note_write(user_id: int) -> None:
    """`user_id` has written: their next home is recomputed (every worker, with Redis)."""
    if _seconds():
        get_cache().shared_incr(_generation_key(user_id))
