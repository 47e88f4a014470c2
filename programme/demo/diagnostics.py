"""The demo's completed diagnostic campaign: 15 sites, 40 observation sessions, 300 findings
grouped into 10 irritants, determinants for every site, customer voice and a synthesis.

Idempotent (a campaign with the demo name is left alone) and fast: findings, assessments
and customer voice go in with bulk inserts and one summary audit event each."""

from __future__ import annotations

import hashlib
import random
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from programme.audit import record_event
from programme.auth.models import User
from programme.diagnostics import queries
from programme.diagnostics.models import (
    DETERMINANTS,
    JOURNEY_STEPS,
    Campaign,
    DeterminantAssessment,
    Finding,
    Irritant,
    ObservationSession,
    SurveyScore,
    Verbatim,
)
from programme.network.models import Region, Site

DEMO_CAMPAIGN = "Diagnostic in situ — printemps 2026"
START, END = date(2026, 3, 2), date(2026, 4, 10)
REGIONS = (
    "Île-de-France",
    "Auvergne-Rhône-Alpes",
    "Hauts-de-France",
    "Provence-Alpes-Côte d'Azur",
    "Occitanie",
)
SITE_TYPES = ["branch", "shop", "call_centre", "visa_centre"]
CHANNELS = ["in_person", "phone", "digital"]
# 15 sites covering every (site type × channel) combination of the scope, in 5 regions.
SITES = {
    "IDF-001": ["in_person", "in_person"],
    "IDF-004": ["in_person", "phone", "in_person"],
    "IDF-003": ["in_person", "in_person"],
    "VC-PAR": ["in_person", "digital", "in_person"],
    "ARA-001": ["in_person", "in_person", "in_person"],
    "ARA-002": ["in_person", "in_person"],
    "ARA-012": ["in_person", "phone", "in_person"],
    "CC-LYO": ["phone", "digital", "phone"],
    "HDF-001": ["in_person", "in_person", "in_person"],
    "HDF-006": ["in_person", "in_person"],
    "CC-LIL": ["phone", "digital", "phone"],
    "PAC-002": ["in_person", "in_person"],
    "VC-MRS": ["in_person", "digital", "in_person"],
    "OCC-008": ["in_person", "phone", "in_person"],
    "CC-RAB": ["phone", "digital", "phone"],
}

# name, stakes, determinants, weight, channels, [(step, cause, outcome share, severity range,
# description)]
IRRITANTS = [
    (
        "Attente sans information sur le temps restant",
        ["waiting_time", "satisfaction"],
        ["staffing", "tools"],
        10,
        ["in_person"],
        [
            ("waiting", "ergonomic", 0.25, (2, 3), "Aucun affichage du temps d'attente"),
            ("waiting", "relational", 0.3, (2, 4), "Client parti sans être pris en charge"),
            ("waiting", "ergonomic", 0.1, (1, 3), "Ticket d'attente illisible ou absent"),
        ],
    ),
    (
        "Appels non décrochés aux heures de pointe",
        ["pick_up_rate", "satisfaction"],
        ["staffing", "management_routines"],
        9,
        ["phone"],
        [
            ("first_contact", "technical", 0.6, (3, 4), "Appel raccroché après 3 minutes"),
            ("waiting", "ergonomic", 0.3, (2, 3), "Serveur vocal sans estimation d'attente"),
        ],
    ),
    (
        "Accueil absent ou tardif à l'arrivée",
        ["satisfaction", "conversion"],
        ["roles", "space_layout"],
        8,
        ["in_person"],
        [
            ("first_contact", "relational", 0.2, (2, 3), "Personne à l'accueil à l'arrivée"),
            ("first_contact", "relational", 0.1, (1, 2), "Pas de salutation ni de regard"),
        ],
    ),
    (
        "Rendez-vous impossible à obtenir en ligne",
        ["conversion", "waiting_time"],
        ["tools"],
        7,
        ["digital", "phone"],
        [
            ("first_contact", "technical", 0.5, (3, 4), "Aucun créneau proposé en ligne"),
            ("first_contact", "technical", 0.4, (2, 3), "Formulaire en erreur à la validation"),
        ],
    ),
    (
        "Découverte du besoin expédiée",
        ["conversion"],
        ["skills", "objectives"],
        6,
        ["in_person", "phone"],
        [
            ("needs_discovery", "commercial", 0.1, (2, 3), "Produit proposé sans questions"),
            ("advice_sale", "commercial", 0.2, (2, 3), "Offre unique présentée, sans choix"),
        ],
    ),
    (
        "Dossier incomplet découvert au guichet",
        ["first_contact_resolution", "waiting_time"],
        ["tools", "roles"],
        5,
        ["in_person", "digital"],
        [
            ("needs_discovery", "technical", 0.4, (3, 4), "Pièce manquante non signalée avant"),
            ("after_sales", "relational", 0.3, (2, 3), "Client renvoyé revenir un autre jour"),
        ],
    ),
    (
        "Transferts multiples entre conseillers",
        ["first_contact_resolution", "satisfaction"],
        ["roles", "skills"],
        4,
        ["phone", "in_person"],
        [
            ("advice_sale", "relational", 0.2, (2, 3), "Client transféré deux fois ou plus"),
            ("after_sales", "technical", 0.2, (2, 3), "Historique du client introuvable"),
        ],
    ),
    (
        "Paiement bloqué en caisse",
        ["conversion"],
        ["tools"],
        3,
        ["in_person"],
        [
            ("payment", "technical", 0.5, (3, 4), "Terminal de paiement hors service"),
            ("payment", "ergonomic", 0.2, (2, 3), "File unique pour payer et retirer"),
        ],
    ),
    (
        "Pas de suivi après la demande",
        ["first_contact_resolution", "satisfaction"],
        ["management_routines", "objectives"],
        3,
        ["in_person", "phone", "digital"],
        [
            ("follow_up", "relational", 0.3, (2, 3), "Rappel promis non effectué"),
            ("follow_up", "commercial", 0.2, (1, 2), "Aucune confirmation écrite envoyée"),
        ],
    ),
    (
        "Espace d'attente inconfortable et bruyant",
        ["satisfaction"],
        ["space_layout"],
        2,
        ["in_person"],
        [
            ("waiting", "ergonomic", 0.05, (1, 2), "Pas assez de sièges en heure de pointe"),
            ("waiting", "ergonomic", 0.05, (1, 2), "Conversations audibles par les autres"),
        ],
    ),
]

