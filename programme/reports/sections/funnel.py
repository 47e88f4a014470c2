"""The funnel: how many sites of a scope were diagnosed, piloted, put in a wave, went live
and sustained the package (each stage defined once, and printed on the pages)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from programme.deployment.models import ChecklistItem, Wave, WaveSite
from programme.diagnostics.models import ObservationSession
from programme.network.access import Scope, restrict, scope_clause
from programme.network.models import Site
from programme.pilots.models import PilotSite

FUNNEL_STAGES = (
    (
        "diagnosed",
        _l("Diagnosed"),
        _l("Sites with at least one observation session in a diagnostic campaign."),
    ),
    ("piloted", _l("Piloted"), _l("Sites in the pilot arm of a pilot (control sites excluded).")),
    ("in_wave", _l("In a wave"), _l("Sites in at least one deployment wave, whatever its status.")),
    ("live", _l("Live"), _l("Sites in a wave whose go-live date is today or past.")),
    (
        "sustained",
        _l("Sustained"),
        _l(
            "Live sites where every checklist element of the package is marked “sustained” "
            "in that wave."
        ),
    ),
)


@dataclass(frozen=True)
class FunnelStage:
    key: str
    label: str
    definition: str
    count: int
    total: int

    @property
    def share(self) -> float | None:
        return self.count / self.total if self.total else None


def sustained_pairs(today: date):
    """(wave, site) pairs past go-live whose every checklist element is sustained."""
    not_sustained = func.sum(case((ChecklistItem.state != "sustained", 1), else_=0))
    return (
        select(ChecklistItem.site_id.label("site_id"))
        .join(Wave, Wave.id == ChecklistItem.wave_id)
        .where(Wave.go_live <= today)
        .group_by(ChecklistItem.wave_id, ChecklistItem.site_id)
        .having(not_sustained == 0)
    )


def stage_site_ids(stage: str, today: date):
    """A SELECT of the ids of the sites at one funnel stage (see FUNNEL_STAGES)."""
    if stage == "diagnosed":
        return select(ObservationSession.site_id)
    if stage == "piloted":
        return select(PilotSite.site_id).where(PilotSite.arm == "pilot")
    if stage == "in_wave":
        return select(WaveSite.site_id)
    if stage == "live":
        return (
            select(WaveSite.site_id)
            .join(Wave, Wave.id == WaveSite.wave_id)
            .where(Wave.go_live <= today)
        )
    if stage == "sustained":
        return sustained_pairs(today)
    raise KeyError(stage)


STAGE_KEYS = tuple(key for key, _label, _definition in FUNNEL_STAGES)


def funnel_counts(session: Session, scope: Scope, today: date) -> dict[str, int]:
    """Sites per funnel stage, in one round trip (one scalar subquery per stage)."""

    def distinct_sites(col, *where):
        stmt = select(func.count(func.distinct(col))).where(*where)
        return restrict(stmt, col, scope).scalar_subquery()

    sustained = sustained_pairs(today).subquery()
    row = session.execute(
        select(
            select(func.count(Site.id)).where(scope_clause(scope)).scalar_subquery(),
            distinct_sites(ObservationSession.site_id),
            distinct_sites(PilotSite.site_id, PilotSite.arm == "pilot"),
            distinct_sites(WaveSite.site_id),
            restrict(
                select(func.count(func.distinct(WaveSite.site_id)))
                .join(Wave, Wave.id == WaveSite.wave_id)
                .where(Wave.go_live <= today),
                WaveSite.site_id,
                scope,
            ).scalar_subquery(),
            restrict(
                select(func.count(func.distinct(sustained.c.site_id))), sustained.c.site_id, scope
            ).scalar_subquery(),
        )
    ).one()
    keys = ("total", "diagnosed", "piloted", "in_wave", "live", "sustained")
    return {key: int(value or 0) for key, value in zip(keys, row, strict=True)}


def funnel(counts: dict[str, int]) -> list[FunnelStage]:
    return [
        FunnelStage(key, str(label), str(definition), counts[key], counts["total"])
        for key, label, definition in FUNNEL_STAGES
    ]
