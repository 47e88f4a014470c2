"""The demo gives every role something to do: a diagnostic campaign in progress for the
diagnostician (sessions they may edit, combinations still to observe), a site manager whose
site is in a wave, a regional manager who sees their region's campaign (issue 16)."""

from __future__ import annotations

from datetime import date

from flask_babel import force_locale
from sqlalchemy import func, select

from programme.auth.models import User
from programme.demo import seed_demo
from programme.demo.diagnostics import CAMPAIGN_IN_PROGRESS
from programme.diagnostics import queries
from programme.diagnostics.models import Campaign, ObservationSession
from programme.home import services as home


def test_demo_has_work_for_the_diagnostician_and_the_managers(app, session):
    with app.test_request_context(), force_locale("en"):
        seed_demo(session, "Demo-password-1")
        session.commit()
        campaign = session.scalars(
            select(Campaign).where(Campaign.name == CAMPAIGN_IN_PROGRESS)
        ).one()
        assert not campaign.completed
        assert campaign.start_date < date.today() < campaign.end_date
        diagnostician = session.scalars(select(User).where(User.role == "diagnostician")).first()
        mine = session.scalar(
            select(func.count(ObservationSession.id)).where(
                ObservationSession.campaign_id == campaign.id,
                ObservationSession.observer_id == diagnostician.id,
            )
        )
        assert mine == 4
        assert queries.coverage(session, campaign).missing_cells  # the phone channel

        today = date.today()
        lines = home.lines_for(session, diagnostician, today)
        assert any(line.kind == "coverage" for line in lines)
        assert any(line.kind == "session_empty" for line in lines)

        manager = session.scalars(
            select(User).where(User.email == "manager@demo.programme.fr")
        ).one()
        lines, panel = home.site_manager_today(session, manager, today)
        assert panel is not None and panel.wave is not None and panel.items_total
        assert any(line.kind == "late_site" for line in lines)
        regional = session.scalars(
            select(User).where(User.email == "region@demo.programme.fr")
        ).one()
        names = [c.name for c, _s, _f in home.visible_campaigns(session, regional)]
        assert CAMPAIGN_IN_PROGRESS in names

        coach = session.scalars(select(User).where(User.email == "coach@demo.programme.fr")).one()
        assert home.coach_today(session, coach, today)[1]

        seed_demo(session, "Demo-password-1")
        session.commit()
        assert (
            session.scalar(
                select(func.count(Campaign.id)).where(Campaign.name == CAMPAIGN_IN_PROGRESS)
            )
            == 1
        )
