"""Demo pilots: "Accueil au flux" (4 pilot + 4 control sites, waiting time carries the
planted −25 % of programme/demo/kpis.py; decided "go", with its package) and "Conseil
augmenté" (3 + 3 sites, conversion, no planted effect). Idempotent: skipped by name."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from programme.auth.models import User
from programme.demo.diagnostics import DEMO_CAMPAIGN
from programme.demo.kpis import PLANTED_SITES, demo_periods
from programme.demo.plan import FIRST_CONTROL_SITES
from programme.diagnostics.models import Campaign, Irritant
from programme.kpis.models import Kpi, Measurement
from programme.pilots import services
from programme.pilots.models import Pilot

FIRST = "Accueil au flux et rendez-vous"
SECOND = "Conseil augmenté en agence"
FIRST_IRRITANTS = (
    "Attente sans information sur le temps restant",
    "Accueil absent ou tardif à l'arrivée",
    "Rendez-vous impossible à obtenir en ligne",
)

PACKAGE_ELEMENTS = (
    (
        "process",
        "Accueil au flux",
        "Un conseiller accueille chaque client à l'entrée, qualifie sa demande et l'oriente "
        "(guichet, conseiller, automate) en moins d'une minute.",
        "train",
    ),
    (
        "tool",
        "Prise de rendez-vous en ligne",
        "Créneaux de 30 minutes réservables en ligne jusqu'à 15 jours avant, rappel par SMS "
        "la veille.",
        "prepare",
    ),
    (
        "indicator",
        "Temps d'attente affiché",
        "Temps d'attente mesuré par le système de file d'attente, suivi chaque jour et affiché "
        "en agence.",
        "go_live",
    ),
    (
        "routine",
        "Point flux de 10 minutes",
        "Chaque matin, le directeur d'agence revoit avec l'équipe l'attente de la veille et "
        "ajuste l'organisation de l'accueil.",
        "coach",
    ),
)
PULSES = (5, 4, 4, 5, 3, 4, 5, 4, 4, 2, 5, 4)


def seed_pilots(session: Session) -> dict:
    if session.scalar(select(Pilot.id).where(Pilot.name == FIRST)) is not None:
        return {"created": 0}
    admin = session.scalar(select(User).where(User.role == "admin").order_by(User.id))
    wait = session.scalar(select(Kpi.id).where(Kpi.code == "WAIT"))
    if admin is None or wait is None:
        return {"created": 0}
    # The demo data end (one index lookup): the pilots sit on the seeded measurements.
    end = session.scalar(
        select(func.max(Measurement.period_date)).where(Measurement.kpi_id == wait)
    )
    if end is None:
        return {"created": 0}
    baseline_start, baseline_end, pilot_start, pilot_end = demo_periods(end)
    team = session.scalar(select(User).where(User.role == "pilot_team").order_by(User.id))
    members = [team.id] if team else []
    # The demo campaign's irritants the first pilot addresses (their recent frequency, from
    # findings and closed customer cases, shows on its page).
    addressed = list(
        session.scalars(
            select(Irritant.id)
            .join(Campaign, Campaign.id == Irritant.campaign_id)
            .where(Campaign.name == DEMO_CAMPAIGN, Irritant.name.in_(FIRST_IRRITANTS))
        )
    )

    first = services.save_pilot(
        session,
        services.Design(
            name=FIRST,
            description="Réduire l'attente en agence : accueil au flux et rendez-vous en ligne.",
            stakes="Temps d'attente, satisfaction exprimée",
            baseline_start=baseline_start,
            baseline_end=baseline_end,
            pilot_start=pilot_start,
            pilot_end=pilot_end,
            pilot_sites=list(PLANTED_SITES),
            control_sites=list(FIRST_CONTROL_SITES),
            kpis=[("WAIT", -0.2), ("CSAT", 0.05)],
            improvements=[
                ("Accueil au flux", "Un conseiller oriente chaque client dès l'entrée."),
                ("Rendez-vous en ligne", "Créneaux réservables 15 jours à l'avance."),
            ],
            supporting_functions=["it", "hr", "real_estate"],
            member_ids=members,
            irritant_ids=addressed,
            stage="decided",
        ),
        user=admin,
    )
    for i, score in enumerate(PULSES):
        services.add_pulse(session, first, score, None, first.site_ids("pilot")[i % 4],
                           pilot_end - timedelta(days=i), team or admin)  # fmt: skip
    services.decide(
        session,
        first,
        "go",
        "Attente en baisse de plus de 20 % par rapport aux sites témoins, intervalle de "
        "confiance sous zéro, et 3 équipes sur 4 disent que leur travail s'est amélioré.",
        pilot_end + timedelta(days=1),
        team or admin,
    )
    package = services.ensure_package(session, first)
    for kind, title, description, step in PACKAGE_ELEMENTS:
        services.add_element(session, package, kind, title, description, step)

    services.save_pilot(
        session,
        services.Design(
            name=SECOND,
            description="Mieux découvrir le besoin avant de proposer : guide d'entretien.",
            stakes="Taux de transformation",
            baseline_start=baseline_start,
            baseline_end=baseline_end,
            pilot_start=pilot_start,
            pilot_end=pilot_end,
            pilot_sites=["HDF-001", "HDF-002", "HDF-004"],
            control_sites=["HDF-005", "HDF-007", "HDF-008"],
            kpis=[("CONV", 0.1)],
            improvements=[("Guide de découverte du besoin", None)],
            supporting_functions=["hr"],
            member_ids=members,
            stage="evaluating",
            start_reason=(
                "Trois agences seulement étaient prêtes : essai d'abord qualitatif, l'effet "
                "ne pourra pas être prouvé à 5 % avec 3 sites pilotes et 3 sites témoins."
            ),
        ),
        user=admin,
    )
    session.flush()
    return {"created": 2}
