"""The diagnostics blueprint, shared by `views` (campaigns, sessions, determinants),
`voice_views` (customer voice) and `irritant_views` (irritants and the synthesis)."""

from __future__ import annotations

from flask import Blueprint

from programme.diagnostics.models import (
    CAUSES,
    DETERMINANT_SCORES,
    DETERMINANTS,
    JOURNEY_STEPS,
    OUTCOMES,
    SENTIMENTS,
    SEVERITIES,
    STAKES,
    step_label,
)
from programme.network.models import CHANNELS, SITE_TYPES

bp = Blueprint("diagnostics", __name__, url_prefix="/diagnostics")

LABELS = {
    "journey_steps": JOURNEY_STEPS,
    "outcomes": OUTCOMES,
    "causes": CAUSES,
    "severities": SEVERITIES,
    "determinants": DETERMINANTS,
    "determinant_scores": DETERMINANT_SCORES,
    "sentiments": SENTIMENTS,
    "stakes": STAKES,
    "site_types": SITE_TYPES,
    "channels": CHANNELS,
}


@bp.app_context_processor
def _diagnostics_context():
    """Label helpers only: the diagnostics' vocabularies, for every template."""
    return {"step_label": step_label, "diag": LABELS}
