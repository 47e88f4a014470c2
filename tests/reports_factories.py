"""A small programme with hand-countable figures for the leadership reports (issue 8).

Two regions: Nord (N1–N4) and Sud (S1, S2). Dates are relative to today.

- Diagnosed (observation session): N1, N2, S1 → 3.
- Pilot "Accueil" decided go: pilot arm N1, N2; control S1 → piloted 2.
- Wave A (stabilising, started 60 days ago, live since 10 days): N1, N2, N3.
  N1: both elements sustained; N2: in place + in progress (50 %, past go-live below 80 %:
  red); N3: both in place. Actual (1 + 0.5 + 1) / 3 = 83.3 %.
- Wave B (deploying, started 20 days ago, go-live in 20 days: 50 % planned): N4, S2.
  N4 nothing done, S2 both in place → actual 50 %, on plan; no visit for 20 days and the
  customer-information milestone (J−30) overdue → alerts → amber.
- So: in a wave 5, live 3 (N1–N3), sustained 1 (N1).
- Coaches: Camille (capacity 1) on N1 and N2 of wave A (over capacity), Dominique
  (capacity 4) on S2 of wave B → 2 coaches, 3 sites, capacity 5, 1 over.
- WAIT measured daily: N1 every day of the last 4 full weeks (28), N2 the first two of those
  weeks (14), N3 once 6 weeks ago only (expected, 0 present), S1–S2 never → completeness
  42 / 84 = 50 %.
- Engagement: N1 4 then 5 (asked to go earlier), N2 2 → Nord: 2 sites, mean 3.5, 1 earlier.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select

from programme.deployment.models import Assignment, ChecklistItem, Engagement, Visit
from programme.extensions import db
from programme.pilots.models import Pilot, PilotDecision, PilotSite
from programme.weeks import week_start
from tests.deployment_factories import make_coach, make_package, make_wave
from tests.diagnostics_factories import make_campaign, make_irritant, make_observation
from tests.factories import make_region, make_site, make_user
from tests.kpi_factories import default_kpis, item, put

TODAY = date.today()
LAST_MONDAY = week_start(TODAY) - timedelta(weeks=1)
WINDOW_START = LAST_MONDAY - timedelta(weeks=3)


@dataclass
class Programme:
    nord_id: int
    sud_id: int
    sites: dict[str, int]
    wave_a_id: int
    wave_b_id: int
    pilot_id: int
    admin_id: int


def _states(wave, site, states: list[str]) -> None:
    items = db.session.scalars(
        select(ChecklistItem)
        .where(ChecklistItem.wave_id == wave.id, ChecklistItem.site_id == site.id)
        .order_by(ChecklistItem.element_id)
    ).all()
    for checklist_item, state in zip(items, states, strict=True):
        checklist_item.state = state
        checklist_item.state_on = TODAY - timedelta(days=5)
    db.session.commit()


def build_programme() -> Programme:
    admin = make_user("admin", email="admin.reports@example.org")
    nord, sud = make_region("Nord"), make_region("Sud")
    sites = {}
    for code in ("N1", "N2", "N3", "N4"):
        sites[code] = make_site(f"NOR-{code}", region=nord, name=f"Agence {code}")
    for code in ("S1", "S2"):
        sites[code] = make_site(f"SUD-{code}", region=sud, name=f"Agence {code}")

    campaign = make_campaign(sites=[sites["N1"], sites["N2"], sites["S1"]], name="Diagnostic 2026")
    irritant = make_irritant(campaign, name="Attente debout")
    make_observation(
        campaign,
        sites["N1"],
        findings=[
            {"severity": 3, "occurrences": 5, "irritant": irritant, "description": "Queue dehors"}
        ],
    )
    make_observation(campaign, sites["N2"], findings=[{"severity": 2, "occurrences": 2}])
    make_observation(campaign, sites["S1"])

    pilot = Pilot(
        name="Accueil",
        stage="decided",
        baseline_start=TODAY - timedelta(days=200),
        baseline_end=TODAY - timedelta(days=171),
        pilot_start=TODAY - timedelta(days=170),
        pilot_end=TODAY - timedelta(days=120),
    )
    pilot.sites = [
        PilotSite(site_id=sites["N1"].id, arm="pilot"),
        PilotSite(site_id=sites["N2"].id, arm="pilot"),
        PilotSite(site_id=sites["S1"].id, arm="control"),
    ]
    pilot.decisions = [
        PilotDecision(
            decision="go",
            reason="Effet net",
            decided_on=TODAY - timedelta(days=100),
            decided_by="admin",
        )
    ]
    db.session.add(pilot)
    db.session.commit()

    package = make_package(2, name="Package accueil")
    wave_a = make_wave(
        package,
        [sites["N1"], sites["N2"], sites["N3"]],
        start=TODAY - timedelta(days=60),
        go_live=TODAY - timedelta(days=10),
        status="stabilising",
        name="Vague A",
    )
    wave_b = make_wave(
        package,
        [sites["N4"], sites["S2"]],
        start=TODAY - timedelta(days=20),
        go_live=TODAY + timedelta(days=20),
        status="deploying",
        name="Vague B",
    )
    _states(wave_a, sites["N1"], ["sustained", "sustained"])
    _states(wave_a, sites["N2"], ["in_place", "in_progress"])
    _states(wave_a, sites["N3"], ["in_place", "in_place"])
    _states(wave_b, sites["S2"], ["in_place", "in_place"])

    start = TODAY - timedelta(days=100)
    camille = make_coach(capacity=1, secondment_start=start, secondment_end=None, name="Camille")
    dominique = make_coach(
        capacity=4, secondment_start=start, secondment_end=None, name="Dominique"
    )
    for wave, site, coach in (
        (wave_a, sites["N1"], camille),
        (wave_a, sites["N2"], camille),
        (wave_b, sites["S2"], dominique),
    ):
        db.session.add(
            Assignment(
                wave_id=wave.id, site_id=site.id, coach_id=coach.id,
                start_on=wave.start, end_on=wave.end,
            )
        )  # fmt: skip
    db.session.add(
        Visit(
            wave_id=wave_a.id,
            site_id=sites["N1"].id,
            coach_id=camille.id,
            visited_on=TODAY - timedelta(days=12),
            duration_minutes=90,
            worked_on="Accueil au flux",
        )
    )
    db.session.add_all(
        [
            Engagement(site_id=sites["N1"].id, score=4, recorded_on=TODAY - timedelta(days=30)),
            Engagement(
                site_id=sites["N1"].id,
                score=5,
                asked_earlier=True,
                recorded_on=TODAY - timedelta(days=3),
            ),
            Engagement(site_id=sites["N2"].id, score=2, recorded_on=TODAY - timedelta(days=3)),
        ]
    )
    db.session.commit()

    default_kpis()
    rows = []
    for i in range(28):
        day = WINDOW_START + timedelta(days=i)
        rows.append(item(sites["N1"], day=day, value=10.0, n=10))
        if i < 14:
            rows.append(item(sites["N2"], day=day, value=20.0, n=30))
    rows.append(item(sites["N3"], day=WINDOW_START - timedelta(weeks=2), value=8.0, n=5))
    put(admin, rows)

    return Programme(
        nord_id=nord.id,
        sud_id=sud.id,
        sites={code: site.id for code, site in sites.items()},
        wave_a_id=wave_a.id,
        wave_b_id=wave_b.id,
        pilot_id=pilot.id,
        admin_id=admin.id,
    )
