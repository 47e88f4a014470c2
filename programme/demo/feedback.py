"""Demo feedback: a year of survey answers at five demo sites (detractors, customers who
agreed to be called back and others, complaints), through the one intake; most cases
closed with a cause (often linked to the demo campaign's irritants), and recent ones still
open, some past due, for the demo site manager (GES-010) and the Bretagne regional manager."""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from programme.database import utcnow
from programme.demo.diagnostics import DEMO_CAMPAIGN
from programme.diagnostics.models import CAUSES, Campaign, Irritant
from programme.feedback import services
from programme.feedback.models import FeedbackCase, FeedbackResponse, as_utc
from programme.network.models import Site

SOURCE = "demo-survey"
SITES = {"ARA-001": 6, "ARA-002": 4, "BRE-001": 5, "BRE-002": 3, "CC-LYO": 5, "GES-010": 4}
# (answers a week) GES-010 is the demo site manager's site.
MANAGER_SITE = "GES-010"
WEEKS = 52
COMMENTS = {
    "bad": [
        "Une heure d'attente sans aucune information.",
        "Personne ne m'a rappelé alors qu'on me l'avait promis.",
        "Le conseiller ne connaissait pas l'offre.",
        "La borne de tickets était en panne.",
    ],
    "good": ["Accueil très aimable, merci.", "Rapide et efficace.", None, None],
}


def seed_feedback(session: Session, now: datetime | None = None) -> dict:
    if session.scalar(select(FeedbackResponse.id).where(FeedbackResponse.source == SOURCE)):
        return {"created": 0}
    sites = {s.code: s for s in session.scalars(select(Site).where(Site.code.in_(list(SITES))))}
    if len(sites) != len(SITES):
        return {"created": 0}  # not the demo network
    now = now or utcnow()
    rnd = random.Random(20261206)
    items = []
    for code, per_week in SITES.items():
        zone = ZoneInfo(sites[code].time_zone or "Europe/Paris")
        channel = "phone" if code.startswith("CC-") else "in_person"
        for week in range(WEEKS):
            for number in range(per_week):
                day = (now - timedelta(weeks=week, days=rnd.randint(0, 6))).astimezone(zone)
                moment = datetime.combine(day.date(), time(rnd.randint(9, 17), rnd.randint(0, 59)))
                moment = moment.replace(tzinfo=zone)
                if moment > now - timedelta(minutes=30):
                    continue
                score = rnd.choices(range(11), weights=[2, 1, 2, 2, 3, 4, 6, 10, 16, 14, 12])[0]
                consent = rnd.random() < 0.6
                complaint = score <= 4 and rnd.random() < 0.2
                items.append(
                    {
                        "source": SOURCE,
                        "external_id": f"{code}-{week:02d}-{number}",
                        "site": code,
                        "received_at": moment.isoformat(),
                        "channel": channel,
                        "journey_step": rnd.choice(["waiting", "advice_sale", "after_sales"]),
                        "score": score,
                        "scale": "nps",
                        "comment": rnd.choice(COMMENTS["bad" if score <= 6 else "good"]),
                        "complaint": complaint,
                        "contact_consent": consent,
                        "contact": f"06 {rnd.randint(10, 99)} {rnd.randint(10, 99)} "
                        f"{rnd.randint(10, 99)} {rnd.randint(10, 99)}"
                        if consent
                        else None,
                    }
                )
    # the demo site manager's open cases: one not yet due, some past due, one escalated
    zone = ZoneInfo(sites[MANAGER_SITE].time_zone or "Europe/Paris")
    for number, (days, score, complaint) in enumerate(
        [(0, 7, True), (3, 2, False), (5, 4, False), (8, 1, True)]
    ):
        moment = (now - timedelta(days=days, hours=2)).astimezone(zone).replace(microsecond=0)
        items.append(
            {
                "source": SOURCE,
                "external_id": f"{MANAGER_SITE}-open-{number}",
                "site": MANAGER_SITE,
                "received_at": moment.isoformat(),
                "channel": "in_person",
                "journey_step": "waiting",
                "score": score,
                "scale": "nps",
                "comment": COMMENTS["bad"][number % len(COMMENTS["bad"])],
                "complaint": complaint,
                "contact_consent": True,
                "contact": f"06 00 00 00 0{number}",
            }
        )
    summary = services.record_responses(session, None, items, label="demo", now=now)
    campaign = session.scalar(select(Campaign).where(Campaign.name == DEMO_CAMPAIGN))
    irritants = (
        list(session.scalars(select(Irritant).where(Irritant.campaign_id == campaign.id)))
        if campaign
        else []
    )
    closed = 0
    cases = session.scalars(
        select(FeedbackCase).where(FeedbackCase.opened_at == now).order_by(FeedbackCase.id)
    ).all()
    for case in cases:
        received = as_utc(case.response.received_at)
        # the last fortnight's cases stay open: some are past due, a few escalated
        if received > now - timedelta(days=14):
            continue
        late = rnd.random() < 0.2
        contacted = received + timedelta(hours=rnd.randint(50, 120) if late else rnd.randint(2, 40))
        case.opened_at = received
        case.contacted_at = contacted
        services.close_case(
            session,
            case,
            outcome=rnd.choices(["resolved", "explained", "unreachable"], weights=[5, 3, 2])[0],
            cause=rnd.choice(list(CAUSES)),
            journey_step=case.response.journey_step,
            note="Client rappelé.",
            irritant_id=rnd.choice(irritants).id if irritants and rnd.random() < 0.6 else None,
            now=contacted + timedelta(hours=1),
        )
        closed += 1
    return {**summary.as_dict(), "closed": closed}
