"""The deployment rules: waves and their sites, coach assignments and capacity, checklist
progress (with optimistic locking and history), visits, engagement, communication
milestones, progress figures and alerts. Functions take a session and plain values and
raise `Invalid` (per-field messages) or `Conflict` (a stale checklist save)."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

from flask_babel import format_date
from flask_babel import gettext as _
from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from programme.auth.models import User
from programme.deployment.models import (
    ACTIVE_STATUSES,
    BLOCKER_CATEGORIES,
    DEFAULT_CAPACITY,
    DEFAULT_MILESTONES,
    DEPLOYING_STATUSES,
    DONE_STATES,
    ITEM_STATES,
    STATE_RANK,
    WAVE_STATUSES,
    Assignment,
    ChecklistItem,
    Coach,
    CoachTraining,
    Engagement,
    Milestone,
    ProgressEvent,
    Visit,
    Wave,
    WaveSite,
)
from programme.errors import Conflict, Invalid
from programme.network.models import Person, Region, Site
from programme.pilots.models import Package, PackageElement
from programme.web import words

# Alert thresholds.
LATE_PROGRESS = 0.8
VISIT_GAP_DAYS = 14


def _add(errors: dict[str, list[str]], key: str, message: str) -> None:
    errors.setdefault(key, []).append(message)


def _actor(user) -> tuple[int | None, str]:
    return getattr(user, "id", None), getattr(user, "email", None) or "system"


# --- waves -------------------------------------------------------------------------------------


@dataclass
class WavePlan:
    name: str
    package_id: int | None
    start: date | None
    go_live: date | None
    site_codes: list[str] = field(default_factory=list)
    status: str = "planned"


def _sites_by_code(session: Session, codes: list[str]) -> dict[str, Site]:
    if not codes:
        return {}
    rows = session.scalars(select(Site).where(Site.code.in_(codes)))
    return {s.code: s for s in rows}


def busy_sites(
    session: Session, package_id: int, site_ids: list[int], except_wave: int | None = None
) -> dict[int, str]:
    """Sites already in another active wave of the package: site id → that wave's name."""
    if not site_ids:
        return {}
    stmt = (
        select(WaveSite.site_id, Wave.name)
        .join(Wave, Wave.id == WaveSite.wave_id)
        .where(
            Wave.package_id == package_id,
            Wave.status.in_(ACTIVE_STATUSES),
            WaveSite.site_id.in_(site_ids),
        )
    )
    if except_wave is not None:
        stmt = stmt.where(Wave.id != except_wave)
    return dict(session.execute(stmt).all())


def validate_wave(session: Session, plan: WavePlan, wave: Wave | None = None) -> list[Site]:
    """Check a plan; return its sites, or raise Invalid with per-field messages."""
    errors: dict[str, list[str]] = {}
    name = (plan.name or "").strip()
    if not name:
        _add(errors, "name", _("Give the wave a name."))
    else:
        clash = session.scalar(select(Wave.id).where(Wave.name == name))
        if clash is not None and (wave is None or clash != wave.id):
            _add(errors, "name", _("Another wave already has this name."))
    package = session.get(Package, plan.package_id) if plan.package_id else None
    if package is None:
        _add(errors, "package", _("Choose the package this wave deploys."))
    if plan.start is None:
        _add(errors, "start", _("Give the planned start date."))
    if plan.go_live is None:
        _add(errors, "go_live", _("Give the go-live date."))
    if plan.start and plan.go_live and plan.go_live < plan.start:
        _add(errors, "go_live", _("The go-live cannot come before the start."))
    if plan.status not in WAVE_STATUSES:
        _add(errors, "status", _("Choose a status."))
    codes = list(dict.fromkeys(c.strip().upper() for c in plan.site_codes if c.strip()))
    found = _sites_by_code(session, codes)
    unknown = [c for c in codes if c not in found]
    if unknown:
        _add(errors, "sites", _("Unknown site codes: %(codes)s.", codes=", ".join(unknown)))
    sites = [found[c] for c in codes if c in found]
    if package is not None and plan.status in ACTIVE_STATUSES:
        busy = busy_sites(
            session, package.id, [s.id for s in sites], wave.id if wave is not None else None
        )
        for site in sites:
            if site.id in busy:
                _add(
                    errors,
                    "sites",
                    _(
                        "%(code)s is already in the active wave “%(wave)s” of this package.",
                        code=site.code,
                        wave=busy[site.id],
                    ),
                )
    if errors:
        raise Invalid.from_fields(errors)
    return sites


