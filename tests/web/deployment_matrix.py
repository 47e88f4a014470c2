"""Rows of the role × route matrix for the deployment screens (issue 7).

The wave these URLs need (PAR-001, the matrix site manager's site, and LYO-001) and a coach
are created on demand with Core inserts: no audit event, so the matrix can prove that
refused requests wrote nothing. The matrix's coach account is assigned to no site, so the
checklist and visit rows show that a coach cannot edit a site that is not theirs (forged
ids): the assigned coach's rights are tested in tests/web/test_deployment_pages.py."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import insert, select

from programme.auth.roles import ADMIN, COACH, EXECUTIVE, ROLES, SITE_MANAGER
from programme.database import utcnow
from programme.deployment import services
from programme.deployment.models import (
    DEFAULT_MILESTONES,
    ChecklistItem,
    Coach,
    Milestone,
    Wave,
    WaveSite,
)
from programme.extensions import db
from programme.network.models import Person, Site
from programme.pilots.models import Package, PackageElement

EVERYONE = frozenset(ROLES)
ADMIN_ONLY = frozenset({ADMIN})
ENGAGEMENT = frozenset({ADMIN, SITE_MANAGER})
CAPACITY = frozenset({ADMIN, COACH, EXECUTIVE})
START = date.today() - timedelta(weeks=4)
GO_LIVE = date.today() + timedelta(weeks=4)


def _one(stmt):
    return db.session.scalar(stmt)


def package_id(w) -> int:
    found = _one(select(Package.id).where(Package.name == "Deployment matrix package"))
    if found is None:
        now = utcnow()
        found = db.session.execute(
            insert(Package).values(name="Deployment matrix package", created_at=now, updated_at=now)
        ).inserted_primary_key[0]
        for title in ("Accueil", "Prise de rendez-vous"):
            db.session.execute(
                insert(PackageElement).values(package_id=found, kind="process", title=title,
                                              description="…", deployment_step="go_live")
            )  # fmt: skip
        db.session.commit()
    return found


def wave_id(w) -> int:
    """The wave of the world's site (a demo's site manager's wave), else a new one."""
    found = _one(
        select(WaveSite.wave_id).where(WaveSite.site_id == w.site_id).order_by(WaveSite.wave_id)
    )
    if found is None:
        pid = package_id(w)
        now = utcnow()
        found = db.session.execute(
            insert(Wave).values(name="Matrix wave", package_id=pid, start=START, go_live=GO_LIVE,
                                status="deploying", version=1, created_at=now, updated_at=now)
        ).inserted_primary_key[0]  # fmt: skip
        elements = list(
            db.session.scalars(select(PackageElement.id).where(PackageElement.package_id == pid))
        )
        for site_id in (w.site_id, w.other_site_id):
            db.session.execute(insert(WaveSite).values(wave_id=found, site_id=site_id))
            for element in elements:
                db.session.execute(
                    insert(ChecklistItem).values(wave_id=found, site_id=site_id, element_id=element,
                                                 state="not_started", version=1)
                )  # fmt: skip
        for kind, offset, audience in DEFAULT_MILESTONES:
            db.session.execute(
                insert(Milestone).values(wave_id=found, kind=kind, offset_days=offset, audience=audience)
            )  # fmt: skip
        db.session.commit()
    return found


def coach_id(w) -> int:
    found = _one(select(Coach.id))
    if found is None:
        now = utcnow()
        person = db.session.execute(
            insert(Person).values(full_name="Coach de la matrice", created_at=now, updated_at=now)
        ).inserted_primary_key[0]
        found = db.session.execute(
            insert(Coach).values(person_id=person, secondment_start=START - timedelta(days=30),
                                 capacity=4, created_at=now, updated_at=now)
        ).inserted_primary_key[0]  # fmt: skip
        db.session.commit()
    return found


def item_id(w) -> int:
    wid = wave_id(w)
    return _one(
        select(ChecklistItem.id)
        .where(ChecklistItem.wave_id == wid, ChecklistItem.site_id == w.site_id)
        .order_by(ChecklistItem.id)
    )


def milestone_id(w) -> int:
    wid = wave_id(w)
    return _one(select(Milestone.id).where(Milestone.wave_id == wid).order_by(Milestone.id))


def _codes(w) -> list[str]:
    return [
        _one(select(Site.code).where(Site.id == w.site_id)),
        _one(select(Site.code).where(Site.id == w.other_site_id)),
    ]


def wave_form(w, **values) -> dict:
    form = {
        "name": "New wave",
        "package": str(package_id(w)),
        "start": START.isoformat(),
        "go_live": GO_LIVE.isoformat(),
        "status": "planned",
        "sites": [],
    }
    form.update(values)
    return form


