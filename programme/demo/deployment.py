"""Demo deployment: the first demo pilot's package rolled out in 4 waves over 100 sites by 8
coaches (the sites of programme/demo/plan.py), with a year of visits and progress. Wave 1 is closed and sustained, wave 2 is
behind (past go-live, several sites below 80 %), wave 3 is ahead of plan, wave 4 is being
prepared (its managers ask to go earlier); one coach, Marc, carries 6 sites for a capacity
of 4. Dates are relative to today. Bulk Core inserts keep it fast; idempotent (nothing is
done when wave 1 exists)."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from programme.audit import record_event
from programme.auth.models import User
from programme.database import utcnow
from programme.demo.pilots import FIRST
from programme.demo.plan import WAVES
from programme.demo.plan import wave_sites as plan_sites
from programme.deployment.models import (
    DEFAULT_MILESTONES,
    Assignment,
    ChecklistItem,
    Coach,
    CoachTraining,
    Engagement,
    Milestone,
    ProgressEvent,
    Visit,
    Wave,
    WaveSite,
    coach_region,
)
from programme.network.models import Person
from programme.pilots.models import Package, PackageElement, Pilot

COACHES = (
    ("Sophie Martin", "coach@demo.programme.fr"),
    ("Karim Benali", None),
    ("Élodie Perrin", None),
    ("Thomas Girard", None),
    ("Nadia Haddad", None),
    ("Julie Lefèvre", None),
    ("Antoine Roussel", None),
    ("Marc Dubois", None),  # the overloaded one
)
MODULES = ("Conduite du changement", "Posture de coach terrain", "Animation managériale")
STATES = ("not_started", "in_progress", "in_place", "sustained")


def seed_deployment(session: Session, today: date | None = None) -> dict:
    if session.scalar(select(Wave.id).where(Wave.name == WAVES[0][0])) is not None:
        return {"created": 0}
    package_id = session.scalar(
        select(Package.id).join(Pilot, Pilot.id == Package.pilot_id).where(Pilot.name == FIRST)
    )
    if package_id is None:
        return {"created": 0}
    elements = list(
        session.scalars(
            select(PackageElement.id)
            .where(PackageElement.package_id == package_id)
            .order_by(PackageElement.id)
        )
    )
    # The plan's sites (programme/demo/plan.py): the measurements carry the package's
    # effect from each of these sites' go-live.
    sites = [(site_id, region_id) for site_id, region_id, _code in plan_sites(session)]
    if not elements or len(sites) < 40:
        return {"created": 0}
    today = today or date.today()
    rnd = np.random.default_rng(20261123)
    now = utcnow()
    admin = session.scalar(select(User.id).where(User.role == "admin").order_by(User.id))

    # Coaches: Sophie has the demo coach account; the others are people without accounts.
    coach_ids = []
    region_ids = sorted({r for _s, r in sites})
    for i, (name, email) in enumerate(COACHES):
        user_id = session.scalar(select(User.id).where(User.email == email)) if email else None
        person = session.execute(
            insert(Person).values(full_name=name, job_title="Coach terrain", created_at=now,
                                  updated_at=now)
        ).inserted_primary_key[0]  # fmt: skip
        coach = session.execute(
            insert(Coach).values(person_id=person, user_id=user_id, home_site_id=sites[i * 7][0],
                                 secondment_start=today - timedelta(days=380),
                                 secondment_end=today + timedelta(days=365), capacity=4,
                                 created_at=now, updated_at=now)
        ).inserted_primary_key[0]  # fmt: skip
        coach_ids.append(coach)
        session.execute(
            insert(CoachTraining),
            [{"coach_id": coach, "module": m, "completed_on": today - timedelta(days=390 - 7 * k)}
             for k, m in enumerate(MODULES)],
        )  # fmt: skip
        session.execute(
            insert(coach_region),
            [{"coach_id": coach, "region_id": region_ids[(i + k) % len(region_ids)]}
             for k in range(2)],
        )  # fmt: skip

    items, events, visits, assignments, engagements, milestones = [], [], [], [], [], []
    offset = 0
    for w, (name, start_days, go_days, status, size) in enumerate(WAVES):
        start, go_live = today + timedelta(days=start_days), today + timedelta(days=go_days)
        end = go_live + timedelta(days=30)
        # Wave 2's coaches left at go-live for wave 3: its stabilisation runs without them.
        coached_until = go_live if w == 1 else end
        wave_id = session.execute(
            insert(Wave).values(name=name, package_id=package_id, start=start, go_live=go_live,
                                status=status, version=1, created_at=now, updated_at=now)
        ).inserted_primary_key[0]  # fmt: skip
        wave_sites = sites[offset : offset + size]
        offset += size
        session.execute(
            insert(WaveSite), [{"wave_id": wave_id, "site_id": s} for s, _r in wave_sites]
        )
        for kind, days, audience in DEFAULT_MILESTONES:
            due = go_live + timedelta(days=days)
            # Wave 2 has not ticked its go-live communication: an overdue milestone.
            done = due if due <= today and not (w == 1 and kind == "go_live") else None
            milestones.append({"wave_id": wave_id, "kind": kind, "offset_days": days,
                               "audience": audience, "done_on": done})  # fmt: skip
        for n, (site_id, _region) in enumerate(wave_sites):
            # Coaches: Marc (the last) takes 6 sites of wave 3; the others share the rest.
            if w == 2 and n < 6:
                coach = coach_ids[-1]
            else:
                coach = coach_ids[n % (len(coach_ids) - (1 if w == 2 else 0))]
            assignments.append({"wave_id": wave_id, "site_id": site_id, "coach_id": coach,
                                "start_on": start, "end_on": coached_until})  # fmt: skip
            # Progress: how far each element got, by wave.
            for e, element_id in enumerate(elements):
                if w == 0:
                    reached = 3 if rnd.random() < 0.8 else 2
                elif w == 1:
                    reached = int(rnd.choice([1, 2, 2, 3], p=[0.35, 0.35, 0.2, 0.1]))
                elif w == 2:
                    reached = int(rnd.choice([1, 2, 2], p=[0.25, 0.5, 0.25]))
                else:
                    reached = 0
                span = max((min(end, today) - start).days, 1)
                day = start + timedelta(days=int(span * (0.2 + 0.15 * e)))
                items.append({"wave_id": wave_id, "site_id": site_id, "element_id": element_id,
                              "state": STATES[reached], "version": 1 + reached,
                              "state_on": min(day + timedelta(days=14 * reached), today) if reached else None,
                              "updated_by": COACHES[coach_ids.index(coach)][0] if reached else None})  # fmt: skip
            # Weekly visits from the start to the end (or today); two sites of wave 3 lapse.
            last = min(coached_until, today)
            if w == 2 and n in (7, 8):
                last = today - timedelta(days=20)
            day = start + timedelta(days=int(rnd.integers(0, 5)))
            while day <= last and w < 3:
                if rnd.random() < 0.85:
                    blocker = rnd.random() < 0.2
                    visits.append({
                        "wave_id": wave_id, "site_id": site_id, "coach_id": coach, "visited_on": day,
                        "duration_minutes": int(rnd.choice([60, 90, 120, 180])),
                        "worked_on": "Accueil au flux, point flux du matin avec l'équipe",
                        "blocker_category": str(rnd.choice(["staffing", "tools", "management"])) if blocker else None,
                        "blockers": "Effectif réduit cette semaine" if blocker else None,
                        "next_visit_on": day + timedelta(days=7), "created_at": now,
                    })  # fmt: skip
                day += timedelta(days=7)
            # Engagement: managers of wave 4 ask to go earlier, the surest sign of success.
            if w < 3 or n % 3 == 0:
                score = (
                    int(rnd.choice([2, 3, 4, 4, 5, 5])) if w != 1 else int(rnd.choice([2, 3, 3, 4]))
                )
                engagements.append({"site_id": site_id, "score": score,
                                    "recorded_on": min(start + timedelta(days=21), today),
                                    "asked_earlier": w == 3 or (w == 0 and n % 4 == 0),
                                    "note": "Demande à basculer plus tôt" if w == 3 else None,
                                    "created_at": now, "recorded_by_id": admin})  # fmt: skip
    session.execute(insert(Milestone), milestones)
    session.execute(insert(Assignment), assignments)
    session.execute(insert(ChecklistItem), items)
    session.execute(insert(Visit), visits)
    session.execute(insert(Engagement), engagements)

    # History: one event per step reached, plus two regressions in wave 2.
    rows = session.execute(
        select(ChecklistItem.id, ChecklistItem.state, ChecklistItem.state_on, ChecklistItem.updated_by)
        .join(Wave, Wave.id == ChecklistItem.wave_id)
        .where(Wave.package_id == package_id, ChecklistItem.state != "not_started")
    ).all()  # fmt: skip
    for item_id, state, state_on, by in rows:
        reached = STATES.index(state)
        for step in range(1, reached + 1):
            events.append({"item_id": item_id, "from_state": STATES[step - 1], "to_state": STATES[step],
                           "happened_on": state_on - timedelta(days=14 * (reached - step)),
                           "by": by or "seed-demo", "created_at": now})  # fmt: skip
    regressed = [r for r in rows if r[1] == "in_progress"][:2]
    for item_id, _state, state_on, by in regressed:
        events.append(
            {
                "item_id": item_id,
                "from_state": "in_progress",
                "to_state": "in_place",
                "happened_on": state_on + timedelta(days=1),
                "by": by or "seed-demo",
                "created_at": now,
            }
        )
        events.append({"item_id": item_id, "from_state": "in_place", "to_state": "in_progress",
                       "happened_on": state_on + timedelta(days=8), "by": by or "seed-demo",
                       "note": "Nouvelle équipe d'accueil : la routine n'est plus tenue.", "created_at": now})  # fmt: skip
    session.execute(insert(ProgressEvent), events)
    record_event(
        session,
        entity="wave",
        action="seed",
        summary=f"Demo deployment: {len(WAVES)} waves, {offset} sites, {len(COACHES)} coaches, "
        f"{len(visits)} visits.",
    )
    session.flush()
    return {"created": len(WAVES), "sites": offset, "visits": len(visits)}