def _add_site(session: Session, wave: Wave, site: Site, element_ids: list[int]) -> None:
    wave.sites.append(WaveSite(site_id=site.id))
    for element_id in element_ids:
        session.add(ChecklistItem(wave=wave, site_id=site.id, element_id=element_id))


def save_wave(session: Session, plan: WavePlan, wave: Wave | None = None) -> Wave:
    """Create a wave (or update one): entering the wave creates each site's checklist, one
    item per package element; a new wave gets the default communication plan."""
    sites = validate_wave(session, plan, wave)
    if wave is None:
        wave = Wave(
            name=plan.name.strip(),
            package_id=plan.package_id,
            start=plan.start,
            go_live=plan.go_live,
            status=plan.status,
        )
        session.add(wave)
        for kind, offset, audience in DEFAULT_MILESTONES:
            wave.milestones.append(Milestone(kind=kind, offset_days=offset, audience=audience))
    else:
        if wave.package_id != plan.package_id:
            raise Invalid.from_fields({"package": [_("The package of a wave cannot change.")]})
        wave.name = plan.name.strip()
        wave.start, wave.go_live, wave.status = plan.start, plan.go_live, plan.status
    element_ids = list(
        session.scalars(
            select(PackageElement.id).where(PackageElement.package_id == plan.package_id)
        )
    )
    present = {ws.site_id for ws in wave.sites}
    wanted = {s.id for s in sites}
    for ws in list(wave.sites):
        if ws.site_id not in wanted:
            wave.sites.remove(ws)
            for item in session.scalars(
                select(ChecklistItem).where(
                    ChecklistItem.wave_id == wave.id, ChecklistItem.site_id == ws.site_id
                )
            ):
                session.delete(item)
    for site in sites:
        if site.id not in present:
            _add_site(session, wave, site, element_ids)
    session.flush()
    return wave


def tick_milestone(session: Session, milestone: Milestone, done_on: date | None) -> Milestone:
    """Mark a milestone done on `done_on` (None: not done)."""
    milestone.done_on = done_on
    session.flush()
    return milestone


# --- coaches and assignments -------------------------------------------------------------------


def _overlaps(a_start: date, a_end: date, b_start: date, b_end: date) -> bool:
    return a_start <= b_end and b_start <= a_end


def active_assignments(session: Session, coach_id: int) -> list[Assignment]:
    """The coach's assignments in waves that are not closed."""
    return list(
        session.scalars(
            select(Assignment)
            .join(Wave, Wave.id == Assignment.wave_id)
            .where(Assignment.coach_id == coach_id, Wave.status.in_(ACTIVE_STATUSES))
        )
    )


def peak_load(periods: list[tuple[date, date]], start: date, end: date) -> int:
    """The largest number of `periods` running on one day between `start` and `end`."""
    days = sorted({max(s, start) for s, e in periods if _overlaps(s, e, start, end)})
    return max(
        (sum(1 for s, e in periods if s <= day <= e) for day in days),
        default=0,
    )


def assign_coach(
    session: Session, wave: Wave, site_id: int, coach: Coach, start: date | None, end: date | None
) -> Assignment:
    """Assign `coach` to a site of `wave` from `start` to `end`; refused with the reason when
    the dates fall outside the wave or the secondment, or the coach would exceed capacity."""
    errors: dict[str, list[str]] = {}
    if site_id not in {ws.site_id for ws in wave.sites}:
        _add(errors, "site", _("This site is not in the wave."))
    if start is None:
        _add(errors, "start", _("Give the start date."))
    if end is None:
        _add(errors, "end", _("Give the end date."))
    if start and end:
        if end < start:
            _add(errors, "end", _("The end cannot come before the start."))
        elif start < wave.start or end > wave.end:
            _add(
                errors,
                "start",
                _(
                    "The assignment must fall within the wave (%(start)s to %(end)s).",
                    start=wave.start.isoformat(),
                    end=wave.end.isoformat(),
                ),
            )
        elif start < coach.secondment_start or (
            coach.secondment_end is not None and end > coach.secondment_end
        ):
            _add(
                errors,
                "coach",
                _(
                    "The assignment falls outside %(coach)s's secondment (%(start)s to %(end)s).",
                    coach=coach.name,
                    start=coach.secondment_start.isoformat(),
                    end=coach.secondment_end.isoformat() if coach.secondment_end else "…",
                ),
            )
        elif wave.active:
            periods = [(a.start_on, a.end_on) for a in active_assignments(session, coach.id)]
            if peak_load(periods, start, end) >= coach.capacity:
                _add(
                    errors,
                    "coach",
                    _(
                        "%(coach)s already has %(n)d sites in deployment over this period "
                        "(capacity %(capacity)d).",
                        coach=coach.name,
                        n=peak_load(periods, start, end),
                        capacity=coach.capacity,
                    ),
                )
    if errors:
        raise Invalid.from_fields(errors)
    assignment = Assignment(
        wave_id=wave.id, site_id=site_id, coach_id=coach.id, start_on=start, end_on=end
    )
    session.add(assignment)
    session.flush()
    return assignment