def wave_edit_form(w) -> dict:
    wave_id(w)
    return wave_form(w, name="Matrix wave (renamed)", status="deploying", version="1",
                     sites=_codes(w))  # fmt: skip


def assignment_form(w) -> dict:
    wave_id(w)
    return {"site": str(w.site_id), "coach": str(coach_id(w)), "start": START.isoformat(),
            "end": GO_LIVE.isoformat()}  # fmt: skip


def visit_form(w) -> dict:
    return {"visited_on": date.today().isoformat(), "duration_minutes": "60",
            "worked_on": "Accueil", "blocker_category": "", "blockers": "", "next_visit_on": ""}  # fmt: skip


def coach_form(w) -> dict:
    return {"email": "new.coach@example.org", "full_name": "Nouveau coach",
            "home_site": _codes(w)[0], "secondment_start": START.isoformat(),
            "secondment_end": "", "capacity": "4", "user": "0",
            "regions": [str(w.region_id)], "trainings-0-module": "Conduite du changement",
            "trainings-0-completed_on": START.isoformat()}  # fmt: skip


def coach_edit_form(w) -> dict:
    version = services.coach_fingerprint(db.session.get(Coach, coach_id(w)))
    return coach_form(w) | {"email": "matrix.coach@example.org", "full_name": "Coach renommé",
                            "version": version}  # fmt: skip


def _site_url(w) -> str:
    return f"/waves/{wave_id(w)}/sites/{w.site_id}"


def rows(Route) -> list:
    """The matrix rows, built with the matrix's own Route class."""
    return [
        Route("GET", "/waves", EVERYONE),
        Route("GET", "/waves/new", ADMIN_ONLY),
        Route("POST", "/waves/new", ADMIN_ONLY, form=wave_form),
        Route("GET", "/waves/site-picker", ADMIN_ONLY, url=lambda w: "/waves/site-picker?type=branch"),
        Route("GET", "/waves/<int:wave_id>", EVERYONE, url=lambda w: f"/waves/{wave_id(w)}",
              notes="a site manager sees the wave's sites in their perimeter"),
        Route("GET", "/waves/<int:wave_id>/edit", ADMIN_ONLY, url=lambda w: f"/waves/{wave_id(w)}/edit"),
        Route("POST", "/waves/<int:wave_id>/edit", ADMIN_ONLY, url=lambda w: f"/waves/{wave_id(w)}/edit",
              form=wave_edit_form),
        Route("POST", "/waves/<int:wave_id>/milestones/<int:milestone_id>", ADMIN_ONLY,
              url=lambda w: f"/waves/{wave_id(w)}/milestones/{milestone_id(w)}", form=lambda w: {"done": "1"}),
        Route("POST", "/waves/<int:wave_id>/assignments", ADMIN_ONLY,
              url=lambda w: f"/waves/{wave_id(w)}/assignments", form=assignment_form),
        Route("GET", "/waves/<int:wave_id>/sites/<int:site_id>", EVERYONE, url=_site_url),
        Route("POST", "/waves/<int:wave_id>/sites/<int:site_id>/items/<int:item_id>", ADMIN_ONLY,
              url=lambda w: f"{_site_url(w)}/items/{item_id(w)}",
              form=lambda w: {"state": "in_progress", "version": "1"},
              notes="and the coach assigned to the site in an active wave"),
        Route("POST", "/waves/<int:wave_id>/sites/<int:site_id>/visits", ADMIN_ONLY,
              url=lambda w: f"{_site_url(w)}/visits", form=visit_form,
              notes="and the coach assigned to the site in an active wave"),
        Route("GET", "/sites/<int:site_id>/engagement", ENGAGEMENT,
              url=lambda w: f"/sites/{w.site_id}/engagement",
              notes="the site manager's own site; and the coach assigned to the site"),
        Route("POST", "/sites/<int:site_id>/engagement", ENGAGEMENT,
              url=lambda w: f"/sites/{w.site_id}/engagement",
              form=lambda w: {"score": "4", "recorded_on": date.today().isoformat(), "note": "",
                              "asked_earlier": "y"}),
        Route("GET", "/coaches/capacity", CAPACITY),
        Route("GET", "/coaches", CAPACITY),
        Route("GET", "/coaches/new", ADMIN_ONLY),
        Route("POST", "/coaches/new", ADMIN_ONLY, form=coach_form, allowed_redirect="/coaches"),
        Route("GET", "/coaches/<int:coach_id>/edit", ADMIN_ONLY,
              url=lambda w: f"/coaches/{coach_id(w)}/edit"),
        Route("POST", "/coaches/<int:coach_id>/edit", ADMIN_ONLY,
              url=lambda w: f"/coaches/{coach_id(w)}/edit", form=coach_edit_form,
              allowed_redirect="/coaches"),
    ]  # fmt: skip