EVIDENCE = {
    "roles": ["Rôle d'accueil non défini", "Accueil tenu à tour de rôle", "Rôles clairs"],
    "staffing": ["Effectif réduit le samedi", "Absences non remplacées", "Effectifs adaptés"],
    "skills": ["Conseillers récents peu formés", "Formation produit datée", "Équipe experte"],
    "space_layout": ["Attente face au guichet", "Pas d'espace confidentiel", "Espace repensé"],
    "tools": ["Outil de RDV lent", "Deux logiciels à ressaisir", "Outils fiables"],
    "objectives": [
        "Objectifs de volume seulement",
        "Pas d'objectif de service",
        "Objectifs mixtes",
    ],
    "management_routines": ["Pas de brief quotidien", "Brief irrégulier", "Brief quotidien suivi"],
}

QUOTES = [
    ("negative", "waiting", "J'ai attendu quarante minutes sans savoir combien de temps encore."),
    ("negative", "first_contact", "Personne ne m'a dit bonjour en entrant."),
    ("negative", "first_contact", "Impossible d'avoir quelqu'un au téléphone le lundi matin."),
    ("negative", "first_contact", "Le site ne propose jamais de rendez-vous avant trois semaines."),
    ("negative", "needs_discovery", "On m'a vendu un produit sans me demander ce que je voulais."),
    (
        "negative",
        "after_sales",
        "On m'a renvoyé chez moi chercher un papier qu'on ne m'avait pas demandé.",
    ),
    ("negative", "follow_up", "On devait me rappeler, je n'ai jamais eu de nouvelles."),
    ("neutral", "payment", "Le paiement s'est fait, mais il a fallu refaire la queue."),
    ("neutral", "advice_sale", "Le conseiller connaissait bien son sujet mais semblait pressé."),
    ("positive", "advice_sale", "Conseillère très claire, j'ai compris toutes les options."),
    ("positive", "first_contact", "Accueil chaleureux, on m'a orienté tout de suite."),
    ("positive", "follow_up", "J'ai reçu un SMS de confirmation le jour même, parfait."),
]

STAKES_TEXT = (
    "Temps d'attente : l'attente sans information est l'irritant le plus répandu en agence.\n"
    "Taux de transformation : la découverte du besoin est trop souvent écourtée.\n"
    "Satisfaction exprimée : les verbatims négatifs portent d'abord sur l'attente et l'accueil.\n"
    "Taux de décroché : les centres de contacts perdent des appels aux heures de pointe."
)
ASPIRATION = (
    "Chaque client est accueilli dans la minute, sait combien de temps il attendra, "
    "et repart avec une réponse ou un rendez-vous daté — quel que soit le canal."
)