def coach_for_user(session: Session, user) -> Coach | None:
    if user is None or getattr(user, "id", None) is None:
        return None
    return session.scalar(select(Coach).where(Coach.user_id == user.id))


def coach_site_ids(session: Session, user) -> set[int]:
    """The sites assigned to `user` (a coach) in an active wave."""
    return set(
        session.scalars(
            select(Assignment.site_id)
            .join(Coach, Coach.id == Assignment.coach_id)
            .join(Wave, Wave.id == Assignment.wave_id)
            .where(Coach.user_id == user.id, Wave.status.in_(ACTIVE_STATUSES))
        )
    )


# --- checklist progress ------------------------------------------------------------------------


def set_item_state(
    session: Session,
    item: ChecklistItem,
    state: str,
    version: int | None,
    on: date | None = None,
    note: str | None = None,
    evidence: str | None = None,
    user=None,
    visit: Visit | None = None,
) -> ChecklistItem:
    """Move a checklist item to `state`, keeping the history. A stale `version` raises
    Conflict (with the item's current state); moving backwards needs a note."""
    if version is not None and version != item.version:
        raise Conflict(item)
    if state not in ITEM_STATES:
        raise Invalid.from_fields({"state": [_("Unknown state.")]})
    note = (note or "").strip() or None
    if STATE_RANK[state] < STATE_RANK[item.state] and not note:
        raise Invalid.from_fields(
            {"note": [_("Moving an element backwards needs a note saying why.")]}
        )
    if state == item.state and evidence is None:
        return item
    by_id, by = _actor(user)
    on = on or date.today()
    if state != item.state:
        session.add(
            ProgressEvent(
                item=item,
                from_state=item.state,
                to_state=state,
                happened_on=on,
                by_id=by_id,
                by=by,
                note=note,
                visit_id=visit.id if visit is not None else None,
            )
        )
    item.state, item.state_on = state, on
    item.updated_by_id, item.updated_by = by_id, by
    if evidence is not None:
        item.evidence = evidence.strip() or None
    session.flush()
    return item


@dataclass
class VisitInput:
    visited_on: date | None
    duration_minutes: int | None
    worked_on: str | None
    blocker_category: str | None = None
    blockers: str | None = None
    next_visit_on: date | None = None
    # element id → (new state, version seen, note)
    updates: dict[int, tuple[str, int | None, str | None]] = field(default_factory=dict)


def record_visit(
    session: Session, wave: Wave, site_id: int, data: VisitInput, coach: Coach | None, user=None
) -> Visit:
    """A coach's visit, with the elements updated in the same form: all or nothing."""
    errors: dict[str, list[str]] = {}
    if data.visited_on is None:
        _add(errors, "visited_on", _("Give the date of the visit."))
    if not data.duration_minutes or data.duration_minutes <= 0:
        _add(errors, "duration_minutes", _("Give the duration in minutes."))
    if not (data.worked_on or "").strip():
        _add(errors, "worked_on", _("Say what was worked on."))
    if data.blocker_category and data.blocker_category not in BLOCKER_CATEGORIES:
        _add(errors, "blocker_category", _("Choose a blocker category."))
    if (data.blockers or "").strip() and not data.blocker_category:
        _add(errors, "blocker_category", _("Choose the category of the blocker."))
    if data.next_visit_on and data.visited_on and data.next_visit_on < data.visited_on:
        _add(errors, "next_visit_on", _("The next visit cannot come before this one."))
    items = {
        i.element_id: i
        for i in session.scalars(
            select(ChecklistItem).where(
                ChecklistItem.wave_id == wave.id, ChecklistItem.site_id == site_id
            )
        )
    }
    unknown = [str(e) for e in data.updates if e not in items]
    if unknown:
        _add(errors, "elements", _("Unknown package elements: %(ids)s.", ids=", ".join(unknown)))
    for element_id, (state, version, note) in data.updates.items():
        item = items.get(element_id)
        if item is None:
            continue
        if version is not None and version != item.version:
            raise Conflict(item)
        if state not in ITEM_STATES:
            _add(errors, "elements", _("Unknown state."))
        elif STATE_RANK[state] < STATE_RANK[item.state] and not (note or "").strip():
            _add(errors, "elements", _("Moving an element backwards needs a note saying why."))
    if errors:
        raise Invalid.from_fields(errors)
    visit = Visit(
        wave_id=wave.id,
        site_id=site_id,
        coach_id=coach.id if coach is not None else None,
        visited_on=data.visited_on,
        duration_minutes=data.duration_minutes,
        worked_on=data.worked_on.strip(),  # type: ignore[union-attr]
        blocker_category=data.blocker_category or None,
        blockers=(data.blockers or "").strip() or None,
        next_visit_on=data.next_visit_on,
        recorded_by_id=getattr(user, "id", None),
    )
    session.add(visit)
    session.flush()
    for element_id, (state, version, note) in data.updates.items():
        set_item_state(
            session,
            items[element_id],
            state,
            version,
            on=data.visited_on,
            note=note,
            user=user,
            visit=visit,
        )
    return visit


