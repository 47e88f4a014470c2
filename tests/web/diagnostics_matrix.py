"""Rows of the role × route matrix for the diagnostics screens (issue 4).

The records these URLs need are created on demand with Core inserts (no ORM flush, so no
audit event: the matrix counts audit events to prove refused requests wrote nothing):
an open campaign sampling both matrix sites, each observed in person (so it can be
completed), a session at the site manager's site with one ungrouped finding, an irritant.
The sessions have no observer and the campaign no lead, so the matrix's diagnostician may
neither edit those sessions nor complete the campaign; rows where that record rule applies
allow admins only, and tests/web/test_diagnostics_views.py covers the diagnostician's own
sessions and campaigns."""

from __future__ import annotations

import io
from datetime import date, time

from sqlalchemy import insert, select

from programme.auth.roles import (
    ADMIN,
    COACH,
    DIAGNOSTICIAN,
    EXECUTIVE,
    PILOT_TEAM,
    ROLES,
    SITE_MANAGER,
)
from programme.database import utcnow
from programme.diagnostics.models import (
    JOURNEY_STEPS,
    Campaign,
    Finding,
    Irritant,
    ObservationSession,
    campaign_site,
)
from programme.extensions import db

EVERYONE = frozenset(ROLES)
ADMIN_ONLY = frozenset({ADMIN})
READ = frozenset({ADMIN, DIAGNOSTICIAN, PILOT_TEAM, COACH, SITE_MANAGER})
ANALYSIS = frozenset({ADMIN, DIAGNOSTICIAN, PILOT_TEAM, COACH})
RANKING = frozenset({ADMIN, DIAGNOSTICIAN, PILOT_TEAM, COACH, EXECUTIVE})
WORK = frozenset({ADMIN, DIAGNOSTICIAN})
NAME = "Matrice"


def _records(w) -> dict[str, int]:
    found = db.session.scalar(select(Campaign.id).where(Campaign.name == NAME))
    if found is None:
        now = utcnow()
        stamps = {"created_at": now, "updated_at": now}
        db.session.execute(
            insert(Campaign).values(name=NAME, start_date=date(2026, 3, 2), end_date=date(2026, 3, 31),
                                    scope_site_types=["branch"], scope_channels=["in_person"],
                                    journey_steps=list(JOURNEY_STEPS), version=1, **stamps)
        )  # fmt: skip
        found = db.session.scalar(select(Campaign.id).where(Campaign.name == NAME))
        for site_id in (w.site_id, w.other_site_id):
            db.session.execute(insert(campaign_site).values(campaign_id=found, site_id=site_id))
            db.session.execute(
                insert(ObservationSession).values(campaign_id=found, site_id=site_id,
                                                  observed_on=date(2026, 3, 9), start_time=time(9),
                                                  end_time=time(11), channel="in_person",
                                                  interactions=20, version=1, **stamps)
            )  # fmt: skip
        observation = db.session.scalar(
            select(ObservationSession.id).where(ObservationSession.site_id == w.site_id)
        )
        db.session.execute(
            insert(Finding).values(session_id=observation, position=1, journey_step="waiting",
                                   description="Aucun affichage du temps d'attente",
                                   outcome="degraded", cause="ergonomic", severity=2,
                                   occurrences=4, **stamps)
        )  # fmt: skip
        db.session.execute(
            insert(Irritant).values(campaign_id=found, name="Attente", stakes=[], determinants=[],
                                    **stamps)
        )  # fmt: skip
        db.session.commit()
    observation = db.session.scalar(
        select(ObservationSession.id).where(
            ObservationSession.campaign_id == found, ObservationSession.site_id == w.site_id
        )
    )
    return {
        "campaign": found,
        "observation": observation,
        "finding": db.session.scalar(select(Finding.id).where(Finding.session_id == observation)),
        "irritant": db.session.scalar(select(Irritant.id).where(Irritant.campaign_id == found)),
    }


def _c(w, tail: str = "") -> str:
    return f"/diagnostics/campaigns/{_records(w)['campaign']}{tail}"


def _s(w, tail: str = "") -> str:
    return f"/diagnostics/sessions/{_records(w)['observation']}{tail}"


def _i(w, tail: str = "") -> str:
    return f"/diagnostics/irritants/{_records(w)['irritant']}{tail}"


# --- valid forms -------------------------------------------------------------------------------


def campaign_form(w, **values) -> dict:
    form = {
        "name": "Nouvelle campagne", "start_date": "2026-05-04", "end_date": "2026-05-29",
        "lead_id": "", "site_types": ["branch"], "channels": ["in_person"],
        "journey_steps": ["first_contact", "waiting"], "extra_steps": "", "site_codes": "PAR-001",
    }  # fmt: skip
    form.update(values)
    return form


def campaign_edit_form(w) -> dict:
    return campaign_form(w, name="Matrice (élargie)", site_codes="PAR-001, LYO-001", version="1",
                         start_date="2026-03-02", end_date="2026-03-31")  # fmt: skip


def session_form(w, **values) -> dict:
    form = {
        "site_id": str(w.site_id), "observed_on": "2026-03-10", "start_time": "09:00",
        "end_time": "11:00", "channel": "in_person", "interactions": "10", "notes": "",
        "findings-0-journey_step": "waiting", "findings-0-description": "Pas d'affichage",
        "findings-0-outcome": "degraded", "findings-0-cause": "ergonomic",
        "findings-0-severity": "2", "findings-0-occurrences": "3",
        "findings-0-attachment_ref": "", "findings-0-notes": "",
    }  # fmt: skip
    form.update(values)
    return form


