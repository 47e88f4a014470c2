"""The /api/v1 blueprint and what every route shares: the token, the rate limits, the
permission check, the records loaded through the domain loaders, and the JSON errors.

Bearer tokens only (no session cookie, no CSRF); the same permission rules as the
screens. Each route declares its contract with `@operation` (programme/api/spec.py),
including the action its caller's role needs (`action=`, 403 with `refused=` otherwise);
a route about one record loads it with `load()`, which calls the screens' own
`get_*_or_403(id, action, user=<token's user>)`. Every error is JSON: 401 {"error"},
403 {"error"[, "errors"]}, 400/404/409/413/415/429 {"error"}, 422 {"errors": [{"index",
"field", "message"}]} with nothing written (a service's `Invalid`, answered here). Each
token, and each address calling without a valid token, is rate limited (429 with
Retry-After)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, timedelta
from typing import Any

from flask import Blueprint, current_app, g, jsonify, request
from flask_babel import gettext as _
from flask_limiter import RateLimitExceeded
from flask_limiter.util import get_remote_address
from sqlalchemy import or_, update
from werkzeug.exceptions import Forbidden, NotFound

from programme.api import schemas as s
from programme.api import tokens
from programme.api.models import ApiToken
from programme.api.spec import ApiProblem, check_declared_length, error_response, invalid_response
from programme.auth.permissions import can
from programme.database import utcnow
from programme.errors import Invalid
from programme.extensions import db, limiter

bp = Blueprint("api", __name__, url_prefix="/api/v1")

MAX_ITEMS = s.MAX_ITEMS
DEFAULT_RATE_LIMIT = "600 per minute"
DEFAULT_ANONYMOUS_RATE_LIMIT = "60 per minute"

FORBIDDEN = (s.Error, "Authenticated, but the token's user may not do this.")


# --- authentication and rate limits ------------------------------------------------------------


def _token_identity():
    """(user, token row) behind the request's bearer token, or (None, None); once a request."""
    identity = getattr(request, "api_identity", None)
    if identity is None:
        user = row = None
        scheme, _sep, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            user, row = tokens.user_for_token(db.session, token.strip())
        identity = request.api_identity = (user, row)
    return identity


def _token_key() -> str:
    _user, row = _token_identity()
    return f"token:{row.id}" if row is not None else "none"


def _without_valid_token() -> bool:
    return _token_identity()[0] is None


def _with_valid_token() -> bool:
    return _token_identity()[0] is not None


# One budget per token for the whole API, and one per address for calls without a valid
# token (so guessing tokens is throttled too). Storage: the shared limiter's (Redis when set).
limiter.shared_limit(
    lambda: current_app.config.get("API_RATE_LIMIT") or DEFAULT_RATE_LIMIT,
    scope="api-token",
    key_func=_token_key,
    exempt_when=_without_valid_token,
)(bp)
limiter.shared_limit(
    lambda: current_app.config.get("API_ANONYMOUS_RATE_LIMIT") or DEFAULT_ANONYMOUS_RATE_LIMIT,
    scope="api-address",
    key_func=get_remote_address,
    exempt_when=_with_valid_token,
)(bp)


@bp.before_request
def _authenticate():
    """413 for a declared body too large, 401 without a valid token, then 403 when the
    route's `action` is not the user's role's; sets `g.api_user` and `g.api_client`."""
    if request.endpoint == "api.openapi":
        return None
    view = current_app.view_functions.get(request.endpoint)
    op = getattr(view, "api_operation", None)
    if getattr(op, "body", None) is not None:
        check_declared_length()  # a body too large is 413 before the token is looked up
    user, row = _token_identity()
    if user is None:
        scheme, _sep, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return error_response(401, _("Send a valid API token: Authorization: Bearer <token>."))
        return error_response(401, _("This API token is not valid (unknown, revoked or disabled)."))
    _note_use(row)
    g.api_user, g.api_client = user, row.name
    if op is not None and op.action is not None and not can(user, op.action):
        return error_response(
            403, str(op.refused or _("You do not have access to this page or action."))
        )
    return None


# "Last used" is shown to the minute: written at most once a minute per token, so that an
# integration calling all the time does not commit a write (and take the token row's lock)
# on every call.
LAST_USED_EVERY = timedelta(seconds=60)


def _note_use(row: ApiToken) -> None:
    now = utcnow()
    last = row.last_used_at
    if last is not None and last.tzinfo is None:
        last = last.replace(tzinfo=UTC)  # SQLite gives naive UTC back
    if last is not None and now - last < LAST_USED_EVERY:
        return
    db.session.execute(
        update(ApiToken)
        .where(
            ApiToken.id == row.id,
            or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at < now - LAST_USED_EVERY),
        )
        .values(last_used_at=now),
        # no evaluation against the loaded row in Python (SQLite gives naive datetimes)
        execution_options={"synchronize_session": False},
    )
    db.session.commit()


# --- errors ------------------------------------------------------------------------------------


@bp.errorhandler(RateLimitExceeded)
def _rate_limited(_error_raised):
    response = error_response(429, _("Too many requests: wait before calling the API again."))
    current = limiter.current_limit
    wait = int(current.reset_at - time.time()) if current is not None else 60
    response.headers["Retry-After"] = str(max(1, wait))
    return response


@bp.errorhandler(ApiProblem)
def _problem(problem: ApiProblem):
    return problem.response


@bp.errorhandler(Invalid)
def _refused(invalid: Invalid):
    """A service refused the request: nothing is written, 422 with the errors."""
    db.session.rollback()
    return invalid_response(invalid)


def load(loader: Callable[..., Any], record_id: int, action: str, *, missing, refused):
    """The record through its domain loader (`get_*_or_403`, the screens' own), for the
    token's user: the loader's 404 answers `missing`, its 403 `refused`."""
    if not 0 < record_id <= s.INT32_MAX:  # not an id the database can hold
        raise ApiProblem(error_response(404, str(missing)))
    try:
        return loader(record_id, action, user=g.api_user)
    except NotFound:
        raise ApiProblem(error_response(404, str(missing))) from None
    except Forbidden:
        raise ApiProblem(error_response(403, str(refused))) from None


def created(body: dict, location: str | None = None):
    """201 with the new record's JSON (and where to read it again)."""
    response = jsonify(body)
    response.status_code = 201
    if location is not None:
        response.headers["Location"] = location
    return response


def codes(values: list[str]) -> list[str]:
    return [c.strip().upper() for c in values if c.strip()]