# --- engagement --------------------------------------------------------------------------------


def record_engagement(
    session: Session,
    site_id: int,
    score: int | None,
    note: str | None,
    recorded_on: date | None,
    asked_earlier: bool,
    user=None,
) -> Engagement:
    errors: dict[str, list[str]] = {}
    if score is None or not 1 <= score <= 5:
        _add(errors, "score", _("Give a score from 1 to 5."))
    if recorded_on is None:
        _add(errors, "recorded_on", _("Give the date."))
    if errors:
        raise Invalid.from_fields(errors)
    row = Engagement(
        site_id=site_id,
        score=score,
        note=(note or "").strip() or None,
        recorded_on=recorded_on,
        asked_earlier=bool(asked_earlier),
        recorded_by_id=getattr(user, "id", None),
    )
    session.add(row)
    session.flush()
    return row


def latest_engagement(session: Session, site_ids: list[int] | None = None) -> dict[int, Engagement]:
    stmt = select(Engagement).order_by(Engagement.recorded_on, Engagement.id)
    if site_ids is not None:
        stmt = stmt.where(Engagement.site_id.in_(site_ids))
    return {e.site_id: e for e in session.scalars(stmt)}


@dataclass(frozen=True)
class RegionEngagement:
    region: str
    sites: int  # sites with at least one engagement recorded
    mean_score: float
    asked_earlier: int  # sites whose manager's latest word is "deploy us earlier"


def engagement_by_region(session: Session, site_ids: list[int] | None = None) -> list:
    """Per region, the mean of its sites' latest engagement and how many asked to go
    earlier (the strongest sign the transformation works), best first."""
    from programme.network.models import Region

    latest = latest_engagement(session, site_ids)
    if not latest:
        return []
    regions = dict(
        session.execute(
            select(Site.id, Region.name)
            .join(Region, Region.id == Site.region_id)
            .where(Site.id.in_(list(latest)))
        ).all()
    )
    grouped: dict[str, list[Engagement]] = defaultdict(list)
    for site_id, row in latest.items():
        grouped[regions[site_id]].append(row)
    rows = [
        RegionEngagement(
            name,
            len(rows),
            sum(r.score for r in rows) / len(rows),
            sum(1 for r in rows if r.asked_earlier),
        )
        for name, rows in grouped.items()
    ]
    return sorted(rows, key=lambda r: (-r.asked_earlier, -r.mean_score, r.region))


# --- progress figures --------------------------------------------------------------------------

_DONE = case((ChecklistItem.state.in_(DONE_STATES), 1.0), else_=0.0)


def site_progress(session: Session, wave_id: int) -> dict[int, float]:
    """Site id → share of the site's elements in place or sustained, for one wave."""
    rows = session.execute(
        select(ChecklistItem.site_id, func.avg(_DONE))
        .where(ChecklistItem.wave_id == wave_id)
        .group_by(ChecklistItem.site_id)
    )
    return {site_id: float(share or 0) for site_id, share in rows}


def wave_progress(session: Session, wave_ids: list[int] | None = None) -> dict[int, float]:
    """Wave id → the mean of its sites' progress (each site weighs the same)."""
    per_site = (
        select(
            ChecklistItem.wave_id.label("wave_id"),
            ChecklistItem.site_id,
            func.avg(_DONE).label("share"),
        )
        .group_by(ChecklistItem.wave_id, ChecklistItem.site_id)
        .subquery()
    )
    stmt = select(per_site.c.wave_id, func.avg(per_site.c.share)).group_by(per_site.c.wave_id)
    if wave_ids is not None:
        stmt = stmt.where(per_site.c.wave_id.in_(wave_ids))
    return {wave_id: float(share or 0) for wave_id, share in session.execute(stmt)}


