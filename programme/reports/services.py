"""The figures leadership reads: programme at a glance, region and wave reports, the story of
one site. Every figure is one aggregate SQL query over small tables (sites, waves, checklist
items, assignments) or the weekly KPI rollups; nothing here loads measurement rows or
queries once per site. Screens, the Excel/PDF exports and the monthly snapshots all read
these functions, so they always agree.

A `Scope` says which part of the network a report covers: the whole network (admins,
executives), one region or one site (a site manager's perimeter)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from flask import abort
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, bindparam, case, false, func, or_, select, text, true
from sqlalchemy.orm import Session, selectinload

from programme.auth.permissions import WHOLE_NETWORK, can
from programme.database import newest_value
from programme.deployment import services as deployment
from programme.deployment.models import (
    ACTIVE_STATUSES,
    DONE_STATES,
    Assignment,
    ChecklistItem,
    Coach,
    Engagement,
    Visit,
    Wave,
    WaveSite,
    coach_region,
)
from programme.diagnostics.models import (
    Campaign,
    Finding,
    Irritant,
    ObservationSession,
    step_label,
)
from programme.kpis.models import Kpi, KpiWeekRollup
from programme.network.models import Person, Region, Site
from programme.pilots.models import Pilot, PilotDecision, PilotSite
from programme.reports import cache as report_cache
from programme.web import words
from programme.weeks import week_start

# --- rules, stated once (the pages print them) ---------------------------------------------------

# RAG of a wave: red when actual progress is more than RED_BEHIND points behind plan or a site
# is past go-live with less than 80 % of the package in place; amber when more than
# AMBER_BEHIND points behind or any alert is open on the wave; green otherwise.
RED_BEHIND = 20
AMBER_BEHIND = 10
LATE_SHARE = deployment.LATE_PROGRESS
COMPLETENESS_WEEKS = 4
# A site × KPI is expected to report when it reported at least once in this many full weeks
# (the completeness window included): a site that never measured a KPI is not "missing" it.
EXPECTED_LOOKBACK_WEEKS = 16
TREND_WEEKS = 26
TOP_ALERTS = 5
# Most important first.
ALERT_ORDER = ("late_site", "regression", "over_capacity", "no_visit", "milestone_overdue")

RAG_LABELS = {"red": _l("Red"), "amber": _l("Amber"), "green": _l("Green")}

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


# --- scope -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """Which part of the network a report covers. `region_id` and `site_ids` both restrict
    (None = no restriction on that axis)."""

    key: str  # "network" | "region:<id>" | "site:<id>"
    label: str
    region_id: int | None
    site_ids: frozenset[int] | None

    @property
    def whole_network(self) -> bool:
        return self.region_id is None and self.site_ids is None


def network_scope() -> Scope:
    return Scope("network", _("Whole network"), None, None)


def scope_for(session: Session, user, region_id: int | None = None) -> Scope:
    """The scope of `user`'s reports: the whole network for whole-network roles (or one
    region when `region_id` is given); a site manager's region, or their site. A region
    outside the user's perimeter is a 403, an unknown region a 404."""
    if region_id is not None:
        region = session.get(Region, region_id)
        if region is None:
            abort(404)
        if user.role not in WHOLE_NETWORK and user.region_id != region_id:
            abort(403)
        return Scope(f"region:{region.id}", region.name, region.id, None)
    if user.role in WHOLE_NETWORK:
        return network_scope()
    if user.region_id is not None:
        region = session.get(Region, user.region_id)
        label = region.name if region else ""
        own = session.get(Site, user.site_id) if user.site_id is not None else None
        if own is not None and own.region_id != user.region_id:
            # A regional manager who also manages a site elsewhere: the region plus that site.
            ids = set(session.scalars(select(Site.id).where(Site.region_id == user.region_id)))
            return Scope(
                f"region:{user.region_id}",
                f"{label} + {own.code}",
                None,
                frozenset(ids | {own.id}),
            )
        return Scope(f"region:{user.region_id}", label, user.region_id, None)
    if user.site_id is not None:
        site = session.get(Site, user.site_id)
        label = f"{site.code} – {site.name}" if site else ""
        return Scope(f"site:{user.site_id}", label, None, frozenset({user.site_id}))
    return Scope("site:none", _("No site"), None, frozenset())


def may_open_region(user, region_id: int) -> bool:
    """Whether `user` may open the report of a region (the rule `scope_for` enforces)."""
    if not can(user, "view_reports"):
        return False
    return user.role in WHOLE_NETWORK or user.region_id == region_id


def _site_clause(scope: Scope, site_col=Site.id, region_col=Site.region_id):
    """A WHERE clause restricting `Site` (already joined) to the scope."""
    clauses = []
    if scope.region_id is not None:
        clauses.append(region_col == scope.region_id)
    if scope.site_ids is not None:
        clauses.append(site_col.in_(sorted(scope.site_ids)))
    return and_(*clauses) if clauses else true()


def _scope_sites(scope: Scope):
    """A subquery of the ids of the scope's sites."""
    return select(Site.id).where(_site_clause(scope)).scalar_subquery()


def _restrict(stmt, site_col, scope: Scope):
    """Restrict `stmt` on a column holding site ids; cheap for the whole network (no-op)."""
    if scope.whole_network:
        return stmt
    if scope.region_id is None and scope.site_ids is not None:
        return stmt.where(site_col.in_(sorted(scope.site_ids)))
    return stmt.where(site_col.in_(_scope_sites(scope)))


# --- funnel ----------------------------------------------------------------------------------


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


def _sustained_pairs(today: date):
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
        return _sustained_pairs(today)
    raise KeyError(stage)


STAGE_KEYS = tuple(key for key, _label, _definition in FUNNEL_STAGES)


@dataclass
class StagePage:
    stage: FunnelStage
    sites: list[tuple[int, str, str, str]]  # id, code, name, region
    total: int
    page: int
    pages: int


