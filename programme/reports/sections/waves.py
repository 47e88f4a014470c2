"""Waves' progress against plan and their RAG (the rule stated once, printed on the pages)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from programme.deployment import services as deployment
from programme.deployment.models import ACTIVE_STATUSES, DONE_STATES, ChecklistItem, Wave, WaveSite
from programme.network.access import Scope, restrict
from programme.web import words

# Red when actual progress is more than RED_BEHIND points behind plan or a site is past
# go-live with less than 80 % of the package in place; amber when more than AMBER_BEHIND
# points behind or any alert is open on the wave; green otherwise.
RED_BEHIND = 20
AMBER_BEHIND = 10
LATE_SHARE = deployment.LATE_PROGRESS


RAG_LABELS = {"red": _l("Red"), "amber": _l("Amber"), "green": _l("Green")}


@dataclass(frozen=True)
class WaveStatus:
    wave_id: int
    name: str
    status: str
    status_label: str
    start: date
    go_live: date
    end: date
    n_sites: int  # in the scope
    planned: float  # share expected done today (straight line from start to go-live)
    actual: float | None  # mean of the sites' share of elements in place or sustained
    late_sites: int  # past go-live below 80 %
    alerts: int
    rag: str
    reason: str

    @property
    def behind_points(self) -> float | None:
        if self.actual is None:
            return None
        return round((self.planned - self.actual) * 100, 1)

    @property
    def rag_label(self) -> str:
        return str(RAG_LABELS[self.rag])


def planned_share(start: date, go_live: date, today: date) -> float:
    span = max((go_live - start).days, 1)
    return min(max((today - start).days / span, 0.0), 1.0)


def rag(planned: float, actual: float | None, late_sites: int, alerts: int) -> tuple[str, str]:
    """The RAG rule, with the reason in words (worded when shown: see programme.web.words)."""
    behind = (planned - (actual or 0.0)) * 100
    if behind > RED_BEHIND:
        return "red", words.lazy_gettext("%(points)d points behind plan.", points=round(behind))
    if late_sites:
        return "red", words.ngettext(
            "%(num)d site past go-live with less than 80 %% of the package in place.",
            "%(num)d sites past go-live with less than 80 %% of the package in place.",
            late_sites,
        )
    if behind > AMBER_BEHIND:
        return "amber", words.lazy_gettext("%(points)d points behind plan.", points=round(behind))
    if alerts:
        return "amber", words.ngettext("%(num)d open alert.", "%(num)d open alerts.", alerts)
    return "green", words.lazy_gettext("On plan, no open alert.")


def rag_rule_text() -> str:
    return _(
        "Red: actual progress more than %(red)d points behind plan, or a site past go-live "
        "with less than 80 %% of the package in place. Amber: more than %(amber)d points "
        "behind plan, or any open alert. Green: otherwise. Plan: a straight line from 0 %% at "
        "the wave's start to 100 %% at go-live.",
        red=RED_BEHIND,
        amber=AMBER_BEHIND,
    )


def per_site_share(scope: Scope, wave_ids: list[int] | None = None):
    stmt = select(
        ChecklistItem.wave_id.label("wave_id"),
        ChecklistItem.site_id.label("site_id"),
        func.avg(case((ChecklistItem.state.in_(DONE_STATES), 1.0), else_=0.0)).label("share"),
    ).group_by(ChecklistItem.wave_id, ChecklistItem.site_id)
    if wave_ids is not None:
        stmt = stmt.where(ChecklistItem.wave_id.in_(wave_ids))
    return restrict(stmt, ChecklistItem.site_id, scope).subquery()


def wave_statuses(
    session: Session,
    scope: Scope,
    today: date,
    alert_counts: dict[int, int] | None = None,
    wave_ids: list[int] | None = None,
) -> list[WaveStatus]:
    """Every wave touching the scope with its progress and RAG: three aggregate queries
    (waves with their scoped site counts, progress per wave, late sites per wave)."""
    alert_counts = alert_counts or {}
    n_sites_stmt = select(WaveSite.wave_id, func.count(WaveSite.site_id)).group_by(WaveSite.wave_id)
    n_sites = dict(session.execute(restrict(n_sites_stmt, WaveSite.site_id, scope)).all())
    if wave_ids is not None:
        n_sites = {k: v for k, v in n_sites.items() if k in wave_ids}
    if not n_sites:
        return []
    per_site = per_site_share(scope, list(n_sites))
    progress: dict[int, tuple[float, int]] = {}
    for wave_id, mean_share, late in session.execute(
        select(
            per_site.c.wave_id,
            func.avg(per_site.c.share),
            func.sum(case((per_site.c.share < LATE_SHARE, 1), else_=0)),
        ).group_by(per_site.c.wave_id)
    ):
        progress[wave_id] = (float(mean_share or 0), int(late or 0))
    result = []
    waves = session.scalars(select(Wave).where(Wave.id.in_(list(n_sites))).order_by(Wave.go_live))
    for wave in waves:
        actual, late = progress.get(wave.id, (None, 0))
        if actual is None and n_sites[wave.id]:
            actual = 0.0
        late_past = late if today > wave.go_live else 0
        planned = planned_share(wave.start, wave.go_live, today)
        colour, reason = rag(planned, actual, late_past, alert_counts.get(wave.id, 0))
        result.append(
            WaveStatus(
                wave.id,
                wave.name,
                wave.status,
                wave.status_label,
                wave.start,
                wave.go_live,
                wave.end,
                n_sites[wave.id],
                planned,
                actual,
                late_past,
                alert_counts.get(wave.id, 0),
                colour,
                reason,
            )
        )
    return result


def mean_active_progress(waves: list[WaveStatus]) -> float | None:
    """Mean progress of the scope's sites in active waves (sites weigh equally)."""
    total = sum(w.n_sites for w in waves if w.status in ACTIVE_STATUSES and w.actual is not None)
    if not total:
        return None
    return (
        sum(
            (w.actual or 0.0) * w.n_sites
            for w in waves
            if w.status in ACTIVE_STATUSES and w.actual is not None
        )
        / total
    )