def site_items(session: Session, wave_id: int, site_id: int) -> list[ChecklistItem]:
    return list(
        session.scalars(
            select(ChecklistItem)
            .where(ChecklistItem.wave_id == wave_id, ChecklistItem.site_id == site_id)
            .order_by(ChecklistItem.element_id)
        )
    )


def active_wave_of_site(session: Session, site_id: int) -> Wave | None:
    """The most recent wave holding the site that is not closed (else the latest one)."""
    waves = list(
        session.scalars(
            select(Wave)
            .join(WaveSite, WaveSite.wave_id == Wave.id)
            .where(WaveSite.site_id == site_id)
            .order_by(Wave.go_live.desc())
        )
    )
    active = [w for w in waves if w.active]
    return (active or waves or [None])[0]


# --- planned vs actual (S-curve) ---------------------------------------------------------------


def s_curve(session: Session, wave: Wave, today: date) -> list[dict]:
    """Weekly points from the wave's start to its end (or today): planned = a straight line
    from 0 at the start to 1 at go-live; actual = the wave's progress at the end of the week,
    replayed from the progress history (one SQL aggregate: the net number of items that
    became done, per day)."""
    n_items = session.scalar(
        select(func.count(ChecklistItem.id)).where(ChecklistItem.wave_id == wave.id)
    )
    if not n_items:
        return []
    delta = case(
        (
            and_(
                ProgressEvent.to_state.in_(DONE_STATES),
                ProgressEvent.from_state.not_in(DONE_STATES),
            ),
            1,
        ),
        (
            and_(
                ProgressEvent.from_state.in_(DONE_STATES),
                ProgressEvent.to_state.not_in(DONE_STATES),
            ),
            -1,
        ),
        else_=0,
    )
    daily = session.execute(
        select(ProgressEvent.happened_on, func.sum(delta))
        .join(ChecklistItem, ChecklistItem.id == ProgressEvent.item_id)
        .where(ChecklistItem.wave_id == wave.id)
        .group_by(ProgressEvent.happened_on)
        .order_by(ProgressEvent.happened_on)
    ).all()
    span = max((wave.go_live - wave.start).days, 1)
    points = []
    day, done, i = wave.start, 0, 0
    last = min(wave.end, max(today, wave.start))
    while True:
        week_end = min(day + timedelta(days=6), last)
        while i < len(daily) and daily[i][0] <= week_end:
            done += int(daily[i][1] or 0)
            i += 1
        points.append(
            {
                "week": day.isoformat(),
                "planned": min(max((week_end - wave.start).days / span, 0.0), 1.0),
                "actual": done / n_items if week_end <= today else None,
            }
        )
        if week_end >= last:
            break
        day += timedelta(days=7)
    return points


# --- readiness ---------------------------------------------------------------------------------

ENGAGED_SCORE = 4  # a manager scoring 4 or 5 counts as engaged


@dataclass(frozen=True)
class Readiness:
    checklist_done: bool
    coach_assigned: bool
    manager_engaged: bool

    @property
    def ready(self) -> bool:
        return self.checklist_done and self.coach_assigned and self.manager_engaged


def readiness(session: Session, wave: Wave) -> dict[int, Readiness]:
    """Per site of the wave, its readiness for go-live: every element in place or
    sustained, a coach assigned, the manager's latest engagement at 4 or more."""
    site_ids = [ws.site_id for ws in wave.sites]
    progress = site_progress(session, wave.id)
    coached = set(session.scalars(select(Assignment.site_id).where(Assignment.wave_id == wave.id)))
    engagement = latest_engagement(session, site_ids)
    return {
        site_id: Readiness(
            checklist_done=progress.get(site_id, 0.0) >= 1.0,
            coach_assigned=site_id in coached,
            manager_engaged=(site_id in engagement and engagement[site_id].score >= ENGAGED_SCORE),
        )
        for site_id in site_ids
    }


# --- alerts ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Alert:
    kind: str  # late_site, no_visit, over_capacity, regression, milestone_overdue
    wave_id: int | None
    message: str  # Words: worded when shown
    site_id: int | None = None
    coach_id: int | None = None


