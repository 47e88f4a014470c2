"""Deployment impact screens."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("impact", __name__, url_prefix="/reports/impact")
