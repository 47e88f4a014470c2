"""The network summary and latest campaigns of a whole-network reader's home."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from programme.auth.models import User
from programme.diagnostics import queries as diagnostics_queries
from programme.network import queries as network_queries
from programme.reports import cache
from programme.reports.stamps import programme_stamp


@dataclass(frozen=True)
class CampaignLine:
    """A diagnostic campaign as the home pages list it (plain data)."""

    id: int
    name: str
    completed: bool


def home_sections(session: Session, user) -> dict:
    """The network summary and the latest diagnostic campaigns of a whole-network reader's
    home (the executive's), as plain data cached against the programme stamp: sites,
    regions and campaigns are audited, so any change shows on the next render."""
    user_id = user.id

    def compute(session: Session) -> dict:
        reader = session.get(User, user_id)  # the request's instance is not this session's
        return {
            "summary": network_queries.network_summary(session, reader),
            "campaigns": [
                (CampaignLine(c.id, c.name, c.completed), int(sessions), int(findings))
                for c, sessions, findings in diagnostics_queries.campaigns(session)[:10]
            ],
        }

    return cache.cached(session, ("home", user.role), compute, programme_stamp)