def alerts(session: Session, today: date, wave_id: int | None = None, wave_ids=None) -> list[Alert]:
    """Every alert on `today`, for one wave, some waves (`wave_ids`: a person's home page
    reads only the waves of their sites) or the whole programme. Messages are `Words`,
    worded when shown (the reports cache alerts for readers of every language)."""
    found: list[Alert] = []
    wave_stmt = select(Wave).where(Wave.status.in_(ACTIVE_STATUSES))
    if wave_id is not None:
        wave_stmt = select(Wave).where(Wave.id == wave_id)
    elif wave_ids is not None:
        wave_stmt = wave_stmt.where(Wave.id.in_(list(wave_ids)))
    waves = list(session.scalars(wave_stmt.order_by(Wave.go_live)))
    ids = [w.id for w in waves if w.active]
    codes = dict(
        session.execute(
            select(Site.id, Site.code)
            .join(WaveSite, WaveSite.site_id == Site.id)
            .where(WaveSite.wave_id.in_(ids))
        ).all()
    )
    for wave in waves:
        if not wave.active:
            continue
        # Sites past go-live below 80 %.
        if today > wave.go_live:
            for site_id, share in sorted(site_progress(session, wave.id).items()):
                if share < LATE_PROGRESS:
                    found.append(
                        Alert(
                            "late_site",
                            wave.id,
                            words.lazy_gettext(
                                "%(site)s is past go-live with %(pct)d %% of the package in place.",
                                site=codes.get(site_id, site_id),
                                pct=round(share * 100),
                            ),
                            site_id=site_id,
                        )
                    )
        # No coach visit for 14 days during deployment.
        if wave.status in DEPLOYING_STATUSES:
            last = dict(
                session.execute(
                    select(Visit.site_id, func.max(Visit.visited_on))
                    .where(Visit.wave_id == wave.id, Visit.visited_on <= today)
                    .group_by(Visit.site_id)
                ).all()
            )
            for ws in wave.sites:
                since = last.get(ws.site_id) or wave.start
                if (today - since).days > VISIT_GAP_DAYS and today >= wave.start:
                    found.append(
                        Alert(
                            "no_visit",
                            wave.id,
                            words.lazy_gettext(
                                "No coach visit at %(site)s for %(days)d days.",
                                site=codes.get(ws.site_id, ws.site_id),
                                days=(today - since).days,
                            ),
                            site_id=ws.site_id,
                        )
                    )
        # Milestones overdue.
        for milestone in wave.milestones:
            if milestone.done_on is None and milestone.due_on < today:
                found.append(
                    Alert(
                        "milestone_overdue",
                        wave.id,
                        words.lazy_gettext(
                            "%(milestone)s (%(offset)s, due %(due)s) is overdue.",
                            milestone=milestone.label,
                            offset=milestone.offset_label,
                            due=format_date(milestone.due_on, "medium"),
                        ),
                    )
                )
    # Elements regressed from in place: the latest move of a still-not-done item went down
    # from in place or sustained.
    if ids:
        # The latest move of each item of the active waves only (not the whole history of
        # every wave): the outer query keeps those waves anyway.
        latest = (
            select(ProgressEvent.item_id, func.max(ProgressEvent.id).label("event_id"))
            .join(ChecklistItem, ChecklistItem.id == ProgressEvent.item_id)
            .where(ProgressEvent.happened_on <= today, ChecklistItem.wave_id.in_(ids))
            .group_by(ProgressEvent.item_id)
            .subquery()
        )
        rows = session.execute(
            select(ChecklistItem.wave_id, ChecklistItem.site_id, PackageElement.title)
            .join(latest, latest.c.item_id == ChecklistItem.id)
            .join(ProgressEvent, ProgressEvent.id == latest.c.event_id)
            .join(PackageElement, PackageElement.id == ChecklistItem.element_id)
            .where(
                ChecklistItem.wave_id.in_(ids),
                ProgressEvent.from_state.in_(DONE_STATES),
                ProgressEvent.to_state.not_in(DONE_STATES),
                ChecklistItem.state.not_in(DONE_STATES),
            )
            .order_by(ChecklistItem.wave_id, ChecklistItem.site_id)
        )
        for wid, site_id, title in rows:
            found.append(
                Alert(
                    "regression",
                    wid,
                    words.lazy_gettext(
                        "%(site)s: “%(element)s” is no longer in place.",
                        site=codes.get(site_id, site_id),
                        element=title,
                    ),
                    site_id=site_id,
                )
            )
    # Coaches over capacity today (whole programme, or the coaches of this wave).
    coach_stmt = (
        select(Assignment.coach_id, func.count(Assignment.id))
        .join(Wave, Wave.id == Assignment.wave_id)
        .where(
            Wave.status.in_(ACTIVE_STATUSES),
            Assignment.start_on <= today,
            Assignment.end_on >= today,
        )
        .group_by(Assignment.coach_id)
    )
    loads = dict(session.execute(coach_stmt).all())
    wave_coaches = None
    if wave_id is not None or wave_ids is not None:
        chosen = [wave_id] if wave_id is not None else list(wave_ids)
        wave_coaches = set(
            session.scalars(select(Assignment.coach_id).where(Assignment.wave_id.in_(chosen)))
        )
    for coach in session.scalars(select(Coach).where(Coach.id.in_(list(loads)))):
        if loads[coach.id] > coach.capacity and (wave_coaches is None or coach.id in wave_coaches):
            found.append(
                Alert(
                    "over_capacity",
                    wave_id,
                    words.lazy_gettext(
                        "%(coach)s has %(n)d sites in deployment (capacity %(capacity)d).",
                        coach=coach.name,
                        n=loads[coach.id],
                        capacity=coach.capacity,
                    ),
                    coach_id=coach.id,
                )
            )
    return found


