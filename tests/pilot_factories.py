"""Test data for pilots: a design with measured sites (plain functions)."""

from __future__ import annotations

from datetime import timedelta

from programme.extensions import db
from programme.pilots import services
from tests.factories import make_region, make_site
from tests.kpi_factories import MONDAY, default_kpis, item, put

# 4 weeks of baseline then 4 weeks of pilot, whole ISO weeks ending last Sunday.
PILOT_END = MONDAY + timedelta(days=6)
PILOT_START = PILOT_END - timedelta(days=27)
BASELINE_END = PILOT_START - timedelta(days=1)
BASELINE_START = BASELINE_END - timedelta(days=27)


def design(
    name="Accueil repensé",
    pilot_sites=("PIL-1", "PIL-2", "PIL-3", "PIL-4"),
    control_sites=("CTL-1", "CTL-2", "CTL-3", "CTL-4"),
    target=-0.2,
    **extra,
) -> services.Design:
    values = dict(
        name=name,
        baseline_start=BASELINE_START,
        baseline_end=BASELINE_END,
        pilot_start=PILOT_START,
        pilot_end=PILOT_END,
        pilot_sites=list(pilot_sites),
        control_sites=list(control_sites),
        kpis=[("WAIT", target)],
        improvements=[("Accueil au flux", "Un conseiller oriente les clients à l'entrée")],
    )
    values.update(extra)
    return services.Design(**values)


def measured_sites(admin, effect=-3.0) -> dict:
    """Four pilot and four control sites with daily WAIT: the pilot sites fall by
    `effect` minutes during the pilot period, the control sites stay put. (Four per arm:
    with three, the randomization test that leads below 10 sites per arm can never reach
    5 %.)"""
    default_kpis()
    region = make_region("Île-de-France")
    sites = {}
    rows = []
    for k, code in enumerate(
        [
            "PIL-1",
            "PIL-2",
            "PIL-3",
            "CTL-1",
            "CTL-2",
            "CTL-3",
            "OTH-1",
            "PIL-4",
            "CTL-4",
        ]
    ):
        site = make_site(code, region, name=f"Agence {code}")
        sites[code] = site
        day = BASELINE_START
        i = 0
        while day <= PILOT_END:
            # CTL-4 sits low so that both arms have the same mean baseline level.
            level = -0.6 if code == "CTL-4" else k * 0.3
            base = 12 + level + (i % 7) * 0.2 + ((i * (k + 1)) % 11) * 0.05
            value = base + (
                effect + 0.1 * (k % 3) if code.startswith("PIL") and day >= PILOT_START else 0
            )
            rows.append(item(site, day=day, value=round(value, 2), n=40 + i % 5))
            day += timedelta(days=1)
            i += 1
    put(admin, rows)
    return sites


def make_pilot(admin, members=(), **extra):
    pilot = services.save_pilot(db.session, design(**extra), user=admin)
    for member in members:
        from programme.pilots.models import PilotMember

        pilot.members.append(PilotMember(user_id=member.id))
    db.session.commit()
    return pilot
