"""Rows of the role × route matrix for the pilot screens (issue 6).

The pilot these URLs need (PAR-001 in the pilot arm, so the matrix site manager sees it;
LYO-001 as control) is created on demand with Core inserts: no audit event, so the matrix
can prove that refused requests wrote nothing. The matrix users are not members of that
pilot: member rights (edit, team feel, decision, package) are tested in
tests/web/test_pilots_pages.py."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import insert, select

from programme.auth.roles import ADMIN, PILOT_TEAM, ROLES
from programme.database import utcnow
from programme.extensions import db
from programme.network.models import Site
from programme.pilots.models import Package, Pilot, PilotDecision, PilotKpi, PilotSite
from tests.web.kpi_matrix import kpi_id

EVERYONE = frozenset(ROLES)
ADMIN_ONLY = frozenset({ADMIN})
DESIGNERS = frozenset({ADMIN, PILOT_TEAM})
MONDAY = date.today() - timedelta(days=date.today().weekday() + 7)
PILOT_START = MONDAY - timedelta(weeks=3)


def _one(stmt):
    return db.session.scalar(stmt)


def pilot_id(w) -> int:
    """A pilot of the world's site (so its site manager may read it), else a new one."""
    found = _one(
        select(PilotSite.pilot_id)
        .where(PilotSite.site_id == w.site_id)
        .order_by(PilotSite.pilot_id)
    )
    if found is None:
        kpi = kpi_id(w)
        now = utcnow()
        new = db.session.execute(
            insert(Pilot).values(name="Matrix pilot", stage="running", baseline_start=PILOT_START - timedelta(weeks=4),
                                 baseline_end=PILOT_START - timedelta(days=1), pilot_start=PILOT_START,
                                 pilot_end=MONDAY + timedelta(days=6), supporting_functions=[], version=1,
                                 created_at=now, updated_at=now)
        ).inserted_primary_key[0]  # fmt: skip
        db.session.execute(insert(PilotSite).values(pilot_id=new, site_id=w.site_id, arm="pilot"))
        db.session.execute(
            insert(PilotSite).values(pilot_id=new, site_id=w.other_site_id, arm="control")
        )
        db.session.execute(insert(PilotKpi).values(pilot_id=new, kpi_id=kpi, target_relative=-0.2))
        db.session.commit()
        found = new
    return found


def decided_pilot_id(w) -> int:
    """The pilot with a go decision and its package."""
    pid = pilot_id(w)  # the world's site's pilot: its site manager may read its package
    if _one(select(Package.id).where(Package.pilot_id == pid)) is None:
        now = utcnow()
        db.session.execute(
            insert(PilotDecision).values(pilot_id=pid, decision="go", reason="matrix", decided_on=date.today(),
                                         decided_by="seed", created_at=now)
        )  # fmt: skip
        db.session.execute(
            insert(Package).values(
                pilot_id=pid, name="Matrix package", created_at=now, updated_at=now
            )
        )
        db.session.commit()
    return pid


def _codes(w) -> tuple[str, str]:
    return (
        _one(select(Site.code).where(Site.id == w.site_id)),
        _one(select(Site.code).where(Site.id == w.other_site_id)),
    )


def pilot_form(w, **values) -> dict:
    kpi_id(w)
    site, other = _codes(w)
    form = {
        "name": "New pilot",
        "baseline_start": (PILOT_START - timedelta(weeks=4)).isoformat(),
        "baseline_end": (PILOT_START - timedelta(days=1)).isoformat(),
        "pilot_start": PILOT_START.isoformat(),
        "pilot_end": (MONDAY + timedelta(days=6)).isoformat(),
        "pilot_sites": site,
        "control_sites": other,
        "kpi-WAIT": "on",
        "target-WAIT": "-20",
    }
    form.update(values)
    return form


def pilot_edit_form(w) -> dict:
    pilot_id(w)
    return pilot_form(w, name="Matrix pilot (renamed)", version="1", stage="running")


def design_args(w) -> str:
    site, other = _codes(w)
    kpi_id(w)
    return f"?pilot_sites={site}&control_sites={other}&kpi-WAIT=on"


def rows(Route) -> list:
    """The matrix rows, built with the matrix's own Route class."""
    return [
        Route("GET", "/pilots", EVERYONE),
        Route("GET", "/pilots/new", ADMIN_ONLY),
        Route("POST", "/pilots/new", ADMIN_ONLY, form=pilot_form),
        Route("GET", "/pilots/<int:pilot_id>", EVERYONE, url=lambda w: f"/pilots/{pilot_id(w)}",
              notes="a site manager sees the pilots with a site in their perimeter"),
        Route("GET", "/pilots/<int:pilot_id>/edit", ADMIN_ONLY, url=lambda w: f"/pilots/{pilot_id(w)}/edit",
              notes="and the pilot's team members"),
        Route("POST", "/pilots/<int:pilot_id>/edit", ADMIN_ONLY, url=lambda w: f"/pilots/{pilot_id(w)}/edit",
              form=pilot_edit_form),
        Route("GET", "/pilots/power", DESIGNERS, url=lambda w: "/pilots/power" + design_args(w)),
        Route("GET", "/pilots/propose-controls", DESIGNERS,
              url=lambda w: "/pilots/propose-controls" + design_args(w)),
        Route("GET", "/pilots/<int:pilot_id>/results", EVERYONE, url=lambda w: f"/pilots/{pilot_id(w)}/results"),
        Route("GET", "/pilots/<int:pilot_id>/team-feel", EVERYONE,
              url=lambda w: f"/pilots/{pilot_id(w)}/team-feel"),
        Route("POST", "/pilots/<int:pilot_id>/team-feel", ADMIN_ONLY,
              url=lambda w: f"/pilots/{pilot_id(w)}/team-feel", form=lambda w: {"score": "4"},
              notes="and the pilot's team members"),
        Route("GET", "/pilots/<int:pilot_id>/decision", EVERYONE,
              url=lambda w: f"/pilots/{pilot_id(w)}/decision"),
        Route("POST", "/pilots/<int:pilot_id>/decision", ADMIN_ONLY,
              url=lambda w: f"/pilots/{pilot_id(w)}/decision",
              form=lambda w: {"decision": "iterate", "reason": "one more month"},
              notes="and the pilot's team members"),
        Route("GET", "/pilots/<int:pilot_id>/package", EVERYONE,
              url=lambda w: f"/pilots/{decided_pilot_id(w)}/package"),
        Route("POST", "/pilots/<int:pilot_id>/package", ADMIN_ONLY,
              url=lambda w: f"/pilots/{decided_pilot_id(w)}/package",
              form=lambda w: {"kind": "tool", "title": "Borne", "description": "Borne d'accueil",
                              "deployment_step": "go_live"}),
    ]  # fmt: skip