def seed_diagnostics(session: Session) -> dict:
    if session.scalar(select(Campaign.id).where(Campaign.name == DEMO_CAMPAIGN)) is not None:
        return {"created": 0}
    sites = {s.code: s for s in session.scalars(select(Site).where(Site.code.in_(list(SITES))))}
    if len(sites) != len(SITES):
        return {"created": 0}  # not the demo network
    users = {u.role: u for u in session.scalars(select(User).order_by(User.id))}
    lead = users.get("diagnostician")
    admin = users.get("admin")
    rnd = random.Random(20260302)

    campaign = Campaign(
        name=DEMO_CAMPAIGN,
        start_date=START,
        end_date=END,
        lead_id=lead.id if lead else None,
        scope_site_types=SITE_TYPES,
        scope_channels=CHANNELS,
        journey_steps=list(JOURNEY_STEPS),
        stakes_text=STAKES_TEXT,
        service_aspiration=ASPIRATION,
    )
    campaign.regions = list(session.scalars(select(Region).where(Region.name.in_(REGIONS))))
    campaign.sites = [sites[code] for code in SITES]
    session.add(campaign)
    session.flush()

    irritants = []
    for name, stakes, determinants, *_rest in IRRITANTS:
        irritant = Irritant(
            campaign_id=campaign.id, name=name, stakes=stakes, determinants=determinants
        )
        session.add(irritant)
        irritants.append(irritant)
    session.flush()

    # 40 sessions on weekdays across the period; 300 findings (7 or 8 per session).
    weekdays = [
        START + timedelta(days=d)
        for d in range((END - START).days + 1)
        if (START + timedelta(days=d)).weekday() < 5
    ]
    observations = []
    for code, channels in SITES.items():
        for channel in channels:
            observer = lead if (admin is None or len(observations) % 4) else admin
            start_hour = rnd.choice([9, 10, 11, 14, 15, 16])
            low, high = {"in_person": (12, 30), "phone": (25, 60), "digital": (15, 40)}[channel]
            observations.append(
                ObservationSession(
                    campaign_id=campaign.id,
                    site_id=sites[code].id,
                    observer_id=observer.id if observer else None,
                    observed_on=weekdays[(len(observations) * 7) % len(weekdays)],
                    start_time=time(start_hour, 0),
                    end_time=time(start_hour + 2, 0),
                    channel=channel,
                    interactions=rnd.randint(low, high),
                )
            )
    session.add_all(observations)
    session.flush()

    rows = []
    for number, observation in enumerate(observations):
        wanted = 8 if number % 2 else 7
        candidates = [
            (irritant, spec)
            for irritant, spec in zip(irritants, IRRITANTS, strict=True)
            if observation.channel in spec[4]
        ]
        weights = [spec[3] for _i, spec in candidates]
        for position in range(1, wanted + 1):
            irritant, spec = rnd.choices(candidates, weights=weights)[0]
            step, cause, drop_share, (low, high), description = rnd.choice(spec[5])
            share = rnd.uniform(0.05, 0.45) * spec[3] / 10 + 0.02
            rows.append(
                {
                    "session_id": observation.id,
                    "position": position,
                    "journey_step": step,
                    "description": description,
                    "outcome": "drop_off" if rnd.random() < drop_share else "degraded",
                    "cause": cause,
                    "severity": rnd.randint(low, high),
                    "occurrences": max(
                        1, min(observation.interactions, round(share * observation.interactions))
                    ),
                    # about one finding in twelve is left for the diagnosticians to group
                    "irritant_id": None if rnd.random() < 0.08 else irritant.id,
                }
            )
    session.execute(insert(Finding), rows)

    assessments = []
    for site in sites.values():
        for key in DETERMINANTS:
            score = rnd.choices([1, 2, 3, 4, 5], weights=[2, 4, 4, 3, 1])[0]
            texts = EVIDENCE[key]
            text = texts[0] if score <= 2 else texts[1] if score == 3 else texts[2]
            assessments.append(
                {
                    "campaign_id": campaign.id,
                    "site_id": site.id,
                    "determinant": key,
                    "score": score,
                    "evidence": f"{text}.",
                    "assessed_by_id": lead.id if lead else None,
                }
            )
    session.execute(insert(DeterminantAssessment), assessments)

    verbatims = []
    for index in range(60):
        code = list(SITES)[index % len(SITES)]
        sentiment, step, quote = QUOTES[(index * 5) % len(QUOTES)]
        channel = SITES[code][index % len(SITES[code])]
        collected = weekdays[(index * 3) % len(weekdays)]
        verbatims.append(
            {
                "campaign_id": campaign.id,
                "site_id": sites[code].id,
                "quote": quote,
                "channel": channel,
                "journey_step": step,
                "sentiment": sentiment,
                "collected_on": collected,
                "fingerprint": hashlib.sha256(f"demo|{index}".encode()).hexdigest(),
            }
        )
    session.execute(insert(Verbatim), verbatims)
    scores = [
        {
            "campaign_id": campaign.id,
            "site_id": site.id,
            "survey": "Satisfaction à chaud",
            "period_end": date(2026, 3, 31),
            "score": round(rnd.uniform(5.8, 8.6), 1),
            "scale_max": 10.0,
            "respondents": rnd.randint(40, 320),
        }
        for site in sites.values()
    ]
    session.execute(insert(SurveyScore), scores)
    session.flush()

    cover = queries.coverage(session, campaign)
    if cover.complete:
        campaign.completed_at = datetime.combine(END, time(18, 0), UTC)
        campaign.completed_by_id = admin.id if admin else None
    record_event(
        session,
        "diagnostic_campaign",
        "seed",
        f"demo campaign: {len(observations)} sessions, {len(rows)} findings, "
        f"{len(assessments)} determinant scores, {len(verbatims)} verbatims",
        entity_id=str(campaign.id),
    )
    session.flush()
    return {
        "created": 1,
        "sessions": len(observations),
        "findings": len(rows),
        "complete": cover.complete,
    }


