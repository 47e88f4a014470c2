"""The demo programme that `make run` shows: `flask --app app seed-demo`.

Each domain adds its part here; every part is idempotent (running the seed twice
changes nothing the second time)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from programme.auth import services as accounts
from programme.auth.models import User
from programme.demo.deployment import seed_deployment
from programme.demo.diagnostics import seed_campaign_in_progress, seed_diagnostics
from programme.demo.feedback import seed_feedback
from programme.demo.kpis import seed_measurements
from programme.demo.network import seed_network
from programme.demo.pilots import seed_pilots
from programme.demo.value import seed_value
from programme.network.models import Region, Site


@dataclass(frozen=True)
class DemoAccount:
    email: str
    role: str
    name: str
    site_code: str | None = None
    region_name: str | None = None


DEMO_ACCOUNTS = (
    DemoAccount("admin@demo.programme.fr", "admin", "Bureau de programme"),
    DemoAccount("diagnostic@demo.programme.fr", "diagnostician", "Claire Diagnostic"),
    DemoAccount("pilote@demo.programme.fr", "pilot_team", "Julien Pilote"),
    DemoAccount("coach@demo.programme.fr", "coach", "Sophie Coach"),
    DemoAccount(
        "manager@demo.programme.fr",
        "site_manager",
        "Nicolas Directeur d'agence",
        site_code="GES-010",
    ),
    DemoAccount(
        "region@demo.programme.fr",
        "site_manager",
        "Isabelle Directrice régionale",
        region_name="Bretagne",
    ),
    DemoAccount("direction@demo.programme.fr", "executive", "Direction générale"),
    DemoAccount("finance@demo.programme.fr", "finance", "Claire Contrôleuse de gestion"),
)


def seed_accounts(session: Session, password: str) -> dict:
    created = 0
    for account in DEMO_ACCOUNTS:
        if accounts.find_user(session, account.email) is not None:
            continue
        site_id = region_id = None
        if account.site_code:
            site_id = session.scalar(select(Site.id).where(Site.code == account.site_code))
        if account.region_name:
            region_id = session.scalar(select(Region.id).where(Region.name == account.region_name))
        accounts.create_user(
            session,
            account.email,
            account.role,
            password,
            name=account.name,
            site_id=site_id,
            region_id=region_id,
        )
        created += 1
    return {"created": created}


def seed_demo(session: Session, password: str) -> dict:
    report = {"sites": seed_network(session), "accounts": seed_accounts(session, password)}
    session.flush()
    report["diagnostics"] = seed_diagnostics(session)
    report["campaign_in_progress"] = seed_campaign_in_progress(session)
    report["measurements"] = seed_measurements(session)
    report["pilots"] = seed_pilots(session)
    report["deployment"] = seed_deployment(session)
    report["feedback"] = seed_feedback(session)
    report["value"] = seed_value(session)
    return report


def database_is_empty(session: Session) -> bool:
    return (
        session.scalar(select(Site.id).limit(1)) is None
        and session.scalar(select(User.id).limit(1)) is None
    )