def session_edit_form(w) -> dict:
    return session_form(w, version="1", **{"findings-0-id": str(_records(w)["finding"])})


def voice_import_form(w) -> dict:
    data = "site,quote,channel,journey_step,sentiment\nPAR-001,Trop d'attente,in_person,waiting,negative\n"
    return {"kind": "verbatims", "file": (io.BytesIO(data.encode()), "verbatims.csv")}


def verbatim_form(w) -> dict:
    return {"site": "PAR-001", "quote": "J'ai attendu sans savoir combien de temps.",
            "channel": "in_person", "journey_step": "waiting", "sentiment": "negative",
            "collected_on": ""}  # fmt: skip


def irritant_form(w, name: str = "Accueil absent") -> dict:
    return {"name": name, "description": "", "stakes": ["satisfaction"]}


def synthesis_form(w) -> dict:
    return {"stakes_text": "Temps d'attente", "version": "1",
            "service_aspiration": "Chaque client accueilli dans la minute."}  # fmt: skip


def rows(Route) -> list:  # noqa: N803  (the matrix's own class)
    """The matrix rows, built with the matrix's own Route class."""
    C = "/diagnostics/campaigns/<int:campaign_id>"  # noqa: N806
    S = "/diagnostics/sessions/<int:observation_id>"  # noqa: N806
    I = "/diagnostics/irritants/<int:irritant_id>"  # noqa: E741, N806
    lead_only = "diagnosticians: only the campaign's lead"
    own_only = "diagnosticians: only their own sessions"
    return [
        Route("GET", "/diagnostics/", EVERYONE),
        Route("GET", "/diagnostics/campaigns/new", ADMIN_ONLY),
        Route("POST", "/diagnostics/campaigns/new", ADMIN_ONLY, form=campaign_form),
        Route("GET", C, READ, url=_c),
        Route("GET", f"{C}/edit", ADMIN_ONLY, url=lambda w: _c(w, "/edit")),
        Route("POST", f"{C}/edit", ADMIN_ONLY, url=lambda w: _c(w, "/edit"), form=campaign_edit_form),
        Route("POST", f"{C}/complete", ADMIN_ONLY, url=lambda w: _c(w, "/complete"),
              form=lambda w: {"override_reason": ""}, notes=lead_only),
        Route("GET", f"{C}/sessions/new", WORK, url=lambda w: _c(w, "/sessions/new")),
        Route("POST", f"{C}/sessions/new", WORK, url=lambda w: _c(w, "/sessions/new"), form=session_form),
        Route("GET", f"{C}/finding-row", WORK, url=lambda w: _c(w, "/finding-row?next_index=1")),
        Route("GET", S, READ, url=_s, notes="the site manager's site"),
        Route("GET", f"{S}/edit", ADMIN_ONLY, url=lambda w: _s(w, "/edit"), notes=own_only),
        Route("POST", f"{S}/edit", ADMIN_ONLY, url=lambda w: _s(w, "/edit"), form=session_edit_form,
              notes=own_only),
        Route("POST", f"{S}/delete", ADMIN_ONLY, url=lambda w: _s(w, "/delete"), form=lambda w: {},
              notes=own_only),
        Route("GET", f"{C}/determinants", READ, url=lambda w: _c(w, "/determinants")),
        Route("GET", f"{C}/sites/<int:site_id>/determinants", WORK,
              url=lambda w: _c(w, f"/sites/{w.site_id}/determinants")),
        Route("POST", f"{C}/sites/<int:site_id>/determinants", WORK,
              url=lambda w: _c(w, f"/sites/{w.site_id}/determinants"),
              form=lambda w: {"roles-score": "2", "roles-evidence": "Accueil à tour de rôle"}),
        Route("GET", f"{C}/voice", READ, url=lambda w: _c(w, "/voice")),
        Route("POST", f"{C}/voice", WORK, url=lambda w: _c(w, "/voice"), form=verbatim_form),
        Route("GET", f"{C}/voice/import", WORK, url=lambda w: _c(w, "/voice/import")),
        Route("POST", f"{C}/voice/import", WORK, url=lambda w: _c(w, "/voice/import"),
              form=voice_import_form, status=200,
              notes="the import page shows the result instead of redirecting"),
        Route("GET", f"{C}/irritants", RANKING, url=lambda w: _c(w, "/irritants")),
        Route("GET", f"{C}/irritants/new", WORK, url=lambda w: _c(w, "/irritants/new")),
        Route("POST", f"{C}/irritants/new", WORK, url=lambda w: _c(w, "/irritants/new"),
              form=irritant_form),
        Route("GET", I, ANALYSIS, url=_i),
        Route("GET", f"{I}/edit", WORK, url=lambda w: _i(w, "/edit")),
        Route("POST", f"{I}/edit", WORK, url=lambda w: _i(w, "/edit"),
              form=lambda w: irritant_form(w, "Attente sans information")),
        Route("POST", f"{I}/findings", WORK, url=lambda w: _i(w, "/findings"),
              form=lambda w: {"add": [str(_records(w)["finding"])]}),
        Route("POST", f"{I}/delete", WORK, url=lambda w: _i(w, "/delete"), form=lambda w: {}),
        Route("GET", f"{C}/synthesis", RANKING, url=lambda w: _c(w, "/synthesis")),
        Route("GET", f"{C}/synthesis/edit", ADMIN_ONLY, url=lambda w: _c(w, "/synthesis/edit"),
              notes=lead_only),
        Route("POST", f"{C}/synthesis/edit", ADMIN_ONLY, url=lambda w: _c(w, "/synthesis/edit"),
              form=synthesis_form, notes=lead_only),
    ]  # fmt: skip
