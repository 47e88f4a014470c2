"""The OpenAPI 3.1 document of /api/v1, built from the routes' declarations.

Each /api/v1 view carries an `Operation` (programme/api/spec.py) naming its pydantic models
(programme/api/schemas.py); the paths, parameters, bodies, responses and component
schemas all come from them, so the document cannot drift from what is validated."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from pydantic import BaseModel, TypeAdapter
from werkzeug.routing import IntegerConverter

from programme.api.schemas import INT32_MAX

REF = "#/components/schemas/{model}"

DESCRIPTION = (
    "Push KPI measurements and sync the network. Authenticate with a personal token: "
    "`Authorization: Bearer <token>` (create it on the account page or with "
    "`flask --app app create-token EMAIL`). The token acts with its owner's permissions. "
    "Writes are all-or-nothing. Bodies are JSON (`Content-Type: application/json`), at "
    "most 5 MB and 20 levels deep; dates are `YYYY-MM-DD`. Every error is JSON: "
    '`{"error": "…"}`, or `{"errors": [{"index", "field", "message"}]}` for 422. Each token '
    "may make API_RATE_LIMIT requests (600 a minute by default), and calls without a valid "
    "token are limited per address; over the limit the answer is 429 with `Retry-After`."
)


class _Components:
    def __init__(self) -> None:
        self.schemas: dict[str, Any] = {}

    def schema(self, tp: Any, mode: str) -> dict[str, Any]:
        """The JSON schema of a type, its models moved to components and referenced."""
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            generated = tp.model_json_schema(ref_template=REF, mode=mode)
            self._add_defs(generated)
            self.schemas.setdefault(tp.__name__, generated)
            return {"$ref": REF.format(model=tp.__name__)}
        generated = TypeAdapter(tp).json_schema(ref_template=REF, mode=mode)
        self._add_defs(generated)
        return generated

    def _add_defs(self, generated: dict[str, Any]) -> None:
        for name, definition in generated.pop("$defs", {}).items():
            self.schemas.setdefault(name, definition)


def _without_null(schema: dict[str, Any]) -> dict[str, Any]:
    """A query parameter is absent or a string: drop the `null` branch of an optional one."""
    options = schema.get("anyOf")
    if options:
        kept = [o for o in options if o.get("type") != "null"]
        if len(kept) == 1:
            rest = {k: v for k, v in schema.items() if k != "anyOf"}
            return {**kept[0], **rest}
    return schema


def _query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    generated = model.model_json_schema(mode="validation")
    required = set(generated.get("required", []))
    parameters = []
    for name, schema in generated["properties"].items():
        schema = _without_null(dict(schema))
        schema.pop("title", None)
        description = schema.pop("description", None)
        if schema.get("type") == "string" and "format" not in schema:
            schema.setdefault("minLength", 1)  # an empty value is refused
        if schema.get("type") == "string" and schema.get("format") == "date":
            schema["pattern"] = r"^\d{4}-\d{2}-\d{2}$"
        parameter = {"name": name, "in": "query", "required": name in required, "schema": schema}
        if description:
            parameter["description"] = description
        parameters.append(parameter)
    return parameters


def _path_parameters(rule) -> list[dict[str, Any]]:
    parameters = []
    for name, converter in rule._converters.items():
        if isinstance(converter, IntegerConverter):
            schema = {"type": "integer", "minimum": 1, "maximum": INT32_MAX, "example": 1}
        else:
            schema = {"type": "string", "minLength": 1, "maxLength": 40}
        parameters.append({"name": name, "in": "path", "required": True, "schema": schema})
    return parameters


def _response(components: _Components, status: int, model: Any, description: str):
    response: dict[str, Any] = {"description": description}
    if model is not None:
        response["content"] = {
            "application/json": {"schema": components.schema(model, "serialization")}
        }
    if status == 429:
        response["headers"] = {
            "Retry-After": {
                "description": "Seconds to wait before the next call.",
                "required": True,
                "schema": {"type": "integer", "minimum": 0},
            }
        }
    if status == 401:
        response["headers"] = {
            "WWW-Authenticate": {"required": True, "schema": {"type": "string"}},
        }
    return response


def openapi_document(app: Flask, prefix: str = "/api/v1") -> dict[str, Any]:
    components = _Components()
    paths: dict[str, dict[str, Any]] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if not rule.rule.startswith(prefix + "/"):
            continue
        view = app.view_functions[rule.endpoint]
        op = getattr(view, "api_operation", None)
        if op is None:
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule[len(prefix) :])
        parameters = _path_parameters(rule)
        if op.query is not None:
            parameters += _query_parameters(op.query)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            entry: dict[str, Any] = {"summary": op.summary, "operationId": op.operation_id}
            if op.description:
                entry["description"] = op.description
            if parameters:
                entry["parameters"] = parameters
            if op.body is not None:
                entry["requestBody"] = {
                    "required": True,
                    "content": {
                        "application/json": {"schema": components.schema(op.body, "validation")}
                    },
                }
            if not op.authenticated:
                entry["security"] = []
            entry["responses"] = {
                str(status): _response(components, status, model, description)
                for status, (model, description) in op.all_responses().items()
            }
            paths.setdefault(path, {})[method.lower()] = entry
    return {
        "openapi": "3.1.0",
        "info": {"title": "Programme API", "version": "1.1.0", "description": DESCRIPTION},
        "servers": [{"url": prefix}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": dict(sorted(components.schemas.items())),
        },
    }
