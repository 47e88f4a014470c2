"""The demo's value: the first pilot's package turned into money for finance and the
executives (value drivers, gates up to L4, so planned is frozen and actuals accrue).

- Waiting time (lower is better) is a revenue lever: customers who wait less walk out less;
  each minute less per customer received is worth €0.05–€0.20 (most likely €0.10).
- Satisfaction is a non-financial lever: its effect and volume show, without money."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from programme.auth.models import User
from programme.pilots.models import Pilot
from programme.value import services
from programme.value.models import ValueDriver

DRIVERS = (
    {
        "kpi": "WAIT",
        "volume_kpi": "VISITS",
        "lever": "revenue",
        "unit_low": 0.05,
        "unit_most_likely": 0.10,
        "unit_high": 0.20,
        "source": "Étude des abandons en agence, contrôle de gestion, 2025",
        "owner": "Contrôle de gestion",
        "explanation": (
            "Chaque minute d'attente en moins par client reçu réduit les départs sans "
            "rendez-vous : marge moyenne conservée de 0,10 € par minute et par client."
        ),
    },
    {
        "kpi": "CSAT",
        "volume_kpi": "VISITS",
        "lever": "none",
        "source": "Baromètre satisfaction",
        "owner": "Direction de la relation client",
        "explanation": "Effet suivi sans valorisation : la satisfaction n'est pas convertie en euros.",
    },
)

GATES = (
    ("L1", "Pilote conçu avec ses sites témoins."),
    ("L2", "Décision « go » du comité de pilotage."),
    ("L3", "Vagues de déploiement planifiées ; la valeur prévue est figée."),
    ("L4", "Déploiement en cours : la valeur réalisée s'accumule."),
)


def seed_value(session: Session) -> dict:
    """Drivers and gates of the first pilot's package; nothing when it is missing or
    already valued (idempotent)."""
    from programme.demo.pilots import FIRST

    pilot = session.scalar(select(Pilot).where(Pilot.name == FIRST))
    package = pilot.package if pilot is not None else None
    if package is None:
        return {"drivers": 0}
    if session.scalar(select(ValueDriver.id).where(ValueDriver.package_id == package.id)):
        return {"drivers": 0}
    admin = session.scalar(select(User).where(User.role == "admin").order_by(User.id))
    for values in DRIVERS:
        services.save_driver(session, {"package": package.id, **values})
    for gate, comment in GATES:
        services.move_gate(session, admin, package, gate, comment)
    session.flush()
    return {"drivers": len(DRIVERS), "gate": services.current_gate(session, package.id)}
