"""Rows of the role × route matrix for the close-the-loop screens (issue 19).

The case these URLs need (a detractor at PAR-001, the matrix site manager's site) is
created on demand with Core inserts: no audit event, so the matrix can prove that refused requests wrote nothing. The matrix's site manager
manages PAR-001 and no region: they handle the case but may not reassign it (a regional
manager may: tests/web/test_feedback_pages.py)."""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select

from programme.auth.models import User
from programme.auth.roles import ADMIN, COACH, DIAGNOSTICIAN, EXECUTIVE, PILOT_TEAM, SITE_MANAGER
from programme.database import utcnow
from programme.extensions import db
from programme.feedback.models import FeedbackCase, FeedbackResponse

CASES = frozenset({ADMIN, SITE_MANAGER})
ADMIN_ONLY = frozenset({ADMIN})
FIGURES = frozenset({ADMIN, EXECUTIVE, SITE_MANAGER})
IRRITANTS = frozenset({ADMIN, DIAGNOSTICIAN, PILOT_TEAM, COACH, EXECUTIVE})


def case_id(w) -> int:
    found = db.session.scalar(  # a case of the world's site (its manager handles it)
        select(FeedbackCase.id).where(FeedbackCase.site_id == w.site_id).order_by(FeedbackCase.id)
    )
    if found is None:
        now = utcnow()
        response = db.session.execute(
            insert(FeedbackResponse).values(
                source="matrix",
                external_id="M-1",
                site_id=w.site_id,
                channel="in_person",
                received_at=now - timedelta(hours=1),
                score=2,
                scale="nps",
                language="fr",
                complaint=False,
                contact_consent=True,
                contact_ref="06 00 00 00 00",
                created_at=now,
            )
        ).inserted_primary_key[0]
        found = db.session.execute(
            insert(FeedbackCase).values(
                response_id=response,
                site_id=w.site_id,
                status="open",
                opened_at=now,
                due_at=now + timedelta(days=2),
                escalate_at=now + timedelta(days=3),
                version=1,
                created_at=now,
                updated_at=now,
            )
        ).inserted_primary_key[0]
        db.session.commit()
    return found  # fmt: skip


def handler_id(w) -> int:
    """Someone who handles cases: the admin making the request (no account is created, so
    the refused requests of other roles provably write nothing)."""
    return db.session.scalar(select(User.id).where(User.role == ADMIN).order_by(User.id)) or 0


def counter_form(w) -> dict:
    local = datetime.now(ZoneInfo("Europe/Paris")) - timedelta(hours=1)
    return {
        "site": "PAR-001", "received_at": local.strftime("%Y-%m-%dT%H:%M"), "channel": "in_person",
        "scale": "nps", "score": "3", "journey_step": "waiting", "comment": "Trop d'attente",
        "contact_consent": "y", "contact": "06 11 22 33 44",
    }  # fmt: skip


def import_form(w) -> dict:
    csv = (
        "id,site,date,canal,note,echelle\n"
        f"F-1,PAR-001,{(utcnow() - timedelta(hours=2)).isoformat()},in_person,3,nps\n"
    )
    return {"source": "qualtrics", "file": (io.BytesIO(csv.encode()), "feedback.csv")}


def rows(Route) -> list:
    return [
        Route("GET", "/cases", CASES, notes="a site manager sees their perimeter only"),
        Route("GET", "/cases/<int:case_id>", CASES, url=lambda w: f"/cases/{case_id(w)}",
              notes="a site manager only for a site of their perimeter"),
        Route("POST", "/cases/<int:case_id>/contacted", CASES,
              url=lambda w: f"/cases/{case_id(w)}/contacted", form=lambda w: {}),
        Route("POST", "/cases/<int:case_id>/close", CASES, url=lambda w: f"/cases/{case_id(w)}/close",
              form=lambda w: {"outcome": "resolved", "cause": "technical", "journey_step": "waiting",
                              "note": "Rappelée"}),
        Route("POST", "/cases/<int:case_id>/reassign", ADMIN_ONLY,
              url=lambda w: f"/cases/{case_id(w)}/reassign",
              form=lambda w: {"assignee": str(handler_id(w))},
              notes="and a regional manager for the sites of their region"),
        Route("GET", "/cases/figures", FIGURES, notes="no case and no contact reference"),
        Route("GET", "/cases/irritants", IRRITANTS, notes="counts only, no case"),
        Route("GET", "/feedback/counter", CASES),
        Route("GET", "/feedback/import", CASES),
        Route("POST", "/feedback/import", CASES, form=import_form, status=200,
              notes="the first post shows the preview; nothing is written before the confirmation"),
        Route("POST", "/feedback/counter", CASES, form=counter_form, allowed_redirect="/feedback/counter"),
    ]  # fmt: skip