# --- capacity ----------------------------------------------------------------------------------


@dataclass
class CoachLoad:
    coach: Coach
    weeks: list[int]  # sites in deployment per week
    today: int

    @property
    def free(self) -> int:
        return max(self.coach.capacity - self.today, 0)


def capacity(session: Session, first_monday: date, n_weeks: int, today: date) -> list[CoachLoad]:
    """Per coach, the number of sites in active deployment in each week (an assignment
    counts in a week when it runs on at least one of its days)."""
    mondays = [first_monday + timedelta(weeks=i) for i in range(n_weeks)]
    periods: dict[int, list[tuple[date, date]]] = defaultdict(list)
    rows = session.execute(
        select(Assignment.coach_id, Assignment.start_on, Assignment.end_on)
        .join(Wave, Wave.id == Assignment.wave_id)
        .where(
            Wave.status.in_(ACTIVE_STATUSES),
            and_(
                Assignment.end_on >= first_monday,
                Assignment.start_on <= mondays[-1] + timedelta(days=6),
            )
            | and_(Assignment.start_on <= today, Assignment.end_on >= today),
        )
    )
    for coach_id, start, end in rows:
        periods[coach_id].append((start, end))
    coaches = session.scalars(select(Coach).join(Coach.person).order_by(Coach.person_id))
    result = []
    for coach in coaches:
        mine = periods.get(coach.id, [])
        weeks = [
            sum(1 for s, e in mine if _overlaps(s, e, m, m + timedelta(days=6))) for m in mondays
        ]
        result.append(CoachLoad(coach, weeks, sum(1 for s, e in mine if s <= today <= e)))
    return result


def coach_home_sites(session: Session, user) -> list[dict]:
    """The coach's sites in active waves with their progress and next actions (home page)."""
    coach = coach_for_user(session, user)
    if coach is None:
        return []
    rows = list(
        session.scalars(
            select(Assignment)
            .join(Wave, Wave.id == Assignment.wave_id)
            .where(Assignment.coach_id == coach.id, Wave.status.in_(ACTIVE_STATUSES))
            .order_by(Assignment.start_on)
        )
    )
    result = []
    progress_cache: dict[int, dict[int, float]] = {}
    for a in rows:
        if a.wave_id not in progress_cache:
            progress_cache[a.wave_id] = site_progress(session, a.wave_id)
        next_items = [
            i
            for i in site_items(session, a.wave_id, a.site_id)
            if i.state not in ("in_place", "sustained")
        ][:3]
        last_visit = session.scalar(
            select(Visit)
            .where(Visit.wave_id == a.wave_id, Visit.site_id == a.site_id)
            .order_by(Visit.visited_on.desc(), Visit.id.desc())
            .limit(1)
        )
        result.append(
            {
                "assignment": a,
                "progress": progress_cache[a.wave_id].get(a.site_id, 0.0),
                "next_items": next_items,
                "last_visit": last_visit,
            }
        )
    return result


# --- coaches (the programme office's coach management) -----------------------------------------

MAX_CAPACITY = 20


@dataclass
class CoachInput:
    email: str
    full_name: str
    home_site_code: str
    secondment_start: date
    secondment_end: date | None
    capacity: int = DEFAULT_CAPACITY
    user_id: int | None = None
    region_ids: list[int] = field(default_factory=list)
    # (module, completed on); a row with either part missing is refused.
    trainings: list[tuple[str, date | None]] = field(default_factory=list)


