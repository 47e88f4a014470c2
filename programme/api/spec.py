"""How /api/v1 routes declare their contract, and how requests are held to it.

A view is decorated with `@operation(...)`: its summary, its body and query models
(programme/api/schemas.py), the responses it returns itself (200/201, 403, 404) and the
action its caller's role needs (checked once the token is known, programme/api/base.py).
The rest follows from the declaration, for the document and at run time alike:

- every route but the document: 401 (token) and 429 (rate limit, with `Retry-After`);
- a body: 400 (not JSON, nesting deeper than MAX_DEPTH), 413 (over API_MAX_BODY_BYTES,
  chunked bodies included, or over MAX_ITEMS items), 415 (not `application/json`) and 422;
- a query string: 422.

`json_body()` and `query_args()` validate against the declared models; `validation_errors`
is the one place where pydantic's errors become `{"index", "field", "message"}` in the
user's language. The role is checked before the view runs, so a role that may not act gets
403 whatever it sent."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, get_args, get_origin

from flask import current_app, jsonify, request
from flask_babel import gettext as _
from pydantic import BaseModel, TypeAdapter, ValidationError
from werkzeug.exceptions import RequestEntityTooLarge

from programme.api.schemas import MAX_ITEMS
from programme.errors import Invalid

MAX_DEPTH = 20
DEFAULT_MAX_BODY_BYTES = 5 * 1024 * 1024


@dataclass
class Operation:
    summary: str
    operation_id: str
    description: str | None = None
    body: Any = None  # a pydantic type: a model, or a list of models
    query: type[BaseModel] | None = None
    responses: dict[int, tuple[Any, str]] = field(default_factory=dict)
    authenticated: bool = True
    max_items: int | None = None  # a list body: more items is 413
    action: str | None = None  # the role's right the route needs (`auth.permissions.ACTIONS`)
    refused: Any = None  # the 403's message when the role lacks `action`

    def all_responses(self) -> dict[int, tuple[Any, str]]:
        """Every status the route can return, with its body model and description."""
        from programme.api import schemas

        found: dict[int, tuple[Any, str]] = {}
        if self.body is not None:
            found[400] = (schemas.Error, "The body is not JSON, or nests deeper than 20 levels.")
            found[413] = (
                schemas.Error,
                "The body is larger than API_MAX_BODY_BYTES (5 MB by default)"
                + (f" or has more than {self.max_items} items." if self.max_items else "."),
            )
            found[415] = (schemas.Error, "The body is not sent as application/json.")
            found[422] = (schemas.ValidationErrors, "Invalid body: nothing was written.")
        if self.query is not None:
            found[422] = (schemas.ValidationErrors, "An invalid or empty query parameter.")
        if self.authenticated:
            found[401] = (schemas.Error, "Missing, unknown or revoked token.")
        found[429] = (
            schemas.Error,
            "Too many requests for this token (or, without a valid token, this address): "
            "wait for `Retry-After` seconds.",
        )
        found.update(self.responses)
        return dict(sorted(found.items()))


def operation(**declaration) -> Callable:
    """Attach an Operation to a view function (the document reads it from there)."""

    def attach(view):
        view.api_operation = Operation(**declaration)
        return view

    return attach


def current_operation() -> Operation:
    view = current_app.view_functions[request.endpoint]
    return view.api_operation


class ApiProblem(Exception):
    """A finished error response, raised from validation helpers."""

    def __init__(self, response):
        super().__init__(response.status_code)
        self.response = response


def error_response(status: int, message: str, **extra):
    response = jsonify({"error": message, **extra})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="programme"'
    return response


def invalid_response(errors: list[dict] | Invalid):
    """The API's 422: `{"errors": [{"index", "field", "message"}]}` (index: the item's
    position in the body, or null)."""
    if isinstance(errors, Invalid):
        errors = [e.as_dict("index") for e in errors.errors]
    response = jsonify({"errors": errors})
    response.status_code = 422
    return response


def max_body_bytes() -> int:
    return int(current_app.config.get("API_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES))


def _too_large(limit: int) -> ApiProblem:
    return ApiProblem(
        error_response(
            413, _("The body is larger than %(mb)s MB.", mb=max(1, limit // (1024 * 1024)))
        )
    )


def check_declared_length() -> None:
    """413 before anything is read when Content-Length already says too much."""
    limit = max_body_bytes()
    if (request.content_length or 0) > limit:
        raise _too_large(limit)
    request.max_content_length = limit


def _read_body() -> bytes:
    """The raw body, read with a limit: a chunked body that runs past it is 413 too.

    A chunked body has no Content-Length; the server de-chunks it and says so with
    `wsgi.input_terminated` (gunicorn, the dev server). It is read directly, at most one
    byte past the limit, since werkzeug's own stream stops quietly at the limit."""
    limit = max_body_bytes()
    check_declared_length()
    try:
        if request.content_length is None and request.environ.get("wsgi.input_terminated"):
            raw = request.environ["wsgi.input"].read(limit + 1)
        else:
            raw = request.stream.read(limit + 1)
    except RequestEntityTooLarge:
        raise _too_large(limit) from None
    if len(raw) > limit:
        raise _too_large(limit)
    return raw


