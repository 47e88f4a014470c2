"""The demo's deployment plan, shared by the measurements (which carry the package's effect
from each deployed site's go-live) and the deployment seed (which builds the waves).

The first pilot's package goes to 100 branches and shops in 4 waves, in site-code order
(ARA, BRE, GES, HDF, IDF, NAQ, OCC, PAC: the same order on every database). The first
pilot's own sites, pilot and control, are not in any wave: the pilot sites already have
the package, and a control site deployed during the pilot would blur its comparison."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from programme.network.models import Site

# The first pilot's sites (programme/demo/pilots.py): 4 pilot sites, 4 control sites.
FIRST_PILOT_SITES = ("IDF-001", "IDF-002", "ARA-001", "ARA-002")
# Controls with baselines close to the pilots' (a randomization test needs them close).
FIRST_CONTROL_SITES = ("IDF-004", "IDF-007", "ARA-003", "ARA-011")
# (name, start, go-live relative to today in days, status, number of sites)
WAVES = (
    ("Vague 1 — sites pionniers", -330, -270, "closed", 30),
    ("Vague 2 — Nord et Est", -120, -30, "stabilising", 25),
    ("Vague 3 — Ouest", -28, 40, "deploying", 25),
    ("Vague 4 — Sud", 60, 120, "preparing", 20),
)
WAVE_SITES = sum(size for *_rest, size in WAVES)


def wave_sites(session: Session) -> list[tuple[int, int, str]]:
    """(site id, region id, code) of the sites the waves take, in wave order."""
    excluded = set(FIRST_PILOT_SITES) | set(FIRST_CONTROL_SITES)
    rows = session.execute(
        select(Site.id, Site.region_id, Site.code)
        .where(Site.type.in_(("branch", "shop")))
        .order_by(Site.code)
    ).all()
    return [tuple(r) for r in rows if r[2] not in excluded][:WAVE_SITES]  # type: ignore[misc]


def go_lives(session: Session, today: date) -> dict[str, date]:
    """Site code → the go-live of its wave (whether past or planned)."""
    sites = wave_sites(session)
    result: dict[str, date] = {}
    offset = 0
    for _name, _start, go_days, _status, size in WAVES:
        for _id, _region, code in sites[offset : offset + size]:
            result[code] = today + timedelta(days=go_days)
        offset += size
    return result