def save_coach(session: Session, data: CoachInput, coach: Coach | None = None) -> Coach:
    """Create or update a coach (coach terrain) and their person; nothing is written when a
    rule is broken (`Invalid` with per-field messages)."""
    errors: dict[str, list[str]] = {}
    email = (data.email or "").strip().lower()
    full_name = (data.full_name or "").strip()
    if not email:
        _add(errors, "email", _("Enter the person's email."))
    person = (
        session.scalar(select(Person).where(func.lower(Person.email) == email)) if email else None
    )
    if coach is None:
        if person is not None:
            if session.scalar(select(Coach.id).where(Coach.person_id == person.id)) is not None:
                _add(errors, "email", _("This person is already a coach."))
        elif email and not full_name:
            _add(errors, "full_name", _("Enter the full name of this new person."))
    else:
        if person is not None and person.id != coach.person_id:
            _add(errors, "email", _("This email belongs to another person."))
        if not full_name:
            _add(errors, "full_name", _("Enter the full name."))

    code = (data.home_site_code or "").strip()
    site = session.scalar(select(Site).where(Site.code == code)) if code else None
    if not code:
        _add(errors, "home_site", _("Enter the code of the home site."))
    elif site is None:
        _add(errors, "home_site", _("Unknown site code: %(code)s.", code=code))

    if data.secondment_start is None:
        _add(errors, "secondment_start", _("Enter the start of the secondment."))
    elif data.secondment_end is not None and data.secondment_end < data.secondment_start:
        _add(errors, "secondment_end", _("The end of the secondment cannot be before its start."))
    elif coach is not None:
        # Shortening the secondment must not leave assignments outside it.
        for a in session.scalars(select(Assignment).where(Assignment.coach_id == coach.id)):
            if a.start_on < data.secondment_start or (
                data.secondment_end is not None and a.end_on > data.secondment_end
            ):
                _add(
                    errors,
                    "secondment_end",
                    _("The coach has an assignment (%(start)s to %(end)s) outside these dates.",
                      start=a.start_on.isoformat(), end=a.end_on.isoformat()),
                )  # fmt: skip
                break

    if data.capacity is None or not 1 <= data.capacity <= MAX_CAPACITY:
        _add(errors, "capacity", _("The capacity must be between 1 and %(max)d sites.",
                                   max=MAX_CAPACITY))  # fmt: skip

    user = None
    if data.user_id:
        user = session.get(User, data.user_id)
        if user is None or user.role != "coach":
            _add(errors, "user", _("Choose an account with the coach role."))
        else:
            other = session.scalar(select(Coach.id).where(Coach.user_id == user.id))
            if other is not None and (coach is None or other != coach.id):
                _add(errors, "user", _("This account is already linked to another coach."))

    regions = list(session.scalars(select(Region).where(Region.id.in_(data.region_ids))))
    if len(regions) != len(set(data.region_ids)):
        _add(errors, "regions", _("Unknown regions."))

    trainings = []
    for module, completed_on in data.trainings:
        module = (module or "").strip()
        if not module and completed_on is None:
            continue
        if not module or completed_on is None:
            _add(errors, "trainings", _("Each training module needs a name and a date."))
            break
        if (module, completed_on) not in trainings:  # a row typed twice is kept once
            trainings.append((module, completed_on))

    if errors:
        raise Invalid.from_fields(errors)

    if coach is None:
        if person is None:
            person = Person(full_name=full_name, email=email)
            session.add(person)
        coach = Coach(person=person)
        session.add(coach)
    else:
        coach.person.email = email
        coach.person.full_name = full_name
    coach.home_site_id = site.id  # type: ignore[union-attr]
    coach.secondment_start = data.secondment_start
    coach.secondment_end = data.secondment_end
    coach.capacity = data.capacity
    coach.user_id = user.id if user is not None else None
    coach.regions = regions
    existing = {(t.module, t.completed_on): t for t in coach.trainings}
    coach.trainings = [
        existing.get(key) or CoachTraining(module=key[0], completed_on=key[1]) for key in trainings
    ]
    session.flush()
    return coach


def coach_fingerprint(coach: Coach) -> str:
    """A token of the coach's saved state: the coach table has no version column, so the edit
    form carries this to refuse a stale save (optimistic locking without a migration)."""
    state = (
        coach.person.full_name,
        coach.person.email,
        coach.user_id,
        coach.home_site_id,
        coach.secondment_start,
        coach.secondment_end,
        coach.capacity,
        sorted(r.id for r in coach.regions),
        sorted((t.module, t.completed_on) for t in coach.trainings),
    )
    return hashlib.sha256(repr(state).encode()).hexdigest()[:16]


def current_loads(session: Session, today: date) -> dict[int, int]:
    """Per coach id, the number of sites in active deployment today."""
    rows = session.execute(
        select(Assignment.coach_id, func.count())
        .join(Wave, Wave.id == Assignment.wave_id)
        .where(
            Wave.status.in_(ACTIVE_STATUSES),
            Assignment.start_on <= today,
            Assignment.end_on >= today,
        )
        .group_by(Assignment.coach_id)
    )
    return {coach_id: n for coach_id, n in rows}