def _depth_exceeds(data: Any, limit: int) -> bool:
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def _parse_json(raw: bytes) -> Any:
    too_deep = ApiProblem(
        error_response(400, _("The body nests deeper than %(n)d levels.", n=MAX_DEPTH))
    )
    try:
        data = json.loads(raw)
    except RecursionError:  # the C parser is bounded by the interpreter's recursion limit
        raise too_deep from None
    except ValueError:
        raise ApiProblem(error_response(400, _("The body is not valid JSON."))) from None
    if _depth_exceeds(data, MAX_DEPTH):
        raise too_deep
    return data


_adapters: dict[int, TypeAdapter] = {}


def _adapter(tp: Any) -> TypeAdapter:
    key = id(tp)
    if key not in _adapters:
        _adapters[key] = TypeAdapter(tp)
    return _adapters[key]


def json_body() -> tuple[Any, Any]:
    """(validated body, raw JSON) of the current operation's declared body, or ApiProblem."""
    op = current_operation()
    mimetype = request.mimetype or ""
    if mimetype != "application/json" and not (
        mimetype.startswith("application/") and mimetype.endswith("+json")
    ):
        raise ApiProblem(
            error_response(415, _("Send the body as JSON (Content-Type: application/json)."))
        )
    data = _parse_json(_read_body())
    max_items = op.max_items or MAX_ITEMS
    if isinstance(data, list) and len(data) > max_items:
        raise ApiProblem(
            error_response(413, _("At most %(n)d items per request; split the batch.", n=max_items))
        )
    try:
        value = _adapter(op.body).validate_python(data)
    except ValidationError as failure:
        raise ApiProblem(
            invalid_response(validation_errors(failure, op.body, list_body=isinstance(data, list)))
        ) from None
    return value, data


def query_args():
    """The current operation's query model, validated, or ApiProblem (422)."""
    op = current_operation()
    values = {key: request.args.get(key) for key in request.args}
    try:
        return op.query.model_validate(values)
    except ValidationError as failure:
        raise ApiProblem(invalid_response(validation_errors(failure, op.query))) from None


def _item_model(tp: Any) -> Any:
    """The model of a body's items (or the body's model itself)."""
    while get_origin(tp) in (Annotated, list):
        tp = get_args(tp)[0]
    return tp


def validation_errors(failure: ValidationError, declared: Any, *, list_body: bool = False):
    """pydantic's errors as the API's [{"index", "field", "message"}], translated."""
    model = _item_model(declared)
    custom = getattr(model, "api_messages", {}) if isinstance(model, type) else {}
    errors = []
    for error in failure.errors(include_url=False, include_input=False):
        loc = list(error["loc"])
        index = None
        if list_body and loc and isinstance(loc[0], int):
            index = loc.pop(0)
        name = str(loc[0]) if loc else ("item" if index is not None else "body")
        if name in custom:
            message = custom[name]()
        else:
            message = _message(error, top_level=not loc and index is None, list_body=list_body)
        errors.append({"index": index, "field": name, "message": message})
    return errors


def _message(error: dict, *, top_level: bool, list_body: bool) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if top_level:
        return (
            _("The body must be a JSON list.")
            if kind == "list_type"
            else _("The body must be a JSON object.")
        )
    if kind in {"model_type", "model_attributes_type", "dict_type"}:
        return (
            _("Each item must be a JSON object.")
            if list_body and len(error["loc"]) == 1
            else (_("An object is expected."))
        )
    if kind == "missing":
        return _("Required.")
    if kind == "iso_date":
        return _("Use a date like 2026-01-31.")
    if kind == "text_control":
        return _("The text contains a character that cannot be stored (NUL or invalid Unicode).")
    if kind in {"greater_than_equal", "greater_than"}:
        return _("At least %(min)s.", min=ctx.get("ge", ctx.get("gt")))
    if kind in {"less_than_equal", "less_than"}:
        return _("At most %(max)s.", max=ctx.get("le", ctx.get("lt")))
    if kind.startswith("int_"):
        return _("A whole number is expected.")
    if kind.startswith("float_") or kind == "finite_number":
        return _("A finite number is expected.")
    if kind == "bool_type":
        return _("true or false is expected.")
    if kind == "string_type":
        return _("Text is expected.")
    if kind == "string_too_short":
        return (
            _("This cannot be empty.")
            if ctx.get("min_length") == 1
            else _("At least %(n)d characters.", n=ctx.get("min_length", 0))
        )
    if kind == "string_too_long":
        return _("At most %(n)d characters.", n=ctx.get("max_length", 0))
    if kind == "list_type":
        return _("A list is expected.")
    if kind == "too_long":
        return _("At most %(n)d items.", n=ctx.get("max_length", 0))
    if kind in {"literal_error", "enum"}:
        return _("One of: %(values)s.", values=ctx.get("expected", ""))
    return _("This value is not valid.")