def stage_sites(
    session: Session, scope: Scope, stage: str, today: date, page: int = 1, page_size: int = 50
) -> StagePage:
    """The sites of the scope at one funnel stage, by code, one page at a time."""
    ids = stage_site_ids(stage, today)
    where = and_(_site_clause(scope), Site.id.in_(ids))
    total = session.scalar(select(func.count(Site.id)).where(where)) or 0
    pages = max((total + page_size - 1) // page_size, 1)
    page = min(max(page, 1), pages)
    rows = session.execute(
        select(Site.id, Site.code, Site.name, Region.name)
        .join(Region, Region.id == Site.region_id)
        .where(where)
        .order_by(Site.code)
        .offset((page - 1) * page_size)
        .limit(page_size)
    ).all()
    all_sites = session.scalar(select(func.count(Site.id)).where(_site_clause(scope))) or 0
    label, definition = next((lb, d) for k, lb, d in FUNNEL_STAGES if k == stage)
    return StagePage(
        FunnelStage(stage, str(label), str(definition), total, all_sites),
        [tuple(r) for r in rows],
        total,
        page,
        pages,
    )


def deltas_for(session: Session, scope: Scope, headline: dict, today: date) -> list:
    """This month against the last monthly snapshot (`programme.reports.snapshots`);
    [] when snapshots are not available."""
    try:
        from programme.reports.snapshots import compare
    except ImportError:
        return []
    try:
        return list(compare(session, scope, headline, today))
    except Exception:  # noqa: BLE001 - the dashboard must show even without deltas
        import logging

        logging.getLogger(__name__).exception("snapshot comparison failed")
        return []


def funnel_counts(session: Session, scope: Scope, today: date) -> dict[str, int]:
    """Sites per funnel stage, in one round trip (one scalar subquery per stage)."""

    def distinct_sites(col, *where):
        stmt = select(func.count(func.distinct(col))).where(*where)
        return _restrict(stmt, col, scope).scalar_subquery()

    sustained = _sustained_pairs(today).subquery()
    row = session.execute(
        select(
            select(func.count(Site.id)).where(_site_clause(scope)).scalar_subquery(),
            distinct_sites(ObservationSession.site_id),
            distinct_sites(PilotSite.site_id, PilotSite.arm == "pilot"),
            distinct_sites(WaveSite.site_id),
            _restrict(
                select(func.count(func.distinct(WaveSite.site_id)))
                .join(Wave, Wave.id == WaveSite.wave_id)
                .where(Wave.go_live <= today),
                WaveSite.site_id,
                scope,
            ).scalar_subquery(),
            _restrict(
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


# --- waves and RAG ---------------------------------------------------------------------------


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


def _per_site_share(scope: Scope, wave_ids: list[int] | None = None):
    stmt = select(
        ChecklistItem.wave_id.label("wave_id"),
        ChecklistItem.site_id.label("site_id"),
        func.avg(case((ChecklistItem.state.in_(DONE_STATES), 1.0), else_=0.0)).label("share"),
    ).group_by(ChecklistItem.wave_id, ChecklistItem.site_id)
    if wave_ids is not None:
        stmt = stmt.where(ChecklistItem.wave_id.in_(wave_ids))
    return _restrict(stmt, ChecklistItem.site_id, scope).subquery()


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
    n_sites = dict(session.execute(_restrict(n_sites_stmt, WaveSite.site_id, scope)).all())
    if wave_ids is not None:
        n_sites = {k: v for k, v in n_sites.items() if k in wave_ids}
    if not n_sites:
        return []
    per_site = _per_site_share(scope, list(n_sites))
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


# --- alerts ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class AlertRow:
    kind: str
    message: str
    wave_id: int | None
    wave_name: str | None
    site_id: int | None


def scoped_alerts(
    session: Session, scope: Scope, today: date, wave_id: int | None = None
) -> list[AlertRow]:
    """The deployment alerts of the scope, most important first (late sites, regressions,
    coaches over capacity, missing visits, overdue milestones). Alerts about a site are kept
    when the site is in scope; wave-level alerts when the wave has a site in scope; coach
    alerts for the whole network only."""
    found = deployment.alerts(session, today, wave_id)
    if not found:
        return []
    names = dict(session.execute(select(Wave.id, Wave.name)).all())
    if scope.whole_network:
        visible_sites = None
        visible_waves = None
    else:
        visible_sites = set(session.scalars(select(Site.id).where(_site_clause(scope))))
        visible_waves = set(
            session.scalars(
                select(WaveSite.wave_id).where(WaveSite.site_id.in_(_scope_sites(scope)))
            )
        )
    rows = []
    for alert in found:
        if visible_sites is not None:
            if alert.site_id is not None:
                if alert.site_id not in visible_sites:
                    continue
            elif alert.coach_id is not None or alert.wave_id not in visible_waves:
                continue
        rows.append(
            AlertRow(
                alert.kind,
                alert.message,
                alert.wave_id,
                names.get(alert.wave_id),
                alert.site_id,
            )
        )
    rank = {kind: i for i, kind in enumerate(ALERT_ORDER)}
    rows.sort(key=lambda a: (rank.get(a.kind, len(rank)), a.wave_id or 0))
    return rows


def alerts_per_wave(rows: list[AlertRow]) -> dict[int, int]:
    counts: dict[int, int] = defaultdict(int)
    for row in rows:
        if row.wave_id is not None:
            counts[row.wave_id] += 1
    return dict(counts)


# --- coaches ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class CoachCapacity:
    coaches: int  # seconded today
    sites_assigned: int  # site assignments running today in active waves
    capacity: int  # Σ capacity of those coaches
    over_capacity: int  # coaches with more sites than their capacity

    @property
    def load(self) -> float | None:
        return self.sites_assigned / self.capacity if self.capacity else None


def _active_coach_clause(today: date):
    return and_(
        Coach.secondment_start <= today,
        or_(Coach.secondment_end.is_(None), Coach.secondment_end >= today),
    )


def coach_capacity(session: Session, scope: Scope, today: date) -> CoachCapacity:
    """Coaches on secondment today (in a region scope: those covering the region), their
    sites in active deployment today and their capacity: two aggregate queries."""
    loads_stmt = (
        select(Assignment.coach_id.label("coach_id"), func.count().label("n"))
        .join(Wave, Wave.id == Assignment.wave_id)
        .where(
            Wave.status.in_(ACTIVE_STATUSES),
            Assignment.start_on <= today,
            Assignment.end_on >= today,
        )
        .group_by(Assignment.coach_id)
        .subquery()
    )
    coaches = select(Coach.id, Coach.capacity).where(_active_coach_clause(today))
    if not scope.whole_network:
        in_scope = or_(
            Coach.id.in_(
                select(Assignment.coach_id).where(Assignment.site_id.in_(_scope_sites(scope)))
            ),
            Coach.id.in_(
                select(coach_region.c.coach_id).where(coach_region.c.region_id == scope.region_id)
            )
            if scope.region_id is not None
            else false(),
        )
        coaches = coaches.where(in_scope)
    coaches = coaches.subquery()
    load = func.coalesce(loads_stmt.c.n, 0)
    row = session.execute(
        select(
            func.count(coaches.c.id),
            func.coalesce(func.sum(load), 0),
            func.coalesce(func.sum(coaches.c.capacity), 0),
            func.coalesce(func.sum(case((load > coaches.c.capacity, 1), else_=0)), 0),
        ).select_from(coaches.outerjoin(loads_stmt, loads_stmt.c.coach_id == coaches.c.id))
    ).one()
    return CoachCapacity(*(int(v or 0) for v in row))


@dataclass(frozen=True)
class CoachRow:
    coach_id: int
    name: str
    capacity: int
    load_today: int
    sites_here: int  # assignments on the scope's sites (or this wave's) running today
    sites_assigned: int = 0  # assignments on the scope's sites (or this wave's), active waves


def coaches_working(
    session: Session, today: date, site_scope: Scope, wave_id: int | None = None
) -> list[CoachRow]:
    """Coaches with an assignment on the scope's sites (or in one wave) in an active wave,
    with their load today: one aggregate query."""
    running = and_(Assignment.start_on <= today, Assignment.end_on >= today)
    here = select(Assignment.coach_id.label("coach_id"), func.count().label("n_all"),
                  func.sum(case((running, 1), else_=0)).label("n_today"))  # fmt: skip
    here = here.join(Wave, Wave.id == Assignment.wave_id).where(Wave.status.in_(ACTIVE_STATUSES))
    if wave_id is not None:
        here = here.where(Assignment.wave_id == wave_id)
    here = _restrict(here, Assignment.site_id, site_scope).group_by(Assignment.coach_id).subquery()
    loads = (
        select(Assignment.coach_id.label("coach_id"), func.count().label("n"))
        .join(Wave, Wave.id == Assignment.wave_id)
        .where(Wave.status.in_(ACTIVE_STATUSES), running)
        .group_by(Assignment.coach_id)
        .subquery()
    )
    rows = session.execute(
        select(
            Coach.id,
            Person.full_name,
            Coach.capacity,
            func.coalesce(loads.c.n, 0),
            func.coalesce(here.c.n_today, 0),
            func.coalesce(here.c.n_all, 0),
        )
        .join(here, here.c.coach_id == Coach.id)
        .join(Person, Person.id == Coach.person_id)
        .outerjoin(loads, loads.c.coach_id == Coach.id)
        .order_by(Person.full_name)
    ).all()
    return [
        CoachRow(cid, name, cap, int(load), int(today_n), int(all_n))
        for cid, name, cap, load, today_n, all_n in rows
    ]


# --- data completeness -----------------------------------------------------------------------


@dataclass(frozen=True)
class Completeness:
    start: date
    end: date
    present: int  # site-days (site-weeks for weekly KPIs) measured
    expected: int

    @property
    def share(self) -> float | None:
        return self.present / self.expected if self.expected else None


def _least(session: Session, a, b):
    """The smaller of two values (SQLite spells it min(a, b), PostgreSQL least(a, b))."""
    if session.get_bind().dialect.name == "sqlite":
        return func.min(a, b)
    return func.least(a, b)


def _weekly_rollups(
    session: Session,
    kpi_ids: list[int],
    first: date,
    last: date,
    region_id: int | None = None,
    site_ids: list[int] | None = None,
) -> list[tuple]:
    """(kpi_id, week, Σ value·n, Σ n, sites) per KPI and week over some sites' rollups.

    Written as `site CROSS JOIN kpi_rollup_week`: SQLite keeps that join order, so it walks
    the chosen sites and reads their rows through the rollup's primary key (site, KPI,
    week), ≈ 20,000 rows for a region at network scale, where its planner would otherwise
    (no statistics) take the (KPI, week) index and read every site's rows of those weeks.
    PostgreSQL plans it freely."""
    if not kpi_ids:
        return []
    clauses = [
        "r.site_id = s.id",
        "r.kpi_id IN :kpi_ids",
        "r.week_start >= :first",
        "r.week_start <= :last",
        "r.count > 0",
    ]
    params: dict[str, Any] = {"kpi_ids": list(kpi_ids), "first": first, "last": last}
    bind = [bindparam("kpi_ids", expanding=True)]
    if region_id is not None:
        clauses.append("s.region_id = :region_id")
        params["region_id"] = region_id
    if site_ids is not None:
        if not site_ids:
            return []
        clauses.append("s.id IN :site_ids")
        params["site_ids"] = list(site_ids)
        bind.append(bindparam("site_ids", expanding=True))
    sql = text(
        "SELECT r.kpi_id, r.week_start, SUM(r.sum_vn), SUM(r.sum_n), COUNT(r.site_id) "
        "FROM site AS s CROSS JOIN kpi_rollup_week AS r WHERE "
        + " AND ".join(clauses)
        + " GROUP BY r.kpi_id, r.week_start"
    ).bindparams(*bind)
    rows = session.execute(sql, params).all()
    # SQLite returns the week as text through a raw statement.
    return [
        (
            k,
            date.fromisoformat(w) if isinstance(w, str) else w,
            float(vn or 0.0),
            int(n or 0),
            int(c or 0),
        )
        for k, w, vn, n, c in rows
    ]


# Audit events that change nothing a cached section shows: logins and account changes (the
# reader's perimeter is worked out per request, never cached) and monthly snapshots (the
# deltas are compared per request).
_STAMP_IGNORES = ("user", "snapshot")


def _kpi_stamp_columns() -> list:
    from programme.kpis.models import Measurement, MeasurementRevision

    return [
        newest_value(Measurement.id, Measurement.id),
        newest_value(Measurement.entered_at, Measurement.id),
        newest_value(MeasurementRevision.id, MeasurementRevision.id),
        newest_value(MeasurementRevision.replaced_at, MeasurementRevision.id),
        select(func.count(Kpi.id)).scalar_subquery(),
        select(func.max(Kpi.updated_at)).scalar_subquery(),
    ]


def data_stamp(session: Session) -> tuple:
    """A cheap stamp of the KPI data, in one round trip: the latest measurement and the
    latest correction (id and time, primary-key lookups) and the catalogue. Measurements
    are immutable and corrections add a revision, so any change to the rollups changes the
    stamp."""
    row = session.execute(select(*_kpi_stamp_columns())).one()
    return (str(session.get_bind().url), "kpi", tuple(row))


def programme_stamp(session: Session) -> tuple:
    """A cheap stamp of everything the leadership sections read, in one round trip: the KPI
    stamp plus the latest audit event (id and time). Every ORM write to waves, wave sites,
    checklist items, milestones, coaches, assignments, visits, engagement, diagnostics,
    pilots, sites and regions adds an audit event in the same transaction (programme.audit),
    so any such write changes the stamp (logins, account changes and snapshots are left
    out: see `_STAMP_IGNORES`). Also read: the highest id of the tables the
    sections count (a safety net for rows written without the ORM, e.g. bulk seeding) and
    the coach ↔ region links (a relationship change adds no audit event)."""
    from programme.audit import AuditEvent
    from programme.diagnostics.models import ObservationSession as Obs

    def top(column):
        return select(func.max(column)).scalar_subquery()

    links = select(
        func.count(),
        func.coalesce(func.sum(coach_region.c.coach_id * 1000 + coach_region.c.region_id), 0),
    ).subquery()
    row = session.execute(
        select(
            *_kpi_stamp_columns(),
            newest_value(AuditEvent.id, AuditEvent.id, AuditEvent.entity.notin_(_STAMP_IGNORES)),
            newest_value(AuditEvent.at, AuditEvent.id, AuditEvent.entity.notin_(_STAMP_IGNORES)),
            top(WaveSite.id),
            top(ChecklistItem.id),
            top(Assignment.id),
            top(Visit.id),
            top(Engagement.id),
            top(Obs.id),
            top(PilotSite.id),
            top(PilotDecision.id),
            top(Site.id),
            select(links.c[0]).scalar_subquery(),
            select(links.c[1]).scalar_subquery(),
        )
    ).one()
    return (str(session.get_bind().url), "programme", tuple(row))


def _cached(session: Session, key: tuple, compute, stamp=data_stamp):
    """`compute(session)` memoised against a data stamp (`data_stamp` for figures read from
    the rollups, `programme_stamp` for sections that also read waves, checklists, visits…),
    so the dashboard does not re-aggregate them per request: in Redis when configured
    (shared by every worker), else in the process; after a data change the previous value
    is served (with its "as of" time) while one worker recomputes it, at most once per
    REPORT_REFRESH_SECONDS (see `programme.reports.cache.cached`).

    `compute` receives the session to read from: the request's, or a background refresh's
    own, so it must not use ORM instances loaded by the request (read them again by id).
    Cached values are plain data (dataclasses of text, numbers and dates), never ORM
    instances, which would expire or detach across requests; keys carry the day where it
    matters, never the language: words are applied at render time (programme.web.words)."""
    return report_cache.cached(session, key, compute, stamp)


def completeness(session: Session, scope: Scope, today: date) -> Completeness:
    """Data completeness of the scope over the last 4 full weeks (see `_completeness`),
    cached against the KPI data stamp."""
    key = ("completeness", scope.key, scope.site_ids, week_start(today))
    return _cached(session, key, lambda s: _completeness(s, scope, today))


def _completeness(session: Session, scope: Scope, today: date) -> Completeness:
    """Measured vs expected periods over the last 4 full ISO weeks, from the rollups.

    Expected: every site × active KPI that reported at least once in the last 16 full weeks,
    every day (daily KPI) or once a week (weekly KPI) of the window. One query, driven by
    site × KPI so that each rollup lookup uses the rollup's primary key (site, KPI, week)."""
    last_monday = week_start(today) - timedelta(weeks=1)
    first = last_monday - timedelta(weeks=COMPLETENESS_WEEKS - 1)
    lookback = last_monday - timedelta(weeks=EXPECTED_LOOKBACK_WEEKS - 1)
    per_week = case((Kpi.period == "day", 7), else_=1)
    same_pair = and_(KpiWeekRollup.site_id == Site.id, KpiWeekRollup.kpi_id == Kpi.id)
    present = (
        select(func.coalesce(func.sum(_least(session, KpiWeekRollup.count, per_week)), 0))
        .where(
            same_pair,
            KpiWeekRollup.week_start >= first,
            KpiWeekRollup.week_start <= last_monday,
            KpiWeekRollup.count > 0,
        )
        .correlate(Site, Kpi)
        .scalar_subquery()
    )
    reported = (
        select(KpiWeekRollup.site_id)
        .where(
            same_pair,
            KpiWeekRollup.week_start >= lookback,
            KpiWeekRollup.week_start <= last_monday,
            KpiWeekRollup.count > 0,
        )
        .correlate(Site, Kpi)
        .exists()
    )
    pairs = (
        select(present.label("present"), per_week.label("per_week"))
        .select_from(Site)
        .join(Kpi, true())
        .where(Kpi.active.is_(True), _site_clause(scope), reported)
        .subquery()
    )
    row = session.execute(
        select(
            func.coalesce(func.sum(pairs.c.present), 0),
            func.coalesce(func.sum(pairs.c.per_week), 0),
        )
    ).one()
    return Completeness(
        first, last_monday + timedelta(days=6), int(row[0]), int(row[1]) * COMPLETENESS_WEEKS
    )


# --- KPI trends ------------------------------------------------------------------------------


@dataclass
class KpiTrend:
    kpi_id: int
    code: str
    name: str
    kind: str
    unit: str
    points: list[dict[str, Any]]  # week, week_end, value, n, sites

    @property
    def latest(self) -> float | None:
        values = [p["value"] for p in self.points if p["value"] is not None]
        return values[-1] if values else None


def kpi_trends(
    session: Session,
    today: date,
    scope: Scope | None = None,
    site_ids: list[int] | None = None,
    weeks: int = TREND_WEEKS,
) -> list[KpiTrend]:
    """Weekly n-weighted mean of every active KPI over the scope's sites (or the given sites),
    last `weeks` full weeks: one GROUP BY over the rollups."""
    last = week_start(today) - timedelta(weeks=1)
    first = last - timedelta(weeks=weeks - 1)
    kpis = list(session.scalars(select(Kpi).where(Kpi.active.is_(True)).order_by(Kpi.code)))
    if not kpis:
        return []
    scoped_ids = None
    if scope is not None and scope.site_ids is not None:
        scoped_ids = sorted(scope.site_ids)
    if site_ids is not None:
        scoped_ids = sorted(set(site_ids) & set(scoped_ids)) if scoped_ids is not None else site_ids
    rows = _weekly_rollups(
        session,
        [k.id for k in kpis],
        first,
        last,
        region_id=scope.region_id if scope is not None else None,
        site_ids=scoped_ids,
    )
    data = {(k, w): (vn, n, s) for k, w, vn, n, s in rows}
    trends = []
    for kpi in kpis:
        points = []
        for i in range(weeks):
            week = first + timedelta(weeks=i)
            vn, n, s = data.get((kpi.id, week), (0.0, 0, 0))
            points.append(
                {
                    "week": week.isoformat(),
                    "week_date": week,
                    "week_end": (week + timedelta(days=7)).isoformat(),
                    "value": (vn / n) if n else None,
                    "n": int(n or 0),
                    "sites": int(s or 0),
                }
            )
        if any(p["value"] is not None for p in points):
            trends.append(
                KpiTrend(kpi.id, kpi.code, words.kpi_name(kpi), kpi.kind, kpi.unit, points)
            )
    return trends


@dataclass
class EventTimeTrend:
    """A KPI around a wave's go-live: weekly mean of the wave's sites, weeks since go-live."""

    code: str
    name: str
    kind: str
    unit: str
    points: list[dict[str, Any]]  # offset (weeks since go-live), week, value, n
    pre_mean: float | None
    post_mean: float | None


def event_time_trends(
    session: Session, wave: Wave, site_ids: list[int], today: date, weeks: int = 8
) -> list[EventTimeTrend]:
    """Pre/post go-live KPI trend of the wave's sites: weeks −W..W−1 around the go-live
    week (only full weeks up to today), one GROUP BY over the rollups."""
    if not site_ids:
        return []
    g = week_start(wave.go_live)
    first = g - timedelta(weeks=weeks)
    last = min(g + timedelta(weeks=weeks - 1), week_start(today) - timedelta(weeks=1))
    kpis = list(session.scalars(select(Kpi).where(Kpi.active.is_(True)).order_by(Kpi.code)))
    rows = _weekly_rollups(session, [k.id for k in kpis], first, last, site_ids=site_ids)
    data = {(k, w): (vn, n) for k, w, vn, n, _sites in rows}
    result = []
    for kpi in kpis:
        points = []
        sums = {"pre": [0.0, 0], "post": [0.0, 0]}
        week = first
        while week <= last:
            vn, n = data.get((kpi.id, week), (0.0, 0))
            offset = (week - g).days // 7
            points.append(
                {
                    "offset": offset,
                    "week": week.isoformat(),
                    "value": (vn / n) if n else None,
                    "n": int(n or 0),
                    "phase": "post" if offset >= 0 else "pre",
                }
            )
            phase = sums["post" if offset >= 0 else "pre"]
            phase[0] += vn or 0.0
            phase[1] += n or 0
            week += timedelta(weeks=1)
        if any(p["value"] is not None for p in points):
            result.append(
                EventTimeTrend(
                    kpi.code,
                    words.kpi_name(kpi),
                    kpi.kind,
                    kpi.unit,
                    points,
                    sums["pre"][0] / sums["pre"][1] if sums["pre"][1] else None,
                    sums["post"][0] / sums["post"][1] if sums["post"][1] else None,
                )
            )
    return result


# --- pilot results behind the package(s) ------------------------------------------------------


@dataclass
class PilotImpact:
    pilot_id: int
    pilot_name: str
    decided_on: date | None
    package_names: list[str]
    results: list[Any]  # programme.pilots.results.KpiResult


def go_pilots(session: Session, scope: Scope | None = None) -> list[PilotImpact]:
    """Pilots whose latest decision is 'go', with their KPI results (effect, interval, target
    reached) computed by the pilots domain, cached against the KPI data and the pilots' own
    state (decisions, edits), since the statistics read each pilot's rollups."""
    pilots_state = tuple(
        session.execute(
            select(
                select(func.max(PilotDecision.id)).scalar_subquery(),
                select(func.max(Pilot.updated_at)).scalar_subquery(),
                select(func.count(PilotSite.id)).scalar_subquery(),
            )
        ).one()
    )
    key = (
        "go_pilots",
        scope.key if scope else None,
        scope.site_ids if scope else None,
        pilots_state,
    )
    return _cached(session, key, lambda s: _go_pilots(s, scope))


def _go_pilots(session: Session, scope: Scope | None = None) -> list[PilotImpact]:
    from programme.pilots.services import pilot_results

    latest = (
        select(PilotDecision.pilot_id, func.max(PilotDecision.id).label("id"))
        .group_by(PilotDecision.pilot_id)
        .subquery()
    )
    stmt = (
        select(Pilot, PilotDecision.decided_on)
        .join(latest, latest.c.pilot_id == Pilot.id)
        .join(PilotDecision, PilotDecision.id == latest.c.id)
        .where(PilotDecision.decision == "go")
        .order_by(PilotDecision.decided_on, Pilot.name)
    )
    if scope is not None and not scope.whole_network:
        stmt = stmt.where(
            Pilot.id.in_(
                select(PilotSite.pilot_id).where(PilotSite.site_id.in_(_scope_sites(scope)))
            )
        )
    result = []
    for pilot, decided_on in session.execute(stmt):
        result.append(
            PilotImpact(
                pilot.id,
                pilot.name,
                decided_on,
                [p.name for p in pilot.packages],
                pilot_results(session, pilot),
            )
        )
    return result


def deployed_impacts(session: Session, fresh: bool = False) -> list | None:
    """What deployed sites achieve (deployment impact, computed and cached by
    `programme.reports.impact`: an `impact.HeadlineImpacts` list, possibly the previous
    figures marked stale while they are recomputed, unless `fresh`); None when that module
    is not available."""
    try:
        from programme.reports.impact import headline_impacts
    except ImportError:
        return None
    try:
        return headline_impacts(session, fresh=fresh)
    except Exception:  # noqa: BLE001 - the dashboard must show even if impact fails
        import logging

        logging.getLogger(__name__).exception("headline impacts failed")
        return None


# --- regions ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RegionRow:
    region_id: int
    name: str
    sites: int
    in_wave: int
    live: int
    progress: float | None  # mean progress of the region's sites in active waves


def region_rows(session: Session, scope: Scope, today: date) -> list[RegionRow]:
    """Per region of the scope: sites, sites in a wave, live sites and mean progress in
    active waves (two aggregate queries)."""
    in_wave = select(WaveSite.site_id)
    live = (
        select(WaveSite.site_id)
        .join(Wave, Wave.id == WaveSite.wave_id)
        .where(Wave.go_live <= today)
    )
    counts = session.execute(
        select(
            Region.id,
            Region.name,
            func.count(Site.id),
            func.sum(case((Site.id.in_(in_wave), 1), else_=0)),
            func.sum(case((Site.id.in_(live), 1), else_=0)),
        )
        .join(Site, Site.region_id == Region.id)
        .where(_site_clause(scope))
        .group_by(Region.id, Region.name)
        .order_by(Region.name)
    ).all()
    per_site = _per_site_share(scope)
    active = select(Wave.id).where(Wave.status.in_(ACTIVE_STATUSES))
    progress = dict(
        session.execute(
            select(Site.region_id, func.avg(per_site.c.share))
            .join(Site, Site.id == per_site.c.site_id)
            .where(per_site.c.wave_id.in_(active))
            .group_by(Site.region_id)
        ).all()
    )
    return [
        RegionRow(
            rid,
            name,
            int(n),
            int(w or 0),
            int(lv or 0),
            float(progress[rid]) if progress.get(rid) is not None else None,
        )
        for rid, name, n, w, lv in counts
    ]


# --- programme at a glance ---------------------------------------------------------------------


@dataclass
class Overview:
    scope: Scope
    today: date
    funnel: list[FunnelStage]
    waves: list[WaveStatus]
    alerts: list[AlertRow]  # all of them, most important first
    coaches: CoachCapacity
    completeness: Completeness
    regions: list[RegionRow]
    pilots: list[PilotImpact]
    impacts: list | None  # ImpactResult list, or None (not allowed / not available)
    headline: dict[str, int | float | None]
    kpis: dict[str, KpiUnit] | None = None  # the catalogue by code (units of impact figures)

    @property
    def top_alerts(self) -> list[AlertRow]:
        return self.alerts[:TOP_ALERTS]

    @property
    def sites_total(self) -> int:
        return self.funnel[0].total if self.funnel else 0

    @property
    def rag_rule(self) -> str:
        return rag_rule_text()


def rag_rule_text() -> str:
    return _(
        "Red: actual progress more than %(red)d points behind plan, or a site past go-live "
        "with less than 80 %% of the package in place. Amber: more than %(amber)d points "
        "behind plan, or any open alert. Green: otherwise. Plan: a straight line from 0 %% at "
        "the wave's start to 100 %% at go-live.",
        red=RED_BEHIND,
        amber=AMBER_BEHIND,
    )


def _mean_active_progress(waves: list[WaveStatus]) -> float | None:
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


def _headline(
    counts: dict[str, int],
    waves: list[WaveStatus],
    alerts: list[AlertRow],
    coaches: CoachCapacity,
    filled: Completeness,
    impacts: list | None,
) -> dict[str, int | float | None]:
    progress = _mean_active_progress(waves)
    figures: dict[str, int | float | None] = {
        "sites_total": counts["total"],
        "sites_diagnosed": counts["diagnosed"],
        "sites_piloted": counts["piloted"],
        "sites_in_wave": counts["in_wave"],
        "sites_live": counts["live"],
        "sites_sustained": counts["sustained"],
        "wave_progress_pct": round(progress * 100, 1) if progress is not None else None,
        "waves_red": sum(1 for w in waves if w.rag == "red" and w.status in ACTIVE_STATUSES),
        "open_alerts": len(alerts),
        "coaches": coaches.coaches,
        "coach_load_pct": round(coaches.load * 100, 1) if coaches.load is not None else None,
        "coaches_over_capacity": coaches.over_capacity,
        "completeness_pct": round(filled.share * 100, 1) if filled.share is not None else None,
    }
    for result in impacts or []:
        estimate = getattr(result, "estimate", None)
        figures[f"impact_{result.kpi_code}"] = float(estimate) if estimate is not None else None
    return figures


@dataclass(frozen=True)
class _Sections:
    """The overview's sections that read waves, checklists, coaches, diagnostics and pilots
    (plain data, cached against `programme_stamp`)."""

    counts: dict[str, int]
    alerts: list[AlertRow]
    waves: list[WaveStatus]
    coaches: CoachCapacity
    completeness: Completeness
    regions: list[RegionRow]
    pilots: list[PilotImpact]
    kpis: dict[str, KpiUnit]


@dataclass(frozen=True)
class KpiUnit:
    """What the glance needs of a catalogue KPI to print an impact figure (plain data)."""

    code: str
    name: str
    kind: str
    unit: str


def _sections(session: Session, scope: Scope, today: date) -> _Sections:
    """The overview's sections, cached against the programme stamp and the day. No language
    in the key: alert messages, RAG reasons and pilot readings are `Words`, worded in the
    reader's language when the page is rendered (programme.web.words)."""
    key = ("overview", scope.key, scope.site_ids, today)

    def compute(session: Session) -> _Sections:
        alerts = scoped_alerts(session, scope, today)
        return _Sections(
            counts=funnel_counts(session, scope, today),
            alerts=alerts,
            waves=wave_statuses(session, scope, today, alerts_per_wave(alerts)),
            coaches=coach_capacity(session, scope, today),
            # Read from the rollups: kept in their own KPI-stamped caches, so that a write
            # elsewhere (a checklist tick, a visit) does not recompute them.
            completeness=completeness(session, scope, today),
            regions=region_rows(session, scope, today),
            pilots=go_pilots(session, scope),
            kpis={
                k.code: KpiUnit(k.code, words.kpi_name(k), k.kind, k.unit)
                for k in session.scalars(select(Kpi))
            },
        )

    return _cached(session, key, compute, stamp=programme_stamp)


def headline_figures(session: Session, scope: Scope, today: date) -> dict[str, int | float | None]:
    """The flat figures monthly snapshots store and compare (stable keys; see `_headline`).
    Deployment impact (network-wide) is added for the whole-network scope only."""
    parts = _sections(session, scope, today)
    impacts = deployed_impacts(session, fresh=True) if scope.whole_network else None
    return _headline(
        parts.counts, parts.waves, parts.alerts, parts.coaches, parts.completeness, impacts
    )


def overview(
    session: Session, scope: Scope, user, today: date, fresh_impacts: bool = False
) -> Overview:
    """Everything the programme-at-a-glance screen (and the executive home) shows.
    `fresh_impacts`: wait for up-to-date deployment impact figures (exports) rather than
    show the previous ones, marked stale, while they are recomputed (screens)."""
    parts = _sections(session, scope, today)
    impacts = deployed_impacts(session, fresh_impacts) if can(user, "view_impact") else None
    headline_impacts = impacts if scope.whole_network else None
    return Overview(
        scope=scope,
        today=today,
        funnel=funnel(parts.counts),
        waves=parts.waves,
        alerts=parts.alerts,
        coaches=parts.coaches,
        completeness=parts.completeness,
        regions=parts.regions,
        pilots=parts.pilots,
        impacts=impacts,
        headline=_headline(
            parts.counts,
            parts.waves,
            parts.alerts,
            parts.coaches,
            parts.completeness,
            headline_impacts,
        ),
        kpis=parts.kpis if impacts else None,
    )


def dashboard(session: Session, user, region_id: int | None, today: date) -> dict:
    """What the programme-at-a-glance partials render (the /reports/ page and the
    executive's home): the overview, its chart specs and the deltas since last month."""
    from programme.reports import charts

    scope = scope_for(session, user, region_id)
    result = overview(session, scope, user, today)
    return {
        "ov": result,
        "funnel_spec": charts.funnel_spec(result.funnel),
        "waves_spec": charts.waves_timeline_spec(result.waves, today) if result.waves else None,
        "deltas": deltas_for(session, scope, result.headline, today),
        "rag_rule": rag_rule_text(),
    }


@dataclass(frozen=True)
class CampaignLine:
    """A diagnostic campaign as the home pages list it (plain data)."""

    id: int
    name: str
    completed: bool


def home_sections(session: Session, user) -> dict:
    """The network summary and the latest diagnostic campaigns of a whole-network reader's
    home (the executive's), as plain data cached against the programme stamp: sites,
    regions and campaigns are audited, so any change shows on the next render."""
    from programme.diagnostics import queries as diagnostics_queries
    from programme.network import queries as network_queries

    user_id = user.id

    def compute(session: Session) -> dict:
        from programme.auth.models import User

        reader = session.get(User, user_id)  # the request's instance is not this session's
        return {
            "summary": network_queries.network_summary(session, reader),
            "campaigns": [
                (CampaignLine(c.id, c.name, c.completed), int(sessions), int(findings))
                for c, sessions, findings in diagnostics_queries.campaigns(session)[:10]
            ],
        }

    return _cached(session, ("home", user.role), compute, stamp=programme_stamp)


# --- region report ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SiteRow:
    site_id: int
    code: str
    name: str
    wave_id: int | None
    wave_name: str | None
    go_live: date | None
    progress: float | None
    engagement: int | None
    asked_earlier: bool
    alerts: int


@dataclass(frozen=True)
class EngagementSummary:
    sites: int  # sites with an engagement recorded
    mean_score: float | None
    asked_earlier: int


@dataclass
class RegionReport:
    region: Region
    scope: Scope
    today: date
    funnel: list[FunnelStage]
    waves: list[WaveStatus]
    alerts: list[AlertRow]
    engagement: EngagementSummary
    trends: list[KpiTrend]
    coaches: list[CoachRow]
    completeness: Completeness
    sites: list[SiteRow]


def _latest_wave_per_site(session: Session, scope: Scope):
    """Per site of the scope, its most recent wave (by go-live): one query."""
    ranked = (
        select(
            WaveSite.site_id.label("site_id"),
            Wave.id.label("wave_id"),
            Wave.name.label("wave_name"),
            Wave.go_live.label("go_live"),
            func.row_number()
            .over(partition_by=WaveSite.site_id, order_by=(Wave.go_live.desc(), Wave.id.desc()))
            .label("rank"),
        )
        .join(Wave, Wave.id == WaveSite.wave_id)
        .where(WaveSite.site_id.in_(_scope_sites(scope)))
        .subquery()
    )
    return select(ranked).where(ranked.c.rank == 1).subquery()


def _engagementnewest_value(session: Session, scope: Scope):
    """Per site of the scope, its latest engagement (score, asked earlier): one query."""
    ranked = (
        select(
            Engagement.site_id.label("site_id"),
            Engagement.score.label("score"),
            Engagement.asked_earlier.label("asked_earlier"),
            func.row_number()
            .over(
                partition_by=Engagement.site_id,
                order_by=(Engagement.recorded_on.desc(), Engagement.id.desc()),
            )
            .label("rank"),
        )
        .where(Engagement.site_id.in_(_scope_sites(scope)))
        .subquery()
    )
    return select(ranked).where(ranked.c.rank == 1).subquery()


def site_rows(session: Session, scope: Scope, alerts: list[AlertRow]) -> list[SiteRow]:
    """Every site of the scope with its latest wave, progress there and latest engagement:
    one query (window functions for the latest wave and engagement)."""
    latest_wave = _latest_wave_per_site(session, scope)
    engagement = _engagementnewest_value(session, scope)
    share = func.avg(case((ChecklistItem.state.in_(DONE_STATES), 1.0), else_=0.0))
    progress = (
        select(
            ChecklistItem.wave_id.label("wave_id"),
            ChecklistItem.site_id.label("site_id"),
            share.label("share"),
        )
        .where(ChecklistItem.site_id.in_(_scope_sites(scope)))
        .group_by(ChecklistItem.wave_id, ChecklistItem.site_id)
        .subquery()
    )
    rows = session.execute(
        select(
            Site.id,
            Site.code,
            Site.name,
            latest_wave.c.wave_id,
            latest_wave.c.wave_name,
            latest_wave.c.go_live,
            progress.c.share,
            engagement.c.score,
            engagement.c.asked_earlier,
        )
        .outerjoin(latest_wave, latest_wave.c.site_id == Site.id)
        .outerjoin(
            progress,
            and_(progress.c.site_id == Site.id, progress.c.wave_id == latest_wave.c.wave_id),
        )
        .outerjoin(engagement, engagement.c.site_id == Site.id)
        .where(_site_clause(scope))
        .order_by(Site.code)
    ).all()
    per_site: dict[int, int] = defaultdict(int)
    for alert in alerts:
        if alert.site_id is not None:
            per_site[alert.site_id] += 1
    return [
        SiteRow(
            sid,
            code,
            name,
            wid,
            wname,
            go_live,
            float(share) if share is not None else None,
            score,
            bool(asked),
            per_site.get(sid, 0),
        )
        for sid, code, name, wid, wname, go_live, share, score, asked in rows
    ]


def engagement_summary(rows: list[SiteRow]) -> EngagementSummary:
    scores = [r.engagement for r in rows if r.engagement is not None]
    return EngagementSummary(
        len(scores),
        sum(scores) / len(scores) if scores else None,
        sum(1 for r in rows if r.engagement is not None and r.asked_earlier),
    )


def region_report(session: Session, region_id: int, today: date) -> RegionReport:
    """The region report: funnel, waves with RAG, alerts, engagement, weekly KPI trend,
    coaches working there and the table of its sites. Permission is checked by the caller
    (`scope_for`); an unknown region is a 404."""
    region = session.get(Region, region_id)
    if region is None:
        abort(404)
    scope = Scope(f"region:{region.id}", region.name, region.id, None)
    key = ("region_report", region.id, today)

    def compute(session: Session) -> dict:
        alerts = scoped_alerts(session, scope, today)
        sites = site_rows(session, scope, alerts)
        return {
            "funnel": funnel(funnel_counts(session, scope, today)),
            "waves": wave_statuses(session, scope, today, alerts_per_wave(alerts)),
            "alerts": alerts,
            "engagement": engagement_summary(sites),
            # Read from the rollups: kept in their own KPI-stamped caches (see `_sections`).
            "trends": _cached(
                session,
                ("trends", scope.key, week_start(today)),
                lambda s: kpi_trends(s, today, scope=scope),
            ),
            "coaches": coaches_working(session, today, scope),
            "completeness": completeness(session, scope, today),
            "sites": sites,
        }

    # Plain data only (the region itself is read per request): cached against the
    # programme stamp and the day (words are applied when rendered).
    sections = _cached(session, key, compute, stamp=programme_stamp)
    return RegionReport(region=region, scope=scope, today=today, **sections)


# --- wave report -----------------------------------------------------------------------------


@dataclass
class WaveReport:
    wave: Wave
    scope: Scope
    today: date
    status: WaveStatus | None
    s_curve: list[dict] | None  # whole wave; None for a restricted scope
    alerts: list[AlertRow]
    engagement: EngagementSummary
    sites: list[SiteRow]
    trends: list[EventTimeTrend]
    coaches: list[CoachRow]


def wave_report(session: Session, wave_id: int, scope: Scope, today: date) -> WaveReport:
    """One wave: progress and RAG, S-curve (whole network scope), alerts, engagement, KPI
    trend before/after go-live for its sites, coaches. For a restricted scope only the
    scope's sites of the wave count: 403 when the wave has none, 404 for an unknown wave."""
    wave = session.get(Wave, wave_id)
    if wave is None:
        abort(404)
    wave_sites = select(WaveSite.site_id).where(WaveSite.wave_id == wave.id)
    site_ids = list(session.scalars(_restrict(wave_sites, WaveSite.site_id, scope)))
    if not scope.whole_network and not site_ids:
        abort(403)
    wave_scope = Scope(f"wave:{wave.id}", wave.name, scope.region_id, frozenset(site_ids))
    key = ("wave_report", wave.id, scope.key, scope.site_ids, today)

    def compute(session: Session) -> dict:
        wave = session.get(Wave, wave_id)  # the request's instance is not this session's
        # The whole network also sees the alerts about the wave's coaches (over capacity).
        alert_scope = scope if scope.whole_network else wave_scope
        alerts = scoped_alerts(session, alert_scope, today, wave.id)
        statuses = wave_statuses(session, wave_scope, today, {wave.id: len(alerts)}, [wave.id])
        sites = _wave_site_rows(session, wave, site_ids, alerts)
        return {
            "status": statuses[0] if statuses else None,
            "s_curve": deployment.s_curve(session, wave, today) if scope.whole_network else None,
            "alerts": alerts,
            "engagement": engagement_summary(sites),
            "sites": sites,
            # Read from the rollups: kept in a KPI-stamped cache (see `_sections`).
            "trends": _cached(
                session,
                (
                    "event_time",
                    wave.go_live,
                    frozenset(site_ids),
                    week_start(today),
                ),  # fmt: skip
                lambda s: event_time_trends(s, wave, site_ids, today),
            ),
            "coaches": coaches_working(session, today, wave_scope, wave.id),
        }

    # Plain data only (the wave itself is read per request): cached against the programme
    # stamp and the day (words are applied when rendered).
    sections = _cached(session, key, compute, stamp=programme_stamp)
    return WaveReport(wave=wave, scope=scope, today=today, **sections)


def _wave_site_rows(
    session: Session, wave: Wave, site_ids: list[int], alerts: list[AlertRow]
) -> list[SiteRow]:
    if not site_ids:
        return []
    progress = deployment.site_progress(session, wave.id)
    latest = deployment.latest_engagement(session, site_ids)
    per_site: dict[int, int] = defaultdict(int)
    for alert in alerts:
        if alert.site_id is not None:
            per_site[alert.site_id] += 1
    rows = session.execute(
        select(Site.id, Site.code, Site.name).where(Site.id.in_(site_ids)).order_by(Site.code)
    ).all()
    return [
        SiteRow(
            sid,
            code,
            name,
            wave.id,
            wave.name,
            wave.go_live,
            progress.get(sid),
            latest[sid].score if sid in latest else None,
            bool(latest[sid].asked_earlier) if sid in latest else False,
            per_site.get(sid, 0),
        )
        for sid, code, name in rows
    ]


# --- site story ------------------------------------------------------------------------------


@dataclass(frozen=True)
class FindingRow:
    campaign_id: int
    campaign_name: str
    session_id: int
    observed_on: date
    journey_step: str
    description: str | None  # None when the reader may not see finding details
    severity: int
    irritant_id: int | None
    irritant_name: str | None


@dataclass(frozen=True)
class PilotRole:
    pilot_id: int
    pilot_name: str
    arm: str
    decision: str | None
    decision_label: str | None
    decided_on: date | None


@dataclass
class WaveStep:
    wave: Wave
    progress: float | None
    items: list[ChecklistItem]


@dataclass(frozen=True)
class KpiSummary:
    kpi_id: int
    code: str
    name: str
    kind: str
    unit: str
    last_4_weeks: float | None
    before_go_live: float | None  # 8 weeks before the go-live of the site's latest wave
    after_go_live: float | None  # 8 weeks from go-live (full weeks up to today)
    weeks_measured: int  # in the last 26 weeks


@dataclass
class SiteStory:
    site: Site
    today: date
    show_finding_details: bool
    sessions: int
    findings: list[FindingRow]
    pilots: list[PilotRole]
    waves: list[WaveStep]
    visits: list[Visit]
    engagement: list[Engagement]
    kpis: list[KpiSummary]


def site_story(session: Session, site_id: int, user, today: date) -> SiteStory:
    """The whole story of one site: diagnostic findings, pilot role, waves and checklist,
    visits, engagement and a KPI summary (each one query). Permission (may_see_site) is
    checked by the caller; an unknown site is a 404. Finding details (descriptions, links
    to sessions) are shown to roles that may read diagnostics; others see the journey step,
    severity and irritant only."""
    from programme.pilots.models import DECISIONS

    site = session.get(Site, site_id)
    if site is None:
        abort(404)
    details = can(user, "view_diagnostics")
    sessions = session.scalar(
        select(func.count(ObservationSession.id)).where(ObservationSession.site_id == site.id)
    )
    findings = [
        FindingRow(
            cid, cname, sid, observed, step_label(step), desc if details else None, sev, iid, iname
        )
        for cid, cname, sid, observed, step, desc, sev, iid, iname in session.execute(
            select(
                Campaign.id,
                Campaign.name,
                ObservationSession.id,
                ObservationSession.observed_on,
                Finding.journey_step,
                Finding.description,
                Finding.severity,
                Irritant.id,
                Irritant.name,
            )
            .join(ObservationSession, ObservationSession.id == Finding.session_id)
            .join(Campaign, Campaign.id == ObservationSession.campaign_id)
            .outerjoin(Irritant, Irritant.id == Finding.irritant_id)
            .where(ObservationSession.site_id == site.id)
            .order_by(Finding.severity.desc(), ObservationSession.observed_on.desc(), Finding.id)
            .limit(50)
        )
    ]
    latest = (
        select(PilotDecision.pilot_id, func.max(PilotDecision.id).label("id"))
        .group_by(PilotDecision.pilot_id)
        .subquery()
    )
    pilots = [
        PilotRole(
            pid,
            pname,
            arm,
            decision,
            str(DECISIONS[decision]) if decision in DECISIONS else None,
            decided_on,
        )
        for pid, pname, arm, decision, decided_on in session.execute(
            select(
                Pilot.id,
                Pilot.name,
                PilotSite.arm,
                PilotDecision.decision,
                PilotDecision.decided_on,
            )  # fmt: skip
            .join(PilotSite, PilotSite.pilot_id == Pilot.id)
            .outerjoin(latest, latest.c.pilot_id == Pilot.id)
            .outerjoin(PilotDecision, PilotDecision.id == latest.c.id)
            .where(PilotSite.site_id == site.id)
            .order_by(Pilot.pilot_start)
        )
    ]
    waves = list(
        session.scalars(
            select(Wave)
            .join(WaveSite, WaveSite.wave_id == Wave.id)
            .where(WaveSite.site_id == site.id)
            .order_by(Wave.go_live.desc())
        )
    )
    items_by_wave: dict[int, list[ChecklistItem]] = defaultdict(list)
    for item in session.scalars(
        select(ChecklistItem)
        .options(selectinload(ChecklistItem.element))
        .where(ChecklistItem.site_id == site.id)
        .order_by(ChecklistItem.wave_id, ChecklistItem.element_id)
    ):
        items_by_wave[item.wave_id].append(item)
    steps = []
    for wave in waves:
        items = items_by_wave.get(wave.id, [])
        done = sum(1 for i in items if i.state in DONE_STATES)
        steps.append(WaveStep(wave, done / len(items) if items else None, items))
    visits = list(
        session.scalars(
            select(Visit)
            .options(selectinload(Visit.coach).selectinload(Coach.person))
            .where(Visit.site_id == site.id)
            .order_by(Visit.visited_on.desc(), Visit.id.desc())
            .limit(20)
        )
    )
    engagement = list(
        session.scalars(
            select(Engagement)
            .where(Engagement.site_id == site.id)
            .order_by(Engagement.recorded_on.desc(), Engagement.id.desc())
            .limit(10)
        )
    )
    go_live = waves[0].go_live if waves else None
    return SiteStory(
        site=site,
        today=today,
        show_finding_details=details,
        sessions=int(sessions or 0),
        findings=findings,
        pilots=pilots,
        waves=steps,
        visits=visits,
        engagement=engagement,
        kpis=kpi_summaries(session, site.id, today, go_live),
    )


def kpi_summaries(
    session: Session, site_id: int, today: date, go_live: date | None, window: int = 8
) -> list[KpiSummary]:
    """Per KPI measured at the site: mean of the last 4 full weeks, and around the go-live
    of its latest wave (8 weeks before, 8 weeks from go-live): one GROUP BY over the
    site's rollups."""
    last = week_start(today) - timedelta(weeks=1)
    recent = last - timedelta(weeks=COMPLETENESS_WEEKS - 1)
    trend_first = last - timedelta(weeks=TREND_WEEKS - 1)
    week = KpiWeekRollup.week_start

    def phase(condition):
        return (
            func.sum(case((condition, KpiWeekRollup.sum_vn), else_=0.0)),
            func.sum(case((condition, KpiWeekRollup.sum_n), else_=0)),
        )

    cols = [*phase(and_(week >= recent, week <= last))]
    if go_live is not None:
        g = week_start(go_live)
        cols += [
            *phase(and_(week >= g - timedelta(weeks=window), week < g)),
            *phase(and_(week >= g, week < g + timedelta(weeks=window), week <= last)),
        ]
    cols.append(func.sum(case((and_(week >= trend_first, week <= last), 1), else_=0)))
    rows = session.execute(
        select(Kpi.id, Kpi.code, Kpi.kind, Kpi.unit, *cols)
        .join(KpiWeekRollup, KpiWeekRollup.kpi_id == Kpi.id)
        .where(KpiWeekRollup.site_id == site_id, KpiWeekRollup.count > 0)
        .group_by(Kpi.id, Kpi.code, Kpi.kind, Kpi.unit)
        .order_by(Kpi.code)
    ).all()
    kpis = {k.id: k for k in session.scalars(select(Kpi))}

    def ratio(vn, n):
        return float(vn) / float(n) if n else None

    result = []
    for row in rows:
        kid, code, kind, unit = row[:4]
        values = list(row[4:])
        before = after = None
        if go_live is not None:
            before, after = ratio(values[2], values[3]), ratio(values[4], values[5])
        result.append(
            KpiSummary(
                kid,
                code,
                kpis[kid].name,
                kind,
                unit,
                ratio(values[0], values[1]),
                before,
                after,
                int(values[-1] or 0),
            )
        )
    return result


__all__ = [
    "Scope",
    "scope_for",
    "overview",
    "headline_figures",
    "region_report",
    "wave_report",
    "site_story",
    "Overview",
    "RegionReport",
    "WaveReport",
    "SiteStory",
]
