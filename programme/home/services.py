"""What needs each person today: the lines of their home page (and of their e-mail digest).

Every role's home is a short list of `Line`s, most urgent first, each a sentence in the
person's language and a link to the screen where it gets done. The same functions feed
the home page (`today`) and the digest (`lines_for`), so the two never disagree.

Urgency ranks: 0 overdue, 1 needs doing now (alerts, late items), 2 due this week,
3 worth a look. Within a rank, the line late for longest comes first.

The figures come from aggregates (one query per kind of line, never one per site); the
wave alerts are `deployment.services.alerts`, filtered to the person's sites.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from flask import url_for
from flask_babel import format_date, ngettext
from flask_babel import gettext as _
from sqlalchemy import and_, case, exists, func, or_, select
from sqlalchemy.orm import Session, selectinload

from programme.auth.roles import (
    ADMIN,
    COACH,
    DIAGNOSTICIAN,
    EXECUTIVE,
    PILOT_TEAM,
    SITE_MANAGER,
)
from programme.deployment import services as deployment
from programme.deployment.models import (
    ACTIVE_STATUSES,
    DONE_STATES,
    Assignment,
    ChecklistItem,
    Visit,
    Wave,
    WaveSite,
)
from programme.diagnostics import queries as diagnostics_queries
from programme.diagnostics.models import Campaign, Finding, ObservationSession, campaign_site
from programme.jobs.models import Job
from programme.kpis.models import Kpi, KpiUpload, KpiWeekRollup, Measurement
from programme.network.access import filter_sites
from programme.network.models import Site
from programme.pilots import services as pilot_services
from programme.pilots.models import Pilot, PilotKpi, PilotMember, PilotSite
from programme.reports.screens import site as site_screen
from programme.weeks import week_start

OVERDUE, NOW, THIS_WEEK, INFO = 0, 1, 2, 3
VISIT_CADENCE_DAYS = deployment.VISIT_GAP_DAYS  # no next visit planned: 14 days after the last
RECENT_FAILURES_DAYS = 7
DECISION_STAGES = ("evaluating",)


@dataclass
class Line:
    kind: str
    rank: int
    text: str
    endpoint: str | None
    params: dict[str, Any] = field(default_factory=dict)
    days: int = 0  # how late (sorts within a rank)
    site_id: int | None = None

    @property
    def overdue(self) -> bool:
        return self.rank == OVERDUE

    def url(self, external: bool = False) -> str | None:
        if self.endpoint is None:
            return None
        return url_for(self.endpoint, **self.params, _external=external)


def ordered(lines: list[Line]) -> list[Line]:
    return sorted(lines, key=lambda x: (x.rank, -x.days, str(x.text)))


def _site_label(code: str, name: str) -> str:
    return f"{code} · {name}"


def entry_week(today: date) -> tuple[date, list[date]]:
    """The week whose entries are checked: this week up to yesterday; on a Monday, the
    whole of last week (today's figures are not due before the day ends)."""
    monday = week_start(today)
    if today == monday:
        monday -= timedelta(weeks=1)
        return monday, [monday + timedelta(days=i) for i in range(7)]
    return monday, [monday + timedelta(days=i) for i in range((today - monday).days)]


def iso_week(day: date) -> str:
    iso = day.isocalendar()
    return f"{iso[0]}-W{iso[1]:02d}"


# --- coach -------------------------------------------------------------------------------------


@dataclass
class CoachSite:
    assignment: Assignment
    progress: float
    last_visit_on: date | None
    next_visit_on: date | None
    due_on: date | None
    late_items: int
    next_items: list[ChecklistItem]
    rank: int = INFO
    days: int = 0


def _visit_subqueries():
    last = (
        select(
            Visit.wave_id.label("wave_id"),
            Visit.site_id.label("site_id"),
            func.max(Visit.visited_on).label("last_on"),
        )
        .group_by(Visit.wave_id, Visit.site_id)
        .subquery()
    )
    planned = (
        select(
            Visit.wave_id.label("wave_id"),
            Visit.site_id.label("site_id"),
            func.max(Visit.next_visit_on).label("next_on"),
        )
        .join(
            last,
            and_(
                last.c.wave_id == Visit.wave_id,
                last.c.site_id == Visit.site_id,
                last.c.last_on == Visit.visited_on,
            ),
        )
        .group_by(Visit.wave_id, Visit.site_id)
        .subquery()
    )
    return last, planned


def _item_counts():
    done = case((ChecklistItem.state.in_(DONE_STATES), 1), else_=0)
    return (
        select(
            ChecklistItem.wave_id.label("wave_id"),
            ChecklistItem.site_id.label("site_id"),
            func.count(ChecklistItem.id).label("total"),
            func.sum(done).label("done"),
        )
        .group_by(ChecklistItem.wave_id, ChecklistItem.site_id)
        .subquery()
    )


def coach_sites(session: Session, user, today: date) -> list[CoachSite]:
    """The coach's sites in active waves with the visit due and the checklist counts (one
    query), and their next actions (one more)."""
    coach = deployment.coach_for_user(session, user)
    if coach is None:
        return []
    last, planned = _visit_subqueries()
    counts = _item_counts()
    rows = session.execute(
        select(Assignment, last.c.last_on, planned.c.next_on, counts.c.total, counts.c.done)
        .join(Wave, Wave.id == Assignment.wave_id)
        .outerjoin(
            last, and_(last.c.wave_id == Assignment.wave_id, last.c.site_id == Assignment.site_id)
        )
        .outerjoin(
            planned,
            and_(planned.c.wave_id == Assignment.wave_id, planned.c.site_id == Assignment.site_id),
        )
        .outerjoin(
            counts,
            and_(counts.c.wave_id == Assignment.wave_id, counts.c.site_id == Assignment.site_id),
        )
        .options(selectinload(Assignment.site), selectinload(Assignment.wave))
        .where(Assignment.coach_id == coach.id, Wave.status.in_(ACTIVE_STATUSES))
        .order_by(Assignment.start_on)
    ).all()
    pairs = {(a.wave_id, a.site_id) for a, *_ in rows}
    open_items: dict[tuple[int, int], list[ChecklistItem]] = {}
    if pairs:
        wave_ids = {w for w, _s in pairs}
        site_ids = {s for _w, s in pairs}
        for item in session.scalars(
            select(ChecklistItem)
            .options(selectinload(ChecklistItem.element))
            .where(
                ChecklistItem.wave_id.in_(wave_ids),
                ChecklistItem.site_id.in_(site_ids),
                ChecklistItem.state.not_in(DONE_STATES),
            )
            .order_by(ChecklistItem.element_id)
        ):
            open_items.setdefault((item.wave_id, item.site_id), []).append(item)
    result = []
    for a, last_on, next_on, total, done in rows:
        if a.end_on < today:
            due = None  # the accompaniment is over: no visit expected
        elif next_on is not None:
            due = next_on
        elif last_on is not None:
            due = last_on + timedelta(days=VISIT_CADENCE_DAYS)
        else:
            due = a.start_on
        # Items still not in place after go-live, while the coach accompanies the site.
        running = a.end_on >= today
        late = (total or 0) - int(done or 0) if running and today > a.wave.go_live else 0
        result.append(
            CoachSite(
                assignment=a,
                progress=(int(done or 0) / total) if total else 0.0,
                last_visit_on=last_on,
                next_visit_on=next_on,
                due_on=due,
                late_items=late,
                next_items=open_items.get((a.wave_id, a.site_id), [])[:3],
            )
        )
    return result


def coach_today(session: Session, user, today: date) -> tuple[list[Line], list[CoachSite]]:
    sites = coach_sites(session, user, today)
    week_end = week_start(today) + timedelta(days=6)
    lines: list[Line] = []
    for s in sites:
        a = s.assignment
        label = _site_label(a.site.code, a.site.name)
        target = {"wave_id": a.wave_id, "site_id": a.site_id}
        if s.due_on is not None and s.due_on < today:
            days = (today - s.due_on).days
            lines.append(
                Line(
                    "visit_overdue",
                    OVERDUE,
                    ngettext(
                        "Visit overdue at %(site)s: due %(date)s, %(num)d day ago.",
                        "Visit overdue at %(site)s: due %(date)s, %(num)d days ago.",
                        days,
                        site=label,
                        date=format_date(s.due_on),
                    ),
                    "deployment.site_detail",
                    target,
                    days,
                    a.site_id,
                )
            )
        elif s.due_on is not None and s.due_on <= week_end:
            lines.append(
                Line(
                    "visit_due",
                    THIS_WEEK,
                    _("Visit due at %(site)s on %(date)s.", site=label, date=format_date(s.due_on)),
                    "deployment.site_detail",
                    target,
                    0,
                    a.site_id,
                )
            )
        if s.late_items:
            lines.append(
                Line(
                    "items_late",
                    NOW,
                    ngettext(
                        "%(num)d checklist item is not in place at %(site)s, live since %(date)s.",
                        "%(num)d checklist items are not in place at %(site)s, live since %(date)s.",
                        s.late_items,
                        site=label,
                        date=format_date(a.wave.go_live),
                    ),
                    "deployment.site_detail",
                    target,
                    (today - a.wave.go_live).days,
                    a.site_id,
                )
            )
    mine = {(s.assignment.wave_id, s.assignment.site_id) for s in sites}
    coach = deployment.coach_for_user(session, user)
    # Only the waves where this coach works (their sites' regressions, their own load),
    # not the whole programme's alerts on every visit of the home page.
    coach_waves = {wave_id for wave_id, _site_id in mine}
    if coach is not None:
        coach_waves |= set(
            session.scalars(select(Assignment.wave_id).where(Assignment.coach_id == coach.id))
        )
    for alert in deployment.alerts(session, today, wave_ids=coach_waves):
        if alert.kind in ("regression",) and (alert.wave_id, alert.site_id) in mine:
            lines.append(
                Line(
                    alert.kind,
                    NOW,
                    alert.message,
                    "deployment.site_detail",
                    {"wave_id": alert.wave_id, "site_id": alert.site_id},
                    0,
                    alert.site_id,
                )
            )
        elif alert.kind == "over_capacity" and coach is not None and alert.coach_id == coach.id:
            lines.append(Line(alert.kind, NOW, alert.message, "deployment.capacity"))
    lines = ordered(lines)
    # Sites by urgency: the most urgent line of each site, then by code.
    urgency: dict[int, tuple[int, int]] = {}
    for line in lines:
        if line.site_id is not None and line.site_id not in urgency:
            urgency[line.site_id] = (line.rank, -line.days)
    sites.sort(
        key=lambda s: (*urgency.get(s.assignment.site_id, (INFO + 1, 0)), s.assignment.site.code)
    )
    for s in sites:
        s.rank, minus_days = urgency.get(s.assignment.site_id, (INFO + 1, 0))
        s.days = -minus_days
    return lines, sites


# --- measurements missing ----------------------------------------------------------------------


def _present(days: list[date], site_ids=None):
    """Per KPI and site: the number of days of `days` with a measurement. `site_ids` (a
    select of site ids) narrows it to those sites: read through the (site, KPI, date) key
    instead of scanning the whole week of the network."""
    statement = select(
        Measurement.kpi_id.label("kpi_id"),
        Measurement.site_id.label("site_id"),
        func.count(func.distinct(Measurement.period_date)).label("n"),
    ).where(Measurement.period_date >= days[0], Measurement.period_date <= days[-1])
    if site_ids is not None:
        statement = statement.where(Measurement.site_id.in_(site_ids))
    return statement.group_by(Measurement.kpi_id, Measurement.site_id).subquery()


def missing_for_sites(session: Session, user, today: date) -> list[Line]:
    """Daily KPIs the person's sites report (in the last 8 weeks) with days missing in the
    entry week: one line per KPI, linking to the grid on that KPI and week."""
    monday, days = entry_week(today)
    if not days:
        return []
    reporting = filter_sites(
        select(KpiWeekRollup.kpi_id.label("kpi_id"), KpiWeekRollup.site_id.label("site_id"))
        .join(Site, Site.id == KpiWeekRollup.site_id)
        .where(KpiWeekRollup.count > 0, KpiWeekRollup.week_start >= monday - timedelta(weeks=8))
        .distinct(),
        user,
    ).subquery()
    present = _present(days, select(reporting.c.site_id))
    rows = session.execute(
        select(
            Kpi,
            func.count(reporting.c.site_id),
            func.coalesce(func.sum(present.c.n), 0),
        )
        .join(reporting, reporting.c.kpi_id == Kpi.id)
        .outerjoin(
            present,
            and_(present.c.kpi_id == Kpi.id, present.c.site_id == reporting.c.site_id),
        )
        .where(Kpi.period == "day", Kpi.active.is_(True))
        .group_by(Kpi.id)
        .order_by(Kpi.code)
    ).all()
    lines = []
    for kpi, n_sites, present_days in rows:
        code, name = kpi.code, kpi.name
        missing = n_sites * len(days) - int(present_days)
        if missing > 0:
            lines.append(
                Line(
                    "missing_entries",
                    NOW,
                    ngettext(
                        "%(kpi)s: %(num)d day missing in the week of %(date)s.",
                        "%(kpi)s: %(num)d days missing in the week of %(date)s.",
                        missing,
                        kpi=name,
                        date=format_date(monday),
                    ),
                    "kpis.grid",
                    {"kpi": code, "week": iso_week(monday)},
                    missing,
                )
            )
    return lines


# --- site manager ------------------------------------------------------------------------------


@dataclass
class KpiAgainstTarget:
    code: str
    name: str
    kind: str
    unit: str
    last_4_weeks: float | None
    baseline: float | None
    target: float | None
    better: str

    @property
    def on_target(self) -> bool | None:
        if self.target is None or self.last_4_weeks is None:
            return None
        if self.better == "lower":
            return self.last_4_weeks <= self.target
        return self.last_4_weeks >= self.target


@dataclass
class SitePanel:
    site: Site
    wave: Wave | None
    progress: float | None
    items_done: int
    items_total: int
    kpis: list[KpiAgainstTarget]


def site_panel(session: Session, site: Site, today: date) -> SitePanel:
    """The manager's own site: its current wave and checklist, and its KPIs over the last
    4 weeks against the 8 weeks before go-live (baseline) and the pilot's target."""
    wave = deployment.active_wave_of_site(session, site.id)
    done = total = 0
    if wave is not None:
        total, done = session.execute(
            select(
                func.count(ChecklistItem.id),
                func.coalesce(
                    func.sum(case((ChecklistItem.state.in_(DONE_STATES), 1), else_=0)), 0
                ),
            ).where(ChecklistItem.wave_id == wave.id, ChecklistItem.site_id == site.id)
        ).one()
    targets: dict[int, float] = {}
    if wave is not None and wave.package is not None and wave.package.pilot_id is not None:
        targets = {
            kpi_id: target
            for kpi_id, target in session.execute(
                select(PilotKpi.kpi_id, PilotKpi.target_relative).where(
                    PilotKpi.pilot_id == wave.package.pilot_id,
                    PilotKpi.target_relative.is_not(None),
                )
            )
        }
    better = dict(session.execute(select(Kpi.id, Kpi.better)).all())
    summaries = site_screen.kpi_summaries(
        session, site.id, today, wave.go_live if wave is not None else None
    )
    kpis = []
    for k in summaries:
        baseline = k.before_go_live
        target = None
        if baseline is not None and k.kpi_id in targets:
            target = baseline * (1 + targets[k.kpi_id])
        kpis.append(
            KpiAgainstTarget(
                k.code,
                k.name,
                k.kind,
                k.unit,
                k.last_4_weeks,
                baseline,
                target,
                better.get(k.kpi_id, "higher"),
            )
        )
    return SitePanel(
        site, wave, (int(done) / int(total)) if total else None, int(done), int(total), kpis
    )


def _perimeter_site_ids(session: Session, user) -> set[int]:
    return set(session.scalars(filter_sites(select(Site.id), user)))


def case_lines(session: Session, user, now: datetime | None = None) -> list[Line]:
    """Customers to call back (the cases assigned to the person, one line per site) and,
    for a regional manager, each case of the region escalated to them (still to contact one
    working day after its deadline), the longest overdue first; two queries in all."""
    from programme.feedback import queries as feedback_queries
    from programme.feedback.services import site_zone

    now = now or datetime.now(UTC)
    lines = []
    for site in feedback_queries.cases_to_call(session, user, now):
        late = site.past_due
        lines.append(
            Line(
                "cases_to_call",
                OVERDUE if late else NOW,
                ngettext(
                    "%(num)d customer to call back at %(site)s, %(late)d past due.",
                    "%(num)d customers to call back at %(site)s, %(late)d past due.",
                    site.to_call,
                    site=site.site_code,
                    late=late,
                )
                if late
                else ngettext(
                    "%(num)d customer to call back at %(site)s.",
                    "%(num)d customers to call back at %(site)s.",
                    site.to_call,
                    site=site.site_code,
                ),
                "feedback.case_list",
                {"site": site.site_id, "status": "open"},
                max((now - site.oldest_due).total_seconds() / 86400, 0),
                site.site_id,
            )
        )
    for esc in feedback_queries.escalated_cases(session, user, now):
        due = esc.due_at.astimezone(site_zone(esc.time_zone)).date()
        lines.append(
            Line(
                "case_escalated",
                OVERDUE,
                _(
                    "Escalated to you: case %(id)d at %(site)s, a customer still to call "
                    "back since %(date)s (%(who)s).",
                    id=esc.id,
                    site=esc.site_code,
                    date=format_date(due),
                    who=esc.assignee or _("nobody assigned"),
                ),
                "feedback.case_detail",
                {"case_id": esc.id},
                # sorts within the rank: how late, to the second (the longest first)
                (now - esc.due_at).total_seconds() / 86400,
                esc.site_id,
            )
        )
    return lines


def site_manager_today(
    session: Session, user, today: date, now: datetime | None = None
) -> tuple[list[Line], SitePanel | None]:
    site_ids = _perimeter_site_ids(session, user)
    lines: list[Line] = case_lines(session, user, now)
    codes = dict(session.execute(select(Site.id, Site.code).where(Site.id.in_(site_ids))).all())
    # The alerts of the waves the perimeter's sites are in (not the whole programme's).
    waves = session.scalars(
        select(WaveSite.wave_id).where(WaveSite.site_id.in_(site_ids)).distinct()
    ).all()
    for alert in deployment.alerts(session, today, wave_ids=waves):
        if alert.site_id is not None and alert.site_id in site_ids:
            lines.append(
                Line(
                    alert.kind,
                    NOW,
                    alert.message,
                    "reports.site",
                    {"site_id": alert.site_id},
                    0,
                    alert.site_id,
                )
            )
    # Checklist items still not in place after go-live.
    late = session.execute(
        select(ChecklistItem.wave_id, ChecklistItem.site_id, Wave.go_live, func.count())
        .join(Wave, Wave.id == ChecklistItem.wave_id)
        .where(
            ChecklistItem.site_id.in_(site_ids),
            ChecklistItem.state.not_in(DONE_STATES),
            Wave.status.in_(ACTIVE_STATUSES),
            Wave.go_live < today,
        )
        .group_by(ChecklistItem.wave_id, ChecklistItem.site_id, Wave.go_live)
    ).all()
    for wave_id, site_id, go_live, n in late:
        lines.append(
            Line(
                "items_late",
                NOW,
                ngettext(
                    "%(num)d checklist item is not in place at %(site)s, live since %(date)s.",
                    "%(num)d checklist items are not in place at %(site)s, live since %(date)s.",
                    n,
                    site=codes.get(site_id, site_id),
                    date=format_date(go_live),
                ),
                "deployment.site_detail",
                {"wave_id": wave_id, "site_id": site_id},
                (today - go_live).days,
                site_id,
            )
        )
    lines += missing_for_sites(session, user, today)
    # Findings observed at the perimeter's sites in the last 90 days.
    since = today - timedelta(days=90)
    for site_id, code, n, last_on in session.execute(
        select(Site.id, Site.code, func.count(Finding.id), func.max(ObservationSession.observed_on))
        .join(ObservationSession, ObservationSession.site_id == Site.id)
        .join(Finding, Finding.session_id == ObservationSession.id)
        .where(Site.id.in_(site_ids), ObservationSession.observed_on >= since)
        .group_by(Site.id, Site.code)
        .order_by(Site.code)
    ):
        lines.append(
            Line(
                "findings",
                INFO,
                ngettext(
                    "%(num)d finding observed at %(site)s, the latest on %(date)s.",
                    "%(num)d findings observed at %(site)s, the latest on %(date)s.",
                    n,
                    site=code,
                    date=format_date(last_on),
                ),
                "reports.site",
                {"site_id": site_id},
                0,
                site_id,
            )
        )
    panel = None
    if user.site_id:
        site = session.get(Site, user.site_id)
        if site is not None:
            panel = site_panel(session, site, today)
    return ordered(lines), panel


# --- pilot team --------------------------------------------------------------------------------


@dataclass
class PilotReading:
    pilot: Pilot
    readings: list[tuple[str, str]]  # (KPI name, reading)


def _team_pilots(session: Session, user, stages: tuple[str, ...]) -> list[Pilot]:
    stmt = select(Pilot).where(Pilot.stage.in_(stages)).order_by(Pilot.pilot_start, Pilot.id)
    member = exists().where(PilotMember.pilot_id == Pilot.id, PilotMember.user_id == user.id)
    if session.scalar(select(exists().where(PilotMember.user_id == user.id))):
        stmt = stmt.where(member)  # a member of some pilots: those pilots only
    return list(session.scalars(stmt))


def pilots_awaiting_decision(session: Session, pilots: list[Pilot], today: date) -> list[Line]:
    lines = []
    for pilot in pilots:
        if pilot.stage in DECISION_STAGES or (pilot.stage == "running" and pilot.pilot_end < today):
            days = max((today - pilot.pilot_end).days, 0)
            lines.append(
                Line(
                    "decision",
                    OVERDUE if days > 14 else NOW,
                    _(
                        "%(pilot)s ended on %(date)s and awaits a decision.",
                        pilot=pilot.name,
                        date=format_date(pilot.pilot_end),
                    ),
                    "pilots.decision",
                    {"pilot_id": pilot.id},
                    days,
                )
            )
    return lines


def pilot_team_today(session: Session, user, today: date) -> tuple[list[Line], list[PilotReading]]:
    pilots = _team_pilots(session, user, ("running", "evaluating"))
    lines = pilots_awaiting_decision(session, pilots, today)
    monday, days = entry_week(today)
    running = [
        p.id
        for p in pilots
        if days and p.stage == "running" and p.baseline_start <= days[-1] and p.pilot_end >= monday
    ]
    if days and running:
        present = _present(days)
        rows = session.execute(
            select(
                Pilot.name,
                Kpi,
                func.count(PilotSite.id),
                func.coalesce(func.sum(present.c.n), 0),
            )
            .join(PilotKpi, PilotKpi.pilot_id == Pilot.id)
            .join(Kpi, Kpi.id == PilotKpi.kpi_id)
            .join(PilotSite, PilotSite.pilot_id == Pilot.id)
            .outerjoin(
                present,
                and_(present.c.kpi_id == Kpi.id, present.c.site_id == PilotSite.site_id),
            )
            .where(Pilot.id.in_(running), Kpi.period == "day")
            .group_by(Pilot.id, Pilot.name, Kpi.id)
            .order_by(Pilot.name, Kpi.code)
        ).all()
        for pname, kpi, n_sites, present_days in rows:
            code, kname = kpi.code, kpi.name
            missing = n_sites * len(days) - int(present_days)
            if missing > 0:
                lines.append(
                    Line(
                        "missing_entries",
                        NOW,
                        ngettext(
                            "%(pilot)s: %(num)d site-day missing for %(kpi)s in the week of %(date)s.",
                            "%(pilot)s: %(num)d site-days missing for %(kpi)s in the week of %(date)s.",
                            missing,
                            pilot=pname,
                            kpi=kname,
                            date=format_date(monday),
                        ),
                        "kpis.grid",
                        {"kpi": code, "week": iso_week(monday)},
                        missing,
                    )
                )
    readings = []
    for pilot in pilots:
        results = pilot_services.pilot_results(session, pilot)
        names = {pk.kpi.code: pk.kpi.name for pk in pilot.kpis}
        readings.append(
            PilotReading(pilot, [(names.get(r.kpi_code, r.kpi_code), r.reading) for r in results])
        )
    return ordered(lines), readings


# --- diagnostician -----------------------------------------------------------------------------


@dataclass
class CampaignInProgress:
    campaign: Campaign
    missing: list[str]
    sessions: int


def diagnostician_today(
    session: Session, user, today: date
) -> tuple[list[Line], list[CampaignInProgress], list[diagnostics_queries.SessionRow]]:
    campaigns = list(
        session.scalars(
            select(Campaign)
            .where(Campaign.completed_at.is_(None), Campaign.start_date <= today)
            .order_by(Campaign.end_date, Campaign.id)
        )
    )
    lines: list[Line] = []
    in_progress = []
    for campaign in campaigns:
        coverage = diagnostics_queries.coverage(session, campaign)
        missing = coverage.missing_labels()
        in_progress.append(CampaignInProgress(campaign, missing, coverage.sessions))
        if missing:
            late = campaign.end_date < today
            lines.append(
                Line(
                    "coverage",
                    OVERDUE
                    if late
                    else (THIS_WEEK if campaign.end_date <= today + timedelta(days=7) else NOW),
                    ngettext(
                        "%(campaign)s (ends %(date)s): %(num)d combination still to observe: %(list)s.",
                        "%(campaign)s (ends %(date)s): %(num)d combinations still to observe: %(list)s.",
                        len(missing),
                        campaign=campaign.name,
                        date=format_date(campaign.end_date),
                        list=", ".join(missing[:4]) + ("…" if len(missing) > 4 else ""),
                    ),
                    "diagnostics.campaign_detail",
                    {"campaign_id": campaign.id},
                    max((today - campaign.end_date).days, 0),
                )
            )
    own = []
    counts = (
        select(Finding.session_id, func.count(Finding.id).label("n"))
        .group_by(Finding.session_id)
        .subquery()
    )
    for obs, n in session.execute(
        select(ObservationSession, func.coalesce(counts.c.n, 0))
        .join(Campaign, Campaign.id == ObservationSession.campaign_id)
        .outerjoin(counts, counts.c.session_id == ObservationSession.id)
        .options(selectinload(ObservationSession.site), selectinload(ObservationSession.campaign))
        .where(ObservationSession.observer_id == user.id, Campaign.completed_at.is_(None))
        .order_by(ObservationSession.observed_on.desc(), ObservationSession.id.desc())
        .limit(10)
    ):
        own.append(diagnostics_queries.SessionRow(obs, int(n), 0))
        if not n and obs.observed_on <= today:
            lines.append(
                Line(
                    "session_empty",
                    NOW,
                    _(
                        "Your session at %(site)s on %(date)s has no finding recorded yet.",
                        site=_site_label(obs.site.code, obs.site.name),
                        date=format_date(obs.observed_on),
                    ),
                    "diagnostics.session_edit",
                    {"observation_id": obs.id},
                    (today - obs.observed_on).days,
                )
            )
    return ordered(lines), in_progress, own


# --- admin -------------------------------------------------------------------------------------


def _alert_line(alert: deployment.Alert, today: date) -> Line:
    if alert.kind == "over_capacity":
        return Line(alert.kind, NOW, alert.message, "deployment.capacity")
    if alert.kind == "milestone_overdue":
        return Line(
            alert.kind, OVERDUE, alert.message, "deployment.wave_detail", {"wave_id": alert.wave_id}
        )
    if alert.site_id is not None and alert.wave_id is not None:
        return Line(
            alert.kind,
            NOW,
            alert.message,
            "deployment.site_detail",
            {"wave_id": alert.wave_id, "site_id": alert.site_id},
            0,
            alert.site_id,
        )
    return Line(
        alert.kind, NOW, alert.message, "deployment.wave_detail", {"wave_id": alert.wave_id}
    )


def failed_jobs(session: Session, now: datetime) -> list[Line]:
    since = now - timedelta(days=RECENT_FAILURES_DAYS)
    uploads = {}
    rows = session.execute(
        select(Job.id, Job.kind, Job.finished_at, Job.error)
        .where(Job.status == "failed", or_(Job.finished_at >= since, Job.finished_at.is_(None)))
        .order_by(Job.id.desc())
        .limit(20)
    ).all()
    if rows:
        ids = [r[0] for r in rows]
        for up_id, check_id, import_id in session.execute(
            select(KpiUpload.id, KpiUpload.check_job_id, KpiUpload.import_job_id).where(
                or_(KpiUpload.check_job_id.in_(ids), KpiUpload.import_job_id.in_(ids))
            )
        ):
            for job_id in (check_id, import_id):
                if job_id is not None:
                    uploads[job_id] = up_id
    lines = []
    for job_id, kind, finished_at, error in rows:
        upload = uploads.get(job_id)
        when = format_date(finished_at.date()) if finished_at else "—"
        lines.append(
            Line(
                "job_failed",
                NOW,
                _(
                    "Job %(id)d (%(kind)s) failed on %(date)s: %(error)s",
                    id=job_id,
                    kind=kind,
                    date=when,
                    error=(error or "").strip().splitlines()[-1][:160] if error else "—",
                ),
                "kpis.import_status" if upload else "audit.event_list",
                {"upload_id": upload} if upload else {},
            )
        )
    return lines


def admin_today(session: Session, user, today: date, now: datetime | None = None) -> list[Line]:
    lines = [_alert_line(a, today) for a in deployment.alerts(session, today)]
    pilots = list(session.scalars(select(Pilot).where(Pilot.stage.in_(("running", "evaluating")))))
    lines += pilots_awaiting_decision(session, pilots, today)
    lines += failed_jobs(session, now or datetime.now(UTC))
    return ordered(lines)


# --- campaigns on the home pages ---------------------------------------------------------------


def visible_campaigns(session: Session, user, limit: int = 5) -> list[tuple[Campaign, int, int]]:
    """The latest campaigns for the home page: a site or regional manager sees only the
    campaigns that sample a site of their perimeter (not another region's)."""
    rows = diagnostics_queries.campaigns(session)
    if user.role != SITE_MANAGER:
        return rows[:limit]
    perimeter = filter_sites(select(Site.id), user)
    ids = set(
        session.scalars(
            select(campaign_site.c.campaign_id)
            .where(campaign_site.c.site_id.in_(perimeter.scalar_subquery()))
            .distinct()
        )
    )
    return [r for r in rows if r[0].id in ids][:limit]


# --- one entry point ---------------------------------------------------------------------------


def lines_for(session: Session, user, today: date, now: datetime | None = None) -> list[Line]:
    """What needs `user` today, most urgent first (the home's list, and the digest's)."""
    if user.role == COACH:
        return coach_today(session, user, today)[0]
    if user.role == SITE_MANAGER:
        return site_manager_today(session, user, today, now)[0]
    if user.role == PILOT_TEAM:
        return pilot_team_today(session, user, today)[0]
    if user.role == DIAGNOSTICIAN:
        return diagnostician_today(session, user, today)[0]
    if user.role == ADMIN:
        return admin_today(session, user, today, now)
    return []  # executives: the headline, not a to-do list


def today(session: Session, user, day: date) -> dict[str, Any]:
    """Everything a role's home shows besides the shared sections."""
    context: dict[str, Any] = {"lines": [], "today": day}
    if user.role == COACH:
        context["lines"], context["coach_sites"] = coach_today(session, user, day)
    elif user.role == SITE_MANAGER:
        context["lines"], context["panel"] = site_manager_today(session, user, day)
        context["loop_summary"] = _loop_summary(session, user)
    elif user.role == PILOT_TEAM:
        context["lines"], context["pilot_readings"] = pilot_team_today(session, user, day)
    elif user.role == DIAGNOSTICIAN:
        lines, in_progress, own = diagnostician_today(session, user, day)
        context.update(lines=lines, campaigns_in_progress=in_progress, own_sessions=own)
    elif user.role == ADMIN:
        context["lines"] = admin_today(session, user, day)
    elif user.role == EXECUTIVE:
        context["loop_summary"] = _loop_summary(session, user)
    return context


def _loop_summary(session: Session, user):
    """The close-the-loop figures of the person's perimeter."""
    from programme.feedback.queries import loop_summary

    return loop_summary(session, user)
