"""Pages people read over and over, kept a few seconds in Redis; their own writes show at once.

The role homes (what everyone opens first and most: a site manager's shop-floor phone, the
executive's Monday dashboard) and the leadership reports (`@kept_page`). A home gathers a
page's worth of lines from every domain (11 to 33 queries); a report page reads its data
stamps and renders a dozen partials even when its sections come from the shared cache.
Under the network's writes the homes alone used half of the web workers' CPU
(docs/benchmarks.md, "Load on the production stack").

So the page as rendered is kept in Redis for PAGE_CACHE_SECONDS (default 30):

- keyed by the page (path and query), the person, their login session (the page holds that
  session's CSRF token), their role and their language;
- stamped with the person's write generation, a Redis counter every successful write
  request of theirs increments (`note_write`, after the request): the next visit after a
  write of their own recomputes the page, so a person always sees their own changes;
- what others write shows within PAGE_CACHE_SECONDS, the same coalescing the report
  sections use (REPORT_REFRESH_SECONDS); an account edited by an administrator (role,
  perimeter) is refreshed at once too (`note_write(user_id)` from the user form).

Only a full page answered 200 is kept: an htmx fragment, a redirect, a refusal and a visit
with a message waiting to be shown (a flash) are computed, never served from or kept in the
cache. The view's permission check runs before (the decorator goes under `@require`); a
loader's record check is part of the kept page, whose key holds the person and role.
Without Redis, or while Redis fails, every visit is computed: in-process copies could not
see a write made through another worker.
"""

from __future__ import annotations

import hashlib
import pickle
from collections.abc import Callable
from functools import wraps

from flask import Flask, current_app, g, request, session
from flask_babel import get_locale
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

from programme.admission import SESSION_ENDPOINTS, WRITE_METHODS
from programme.reports.cache import get_cache
from programme.web.htmx import is_htmx

PREFIX = "programme:page:"


def _seconds() -> int:
    return max(0, int(current_app.config.get("PAGE_CACHE_SECONDS", 30)))


def _generation_key(user_id: int) -> str:
    return f"{PREFIX}gen:{user_id}"


def _page_key(user) -> str | None:
    login = session.get("_user_id")
    generate_csrf()  # the session's CSRF secret, made now if this is its first page
    csrf = session.get(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"))
    if not login or not csrf:
        return None
    visit = hashlib.sha1(f"{login}|{csrf}|{request.full_path}".encode()).hexdigest()
    return f"{PREFIX}page:{user.id}:{user.role}:{get_locale()}:{visit}"


def _html(result) -> str | None:
    """The page's HTML when `result` (what a view returned) is a full page answered 200."""
    if isinstance(result, tuple) and len(result) == 2 and result[1] == 200:
        result = result[0]
    return result if isinstance(result, str) else None


def kept_page(view: Callable) -> Callable:
    """A GET view whose full page is kept for the person (under `@require`/`@login_required`)."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        if request.method != "GET" or is_htmx():
            return view(*args, **kwargs)
        return page(current_user, lambda: view(*args, **kwargs))

    return wrapper


def page(user, compute: Callable):
    """What `compute()` returns for this request, or the page kept for `user`."""
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
    result = compute()
    html = _html(result)
    if html is not None and not session.get("_flashes"):
        cache.shared_set(key, pickle.dumps((generation, html)), seconds)
    return result


def note_write(user_id: int) -> None:
    """`user_id` has written, or their account was edited: their next pages are recomputed
    (on every worker, with Redis)."""
    if _seconds():
        get_cache().shared_incr(_generation_key(user_id))


def init_page_cache(app: Flask) -> None:
    @app.after_request
    def _note_write(response):
        """A person's successful write (a form, an htmx action, an API call with their
        token) makes their next pages fresh."""
        if (
            request.method in WRITE_METHODS
            and response.status_code < 400
            # signing in or out starts or ends a session: nothing of it is kept
            and request.endpoint not in SESSION_ENDPOINTS
        ):
            user = g.get("api_user") or (current_user if current_user.is_authenticated else None)
            if user is not None:
                note_write(user.id)
        return response