# --- a campaign in progress, for the diagnostician to carry on --------------------------------

CAMPAIGN_IN_PROGRESS = "Diagnostic in situ — Bretagne et Grand Est"
IN_PROGRESS_REGIONS = ("Bretagne", "Grand Est")
IN_PROGRESS_SITES = ("BRE-001", "BRE-003", "BRE-004", "BRE-012", "GES-010", "GES-012")
# (site, days before today, findings: (step, cause, outcome, severity, occurrences, text))
IN_PROGRESS_SESSIONS = (
    (
        "BRE-001",
        12,
        [
            ("waiting", "ergonomic", "degraded", 3, 6, "Aucun affichage du temps d'attente"),
            ("first_contact", "relational", "drop_off", 3, 2, "Client reparti sans être accueilli"),
            ("payment", "technical", "degraded", 2, 3, "Terminal de paiement hors service"),
        ],
    ),
    (
        "BRE-003",
        8,
        [
            ("advice_sale", "commercial", "degraded", 2, 4, "Offre présentée avant le besoin"),
            ("waiting", "ergonomic", "degraded", 2, 5, "File unique pour tous les motifs"),
        ],
    ),
    (
        "GES-010",
        5,
        [
            ("needs_discovery", "relational", "degraded", 3, 5, "Découverte du besoin écourtée"),
            ("follow_up", "commercial", "drop_off", 2, 2, "Rappel promis jamais fait"),
        ],
    ),
    ("BRE-004", 1, []),  # observed yesterday, findings still to record
)


def seed_campaign_in_progress(session: Session, today: date | None = None) -> dict:
    """A campaign that started three weeks ago and runs three more, led by the demo
    diagnostician: four sessions so far (the last one without findings yet), and the
    phone channel still to observe, so the diagnostician has something to do today.
    Idempotent (skipped by name)."""
    if session.scalar(select(Campaign.id).where(Campaign.name == CAMPAIGN_IN_PROGRESS)):
        return {"created": 0}
    sites = {
        s.code: s
        for s in session.scalars(select(Site).where(Site.code.in_(list(IN_PROGRESS_SITES))))
    }
    lead = session.scalar(select(User).where(User.role == "diagnostician").order_by(User.id))
    if len(sites) != len(IN_PROGRESS_SITES) or lead is None:
        return {"created": 0}
    today = today or date.today()
    campaign = Campaign(
        name=CAMPAIGN_IN_PROGRESS,
        start_date=today - timedelta(days=21),
        end_date=today + timedelta(days=21),
        lead_id=lead.id,
        scope_site_types=["branch", "shop"],
        scope_channels=["in_person", "phone"],
        journey_steps=list(JOURNEY_STEPS),
    )
    campaign.regions = list(
        session.scalars(select(Region).where(Region.name.in_(IN_PROGRESS_REGIONS)))
    )
    campaign.sites = [sites[code] for code in IN_PROGRESS_SITES]
    session.add(campaign)
    for code, days_ago, findings in IN_PROGRESS_SESSIONS:
        observation = ObservationSession(
            campaign=campaign,
            site_id=sites[code].id,
            observer_id=lead.id,
            observed_on=today - timedelta(days=days_ago),
            start_time=time(10, 0),
            end_time=time(12, 0),
            channel="in_person",
            interactions=24,
        )
        for position, (step, cause, outcome, severity, occurrences, text) in enumerate(
            findings, start=1
        ):
            observation.findings.append(
                Finding(
                    position=position,
                    journey_step=step,
                    description=text,
                    outcome=outcome,
                    cause=cause,
                    severity=severity,
                    occurrences=occurrences,
                )
            )
        session.add(observation)
    session.flush()
    return {"created": 1, "sessions": len(IN_PROGRESS_SESSIONS)}
