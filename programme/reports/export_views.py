"""Excel and PDF exports of the leadership report; monthly snapshots."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("exports", __name__, url_prefix="/reports")
