"""/api/v1: the blueprint (programme/api/base.py) with every route module registered on it,
and the OpenAPI document built from their declarations.

Routes by resource: `network` (KPIs, sites, measurements), `pilots`, `deployment`
(packages, waves, a site's checklist), `value` (value drivers, gates, value, impact),
`feedback` (feedback and cases)."""

from __future__ import annotations

from flask import current_app, jsonify

from programme.api import deployment, feedback, network, pilots, value  # noqa: F401  (routes)
from programme.api.base import bp
from programme.api.openapi import openapi_document
from programme.api.spec import operation

__all__ = ["bp"]


@bp.get("/openapi.json")
@operation(
    summary="This document",
    operation_id="openapi",
    authenticated=False,
    responses={200: (None, "The OpenAPI 3.1 document of this API.")},
)
def openapi():
    return jsonify(openapi_document(current_app))
