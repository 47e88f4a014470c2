"""The demo's pilots: the planted improvement shows with an interval that excludes zero and
"target reached"; the second pilot shows no clear effect; the package is there; idempotent."""

from __future__ import annotations

from flask_babel import force_locale
from sqlalchemy import func, select

from programme.demo import seed_demo
from programme.demo.pilots import FIRST, SECOND
from programme.pilots import services
from programme.pilots.models import Package, Pilot


def test_demo_pilots(app, session):
    with app.test_request_context(), force_locale("en"):
        seed_demo(session, "Demo-password-1")
        session.commit()
        first = session.scalars(select(Pilot).where(Pilot.name == FIRST)).one()
        second = session.scalars(select(Pilot).where(Pilot.name == SECOND)).one()
        assert len(first.site_ids("pilot")) == 4 and len(first.site_ids("control")) == 4
        assert (first.pilot_end - first.pilot_start).days + 1 == 12 * 7
        assert (first.baseline_end - first.baseline_start).days + 1 == 12 * 7

        wait = next(r for r in services.pilot_results(session, first) if r.kpi_code == "WAIT")
        assert wait.ci_high < 0 and wait.target_reached
        assert wait.relative_effect <= -0.2
        assert "target -20% reached" in wait.reading
        assert wait.leading == "randomization" and wait.randomization.p_value < 0.05

        (conv,) = services.pilot_results(session, second)
        assert conv.ci_low < 0 < conv.ci_high and not conv.target_reached
        # 3 + 3 sites: the randomization test leads and can never reach 5 % (min p = 2/20).
        assert conv.leading == "randomization" and conv.randomization.min_p == 0.1
        assert "the smallest p-value this design can ever give is 0.1" in conv.reading
        assert "Welch's t-test, shown beside:" in conv.reading

        assert first.decision.decision == "go"
        assert {e.kind for e in first.package.elements} == {
            "process",
            "tool",
            "indicator",
            "routine",
        }
        assert services.team_feel(session, first.id).answers == 12

        seed_demo(session, "Demo-password-1")
        session.commit()
        assert session.scalar(select(func.count(Pilot.id))) == 2
        assert session.scalar(select(func.count(Package.id))) == 1
