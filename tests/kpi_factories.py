"""Test data for KPIs and measurements (plain functions, nothing shared between tests)."""

from __future__ import annotations

from datetime import date, timedelta

from flask_babel import force_locale

from programme.extensions import db
from programme.kpis.intake import ingest, records_frame
from programme.kpis.models import Kpi, PilotSiteAssignment
from programme.kpis.services import ensure_default_kpis

TODAY = date.today()
MONDAY = TODAY - timedelta(days=TODAY.weekday() + 7)  # last week's Monday


def default_kpis() -> dict[str, int]:
    ensure_default_kpis(db.session)
    db.session.commit()
    return {k.code: k.id for k in db.session.query(Kpi)}


def assign(user, site) -> None:
    db.session.add(PilotSiteAssignment(user_id=user.id, site_id=site.id))
    db.session.commit()


def item(site, kpi="WAIT", day=None, value=7.5, n=100, **extra) -> dict:
    code = site if isinstance(site, str) else site.code
    data = {"site": code, "kpi": kpi, "date": (day or MONDAY).isoformat(), "value": value, "n": n}
    data.update(extra)
    return data


def put(user, items: list[dict], source: str = "test", **kwargs):
    """Run items through the intake pipeline and commit."""
    with force_locale("en"):
        result = ingest(db.session, user, [records_frame(items)], default_source=source, **kwargs)
    db.session.commit()
    return result


def csv_bytes(rows: list[list], header=("site", "kpi", "date", "value", "n"), sep=",") -> bytes:
    lines = [sep.join(header)] + [sep.join(str(c) for c in row) for row in rows]
    return ("\n".join(lines) + "\n").encode()
