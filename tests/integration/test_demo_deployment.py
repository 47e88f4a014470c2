"""The demo's deployment: the first pilot's package in 4 waves over 100 sites with 8 coaches
and a year of visits; wave 3 ahead of wave 2, wave 2 behind (late sites), one coach over
capacity, wave 4's managers asking to go earlier; idempotent."""

from __future__ import annotations

from collections import Counter
from datetime import date

from flask_babel import force_locale
from sqlalchemy import func, select

from programme.demo import seed_demo
from programme.demo.pilots import FIRST
from programme.deployment import services
from programme.deployment.models import Coach, Engagement, Visit, Wave, WaveSite
from programme.network.models import Site
from programme.pilots.models import Pilot


def test_demo_deployment(app, session):
    with app.test_request_context(), force_locale("en"):
        seed_demo(session, "Demo-password-1")
        session.commit()
        waves = list(session.scalars(select(Wave).order_by(Wave.start)))
        package = session.scalars(select(Pilot).where(Pilot.name == FIRST)).one().package
        assert len(waves) == 4 and {w.package_id for w in waves} == {package.id}
        assert session.scalar(select(func.count()).select_from(WaveSite)) == 100
        assert session.scalar(select(func.count()).select_from(Coach)) == 8
        first_visit, last_visit = session.execute(
            select(func.min(Visit.visited_on), func.max(Visit.visited_on))
        ).one()
        assert (last_visit - first_visit).days > 300

        progress = services.wave_progress(session)
        closed, behind, ahead, preparing = (progress.get(w.id, 0.0) for w in waves)
        assert closed == 1.0 and preparing == 0.0
        assert ahead > behind and behind < 0.8

        kinds = Counter(a.kind for a in services.alerts(session, date.today()))
        assert kinds["late_site"] >= 5 and kinds["over_capacity"] == 1
        assert kinds["regression"] == 2 and kinds["milestone_overdue"] == 1
        assert session.scalar(
            select(func.count()).select_from(Engagement).where(Engagement.asked_earlier)
        ) > 5  # fmt: skip
        # The demo coach account is one of the coaches, with sites in the deploying wave.
        sophie = session.scalar(select(Coach).where(Coach.user_id.is_not(None)))
        from programme.auth.models import User

        account = session.get(User, sophie.user_id)
        assert account.email == "coach@demo.programme.fr"
        mine = services.coach_site_ids(session, account)
        deploying = {ws.site_id for ws in waves[2].sites}
        assert len(mine & deploying) == 3

        # The roll-out tells the pilot's story: the package's −25 % on waiting time was
        # planted at every deployed site from its go-live, so what deployed sites achieve
        # agrees with the pilot (same direction, a clear effect, close in size).
        from programme.pilots.services import pilot_results
        from programme.reports.impact import compute_impact

        pilot = next(r for r in pilot_results(session, package.pilot) if r.kpi_code == "WAIT")
        impact = compute_impact(session, "WAIT", package.id, resamples=200)
        assert impact.clear_effect and impact.favourable
        assert impact.estimate < 0 and pilot.effect < 0
        assert 0.6 < impact.estimate / pilot.effect < 1.6, (impact.estimate, pilot.effect)
        # No pilot site, and no control site, is in a wave.
        codes = set(session.scalars(select(Site.code).join(WaveSite, WaveSite.site_id == Site.id)))
        from programme.demo.plan import FIRST_CONTROL_SITES, FIRST_PILOT_SITES

        assert not codes & {*FIRST_PILOT_SITES, *FIRST_CONTROL_SITES}

        before = session.scalar(select(func.count()).select_from(Visit))
        assert seed_demo(session, "Demo-password-1")["deployment"] == {"created": 0}
        assert session.scalar(select(func.count()).select_from(Visit)) == before

        # The package is valued for finance and the executives: waiting time as revenue
        # (€ per minute less per customer received), satisfaction without money; gates up
        # to L4, so planned is frozen and actuals accrue. Value to date reads as money with
        # its interval, and the actual lies inside P10–P90 of the months that have ended.
        from programme.reports.value import value_to_date
        from programme.value.models import ValueDriver
        from programme.value.services import current_gate, planned_is_frozen

        drivers = {d.kpi.code: d for d in session.scalars(select(ValueDriver))}
        assert set(drivers) == {"WAIT", "CSAT"}
        assert drivers["WAIT"].financial and not drivers["CSAT"].financial
        assert drivers["WAIT"].volume_kpi.code == "VISITS"
        assert current_gate(session, package.id) == "L4" and planned_is_frozen(session, package.id)
        to_date = value_to_date(session)
        assert to_date["actual"] > 0 and to_date["planned"] > 0
        assert to_date["p10"] < to_date["p90"]
        assert seed_demo(session, "Demo-password-1")["value"] == {"drivers": 0}
        assert session.scalar(select(func.count()).select_from(ValueDriver)) == 2
