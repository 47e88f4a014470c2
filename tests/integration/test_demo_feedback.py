"""The demo's year of feedback: cases for the demo managers, measures, idempotent."""

from __future__ import annotations

from flask_babel import force_locale
from sqlalchemy import func, select

from programme.auth.models import User
from programme.demo import seed_demo
from programme.feedback.models import FeedbackCase, FeedbackResponse
from programme.feedback.queries import case_rows
from programme.kpis.models import Kpi, Measurement


def test_demo_feedback(app, session):
    with app.test_request_context(), force_locale("en"):
        report = seed_demo(session, "Demo-password-42")
        session.commit()
        feedback = report["feedback"]
        assert feedback["created"] > 1000
        assert 0 < feedback["closed"] < feedback["cases_opened"]
        assert session.scalar(
            select(func.count())
            .select_from(FeedbackResponse)
            .where(FeedbackResponse.contact_consent.is_(False))
        )
        assert session.scalar(
            select(func.count()).select_from(FeedbackResponse).where(FeedbackResponse.complaint)
        )
        manager = session.scalar(select(User).where(User.email == "manager@demo.programme.fr"))
        rows = case_rows(session, manager)
        assert {r.site_code for r in rows} == {"GES-010"}
        open_rows = [r for r in rows if r.status == "open"]
        assert open_rows and any(r.overdue for r in open_rows)
        assert all(r.status == "closed" for r in rows if r not in open_rows)
        regional = session.scalar(select(User).where(User.email == "region@demo.programme.fr"))
        assert {r.site_code for r in case_rows(session, regional)} == {"BRE-001", "BRE-002"}
        linked = session.scalar(
            select(func.count())
            .select_from(FeedbackCase)
            .where(FeedbackCase.irritant_id.is_not(None))
        )
        assert linked > 0
        nps = session.scalar(
            select(func.count())
            .select_from(Measurement)
            .join(Kpi, Kpi.id == Measurement.kpi_id)
            .where(Kpi.code == "NPS", Measurement.source == "feedback")
        )
        assert nps >= 5 * 50

        again = seed_demo(session, "Demo-password-42")
        assert again["feedback"] == {"created": 0}
