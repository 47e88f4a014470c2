"""The deployment blueprint, shared by `views` (waves, sites, engagement) and `coach_views`
(coaches and their capacity)."""

from __future__ import annotations

from flask import Blueprint

from programme.deployment.models import BLOCKER_CATEGORIES, ITEM_STATES

bp = Blueprint("deployment", __name__)


@bp.context_processor
def _labels():
    return {"item_states": ITEM_STATES, "blocker_labels": BLOCKER_CATEGORIES}
