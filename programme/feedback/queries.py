"""Read side of the cases: lists in a user's perimeter, with lateness computed in SQL, and
the lists a case's forms choose from."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, case, func, literal, or_, select
from sqlalchemy.orm import Session

from programme.auth.models import User
from programme.auth.roles import ADMIN, SITE_MANAGER
from programme.database import utcnow
from programme.diagnostics.models import Irritant
from programme.feedback.access import filter_cases
from programme.feedback.models import FeedbackCase, FeedbackResponse, as_utc
from programme.network.models import Site


@dataclass
class CaseRow:
    id: int
    site_id: int
    site_code: str
    site_name: str
    status: str
    opened_at: datetime
    due_at: datetime
    score: int
    scale: str
    source: str
    external_id: str
    received_at: datetime
    channel: str
    complaint: bool
    assignee: str | None
    overdue: bool
    escalated: bool


def case_rows(
    session: Session,
    user,
    *,
    status: str | None = None,
    site_id: int | None = None,
    case_id: int | None = None,
    opened_from: datetime | None = None,
    opened_to: datetime | None = None,
    now: datetime | None = None,
    limit: int = 500,
) -> list[CaseRow]:
    """The cases `user` may see, most urgent first: still to contact (oldest deadline
    first), then contacted, then closed (latest first). A case still to contact after its
    deadline is overdue; one working day later it is escalated to the regional manager."""
    now = now or utcnow()
    waiting = FeedbackCase.status == "open"
    stmt = (
        select(
            FeedbackCase.id,
            FeedbackCase.site_id,
            Site.code,
            Site.name,
            FeedbackCase.status,
            FeedbackCase.opened_at,
            FeedbackCase.due_at,
            FeedbackResponse.score,
            FeedbackResponse.scale,
            FeedbackResponse.source,
            FeedbackResponse.external_id,
            FeedbackResponse.received_at,
            FeedbackResponse.channel,
            FeedbackResponse.complaint,
            User.name,
            case((and_(waiting, FeedbackCase.due_at < now), True), else_=False),
            case((and_(waiting, FeedbackCase.escalate_at < now), True), else_=False),
        )
        .join(Site, Site.id == FeedbackCase.site_id)
        .join(FeedbackResponse, FeedbackResponse.id == FeedbackCase.response_id)
        .outerjoin(User, User.id == FeedbackCase.assignee_id)
    )
    stmt = filter_cases(stmt, user)
    if status == "escalated":
        stmt = stmt.where(waiting, FeedbackCase.escalate_at < now)
    elif status == "overdue":
        stmt = stmt.where(waiting, FeedbackCase.due_at < now)
    elif status:
        stmt = stmt.where(FeedbackCase.status == status)
    if site_id:
        stmt = stmt.where(FeedbackCase.site_id == site_id)
    if case_id:
        stmt = stmt.where(FeedbackCase.id == case_id)
    if opened_from:
        stmt = stmt.where(FeedbackCase.opened_at >= opened_from)
    if opened_to:
        stmt = stmt.where(FeedbackCase.opened_at < opened_to)
    order = case({"open": 0, "contacted": 1}, value=FeedbackCase.status, else_=2)
    stmt = stmt.order_by(order, FeedbackCase.due_at, FeedbackCase.id).limit(limit)
    return [CaseRow(*row) for row in session.execute(stmt).all()]


def perimeter_sites(session: Session, user) -> list[Site]:
    from programme.network.access import filter_sites

    return list(session.scalars(filter_sites(select(Site), user).order_by(Site.code)))


# --- close-the-loop figures ---------------------------------------------------------------------


@dataclass
class LoopFigures:
    key: int | None
    label: str
    cases: int
    decided: int  # contacted, or past their deadline: the denominator of the share
    in_time: int  # first contact no later than the deadline
    past_due: int  # still to contact after the deadline
    median_hours: float | None  # from the response's arrival to the first contact

    @property
    def share_in_time(self) -> float | None:
        return self.in_time / self.decided if self.decided else None


def _seconds_between(later, earlier, dialect: str):
    if dialect == "postgresql":
        return func.extract("epoch", later - earlier)
    return (func.julianday(later) - func.julianday(earlier)) * 86400.0


def loop_figures(
    session: Session,
    user,
    by: str = "site",
    now: datetime | None = None,
    *,
    region_id: int | None = None,
    site_ids: frozenset[int] | None = None,
) -> list[LoopFigures]:
    """Per site, region or the whole network (`by`), within the user's perimeter (and
    `region_id` / `site_ids` when given: a report's scope), computed in SQL: cases, the
    share contacted within their deadline (among the cases contacted or past their
    deadline), the median time to first contact and the cases open past due. Counts only:
    never a contact reference."""
    from programme.network.access import filter_sites
    from programme.network.models import Region

    now = now or utcnow()
    dialect = session.get_bind().dialect.name
    if by == "region":
        key, label_cols, joins = Region.id, (Region.name,), True
    elif by == "network":
        key, label_cols, joins = literal(0), (), False
    else:
        key, label_cols, joins = Site.id, (Site.code, Site.name), False
    visible = filter_sites(select(Site.id), user).scalar_subquery()

    def scoped(stmt):
        stmt = stmt.join(Site, Site.id == FeedbackCase.site_id).where(Site.id.in_(visible))
        if region_id is not None:
            stmt = stmt.where(Site.region_id == region_id)
        if site_ids is not None:
            stmt = stmt.where(Site.id.in_(sorted(site_ids)))
        return stmt.join(Region, Region.id == Site.region_id) if joins else stmt

    contacted = FeedbackCase.contacted_at.is_not(None)
    counts = scoped(
        select(
            key.label("key"),
            *label_cols,
            func.count().label("cases"),
            func.sum(case((or_(contacted, FeedbackCase.due_at < now), 1), else_=0)).label(
                "decided"
            ),
            func.sum(
                case(
                    (and_(contacted, FeedbackCase.contacted_at <= FeedbackCase.due_at), 1), else_=0
                )
            ).label("in_time"),
            func.sum(
                case((and_(FeedbackCase.status == "open", FeedbackCase.due_at < now), 1), else_=0)
            ).label("past_due"),
        ).select_from(FeedbackCase)
    ).group_by(key, *label_cols)
    durations = scoped(
        select(
            key.label("key"),
            _seconds_between(
                FeedbackCase.contacted_at, FeedbackResponse.received_at, dialect
            ).label("seconds"),
        )
        .select_from(FeedbackCase)
        .join(FeedbackResponse, FeedbackResponse.id == FeedbackCase.response_id)
        .where(contacted)
    ).subquery()
    ranked = select(
        durations.c.key,
        durations.c.seconds,
        func.row_number()
        .over(partition_by=durations.c.key, order_by=durations.c.seconds)
        .label("rn"),
        func.count().over(partition_by=durations.c.key).label("cnt"),
    ).subquery()
    medians = dict(
        session.execute(
            select(ranked.c.key, func.avg(ranked.c.seconds))
            .where(ranked.c.rn.in_([(ranked.c.cnt + 1) // 2, (ranked.c.cnt + 2) // 2]))
            .group_by(ranked.c.key)
        ).all()
    )
    rows = []
    for row in session.execute(counts).all():
        seconds = medians.get(row.key)
        rows.append(
            LoopFigures(
                key=row.key,
                label=" · ".join(str(v) for v in row[1 : 1 + len(label_cols)]),
                cases=int(row.cases),
                decided=int(row.decided or 0),
                in_time=int(row.in_time or 0),
                past_due=int(row.past_due or 0),
                median_hours=float(seconds) / 3600 if seconds is not None else None,
            )
        )
    return sorted(rows, key=lambda r: r.label)


@dataclass
class LoopSummary:
    """The close-the-loop figures a home shows: the whole perimeter, and its parts."""

    total: LoopFigures | None
    rows: list[LoopFigures]
    by: str  # what the rows are: "site" or "region"


def loop_summary(session: Session, user, now: datetime | None = None) -> LoopSummary:
    """For a home: the perimeter's figures, then per region (whole-network roles) or per
    site (a regional manager); a site manager of one site gets the total only."""
    from programme.auth.permissions import WHOLE_NETWORK

    now = now or utcnow()
    total = loop_figures(session, user, by="network", now=now)
    by = "region" if user.role in WHOLE_NETWORK else "site"
    rows = loop_figures(session, user, by=by, now=now) if total else []
    if by == "site" and len(rows) < 2:
        rows = []
    return LoopSummary(total[0] if total else None, rows, by)


# --- what a case handler has to do today (the home and the digest) -----------------------------


@dataclass
class SiteToCall:
    site_id: int
    site_code: str
    to_call: int  # cases still to contact
    past_due: int  # of which past their deadline
    oldest_due: datetime


def cases_to_call(session: Session, user, now: datetime | None = None) -> list[SiteToCall]:
    """Per site, the cases assigned to `user` still to contact, and how many are past
    their deadline (one query)."""
    now = now or utcnow()
    waiting = FeedbackCase.status == "open"
    rows = session.execute(
        select(
            Site.id,
            Site.code,
            func.count(),
            func.sum(case((FeedbackCase.due_at < now, 1), else_=0)),
            func.min(FeedbackCase.due_at),
        )
        .select_from(FeedbackCase)
        .join(Site, Site.id == FeedbackCase.site_id)
        .where(waiting, FeedbackCase.assignee_id == user.id)
        .group_by(Site.id, Site.code)
        .order_by(Site.code)
    ).all()
    return [SiteToCall(r[0], r[1], int(r[2]), int(r[3] or 0), as_utc(r[4])) for r in rows]


@dataclass
class EscalatedCase:
    id: int
    site_id: int
    site_code: str
    time_zone: str | None
    due_at: datetime
    assignee: str | None


def escalated_cases(
    session: Session, user, now: datetime | None = None, limit: int = 50
) -> list[EscalatedCase]:
    """The cases of a regional manager's region still to contact one working day after
    their deadline, the longest overdue first (one query). Nothing for anyone else."""
    from programme.auth.roles import SITE_MANAGER

    if user.role != SITE_MANAGER or not user.region_id:
        return []
    now = now or utcnow()
    rows = session.execute(
        select(
            FeedbackCase.id,
            Site.id,
            Site.code,
            Site.time_zone,
            FeedbackCase.due_at,
            User.name,
        )
        .join(Site, Site.id == FeedbackCase.site_id)
        .outerjoin(User, User.id == FeedbackCase.assignee_id)
        .where(
            FeedbackCase.status == "open",
            FeedbackCase.escalate_at < now,
            Site.region_id == user.region_id,
        )
        .order_by(FeedbackCase.due_at, FeedbackCase.id)
        .limit(limit)
    ).all()
    return [EscalatedCase(r[0], r[1], r[2], r[3], as_utc(r[4]), r[5]) for r in rows]


# --- root causes feed the irritants --------------------------------------------------------------


@dataclass
class IrritantCount:
    irritant_id: int
    name: str
    campaign: str
    findings: int  # campaign findings observed since the date
    occurrences: int  # their occurrences
    cases: int  # closed cases linked to it, closed since the date
    cases_before: int  # the same, over the period of the same length just before
    cumulative_share: float | None  # Pareto over the cases
    findings_before: int = 0  # findings observed over the period just before

    @property
    def trend(self) -> int:
        return self.cases - self.cases_before

    @property
    def findings_trend(self) -> int:
        return self.findings - self.findings_before

    @property
    def frequency(self) -> int:
        """Findings and closed cases together (each counted from its own source)."""
        return self.findings + self.cases

    @property
    def frequency_before(self) -> int:
        return self.findings_before + self.cases_before

    @property
    def frequency_trend(self) -> int:
        return self.frequency - self.frequency_before


def irritant_counts(
    session: Session, since, until, irritant_ids: list[int] | None = None
) -> list[IrritantCount]:
    """Every irritant (or those of `irritant_ids`) with its campaign findings (observed in
    [since, until], and in the period of the same length before) and its closed cases
    (closed in [since, until], and in the period before), side by side, each from its own
    source; most frequent in the cases first. SQL only."""
    from programme.diagnostics.models import Campaign, Finding, Irritant, ObservationSession

    start = datetime.combine(since, datetime.min.time(), UTC)
    end = datetime.combine(until + timedelta(days=1), datetime.min.time(), UTC)
    before = start - (end - start)
    before_day = since - (until + timedelta(days=1) - since)
    in_period = ObservationSession.observed_on >= since
    findings = (
        select(
            Finding.irritant_id.label("irritant_id"),
            func.sum(case((in_period, 1), else_=0)).label("findings"),
            func.sum(case((in_period, Finding.occurrences), else_=0)).label("occ"),
            func.sum(case((in_period, 0), else_=1)).label("before"),
        )
        .join(ObservationSession, ObservationSession.id == Finding.session_id)
        .where(
            Finding.irritant_id.is_not(None),
            ObservationSession.observed_on >= before_day,
            ObservationSession.observed_on <= until,
        )
        .group_by(Finding.irritant_id)
        .subquery()
    )
    closed = FeedbackCase.status == "closed"
    cases = (
        select(
            FeedbackCase.irritant_id.label("irritant_id"),
            func.sum(
                case(
                    (and_(FeedbackCase.closed_at >= start, FeedbackCase.closed_at < end), 1),
                    else_=0,
                )
            ).label("now"),
            func.sum(
                case(
                    (and_(FeedbackCase.closed_at >= before, FeedbackCase.closed_at < start), 1),
                    else_=0,
                )
            ).label("before"),
        )
        .where(
            closed,
            FeedbackCase.irritant_id.is_not(None),
            FeedbackCase.closed_at >= before,
            FeedbackCase.closed_at < end,
        )
        .group_by(FeedbackCase.irritant_id)
        .subquery()
    )
    n_cases = func.coalesce(cases.c.now, 0)
    order = (n_cases.desc(), func.coalesce(findings.c.occ, 0).desc(), Irritant.name, Irritant.id)
    stmt = (
        select(
            Irritant.id,
            Irritant.name,
            Campaign.name,
            func.coalesce(findings.c.findings, 0),
            func.coalesce(findings.c.occ, 0),
            n_cases,
            func.coalesce(cases.c.before, 0),
            (
                func.sum(n_cases).over(order_by=order, rows=(None, 0))
                * 1.0
                / func.nullif(func.sum(n_cases).over(), 0)
            ),
            func.coalesce(findings.c.before, 0),
        )
        .join(Campaign, Campaign.id == Irritant.campaign_id)
        .outerjoin(findings, findings.c.irritant_id == Irritant.id)
        .outerjoin(cases, cases.c.irritant_id == Irritant.id)
        .where(or_(findings.c.irritant_id.is_not(None), cases.c.irritant_id.is_not(None)))
        .order_by(*order)
    )
    if irritant_ids is not None:
        stmt = stmt.where(Irritant.id.in_(list(irritant_ids)))
    return [
        IrritantCount(
            irritant_id=r[0],
            name=r[1],
            campaign=r[2],
            findings=int(r[3]),
            occurrences=int(r[4]),
            cases=int(r[5]),
            cases_before=int(r[6]),
            cumulative_share=float(r[7]) if r[7] is not None else None,
            findings_before=int(r[8]),
        )
        for r in session.execute(stmt)
    ]


# How far back the pilot design page looks at each addressed irritant.
RECENT_DAYS = 90


def irritant_frequency(
    session: Session, irritant_ids, today, days: int = RECENT_DAYS
) -> list[IrritantCount]:
    """Each irritant of `irritant_ids` (every one, with zeros when nothing was seen) over
    the last `days` days up to `today`: its campaign findings and closed cases, and the
    same over the `days` days before; the most frequent first."""
    from programme.diagnostics.models import Campaign, Irritant

    ids = sorted({i for i in irritant_ids or [] if isinstance(i, int) and 0 < i < 2**31})
    if not ids:
        return []
    since = today - timedelta(days=days - 1)
    counts = {c.irritant_id: c for c in irritant_counts(session, since, today, ids)}
    rows = []
    for ident, name, campaign in session.execute(
        select(Irritant.id, Irritant.name, Campaign.name)
        .join(Campaign, Campaign.id == Irritant.campaign_id)
        .where(Irritant.id.in_(ids))
    ):
        rows.append(counts.get(ident) or IrritantCount(ident, name, campaign, 0, 0, 0, 0, None))
    return sorted(rows, key=lambda r: (-r.frequency, r.name, r.irritant_id))


def causes_since(session: Session, since, until) -> dict[str, int]:
    """Closed cases per root cause, closed in [since, until]."""
    start = datetime.combine(since, datetime.min.time(), UTC)
    end = datetime.combine(until + timedelta(days=1), datetime.min.time(), UTC)
    return dict(
        session.execute(
            select(FeedbackCase.cause, func.count())
            .where(
                FeedbackCase.status == "closed",
                FeedbackCase.closed_at >= start,
                FeedbackCase.closed_at < end,
            )
            .group_by(FeedbackCase.cause)
        ).all()
    )


def proposed_irritants(session: Session, since, until) -> list[tuple[str, int]]:
    """New irritants proposed when closing cases in [since, until], most frequent first
    (grouped by their exact wording), for the programme office to review."""
    start = datetime.combine(since, datetime.min.time(), UTC)
    end = datetime.combine(until + timedelta(days=1), datetime.min.time(), UTC)
    n = func.count().label("n")
    return [
        (text, int(count))
        for text, count in session.execute(
            select(FeedbackCase.proposed_irritant, n)
            .where(
                FeedbackCase.proposed_irritant.is_not(None),
                FeedbackCase.closed_at >= start,
                FeedbackCase.closed_at < end,
            )
            .group_by(FeedbackCase.proposed_irritant)
            .order_by(n.desc(), FeedbackCase.proposed_irritant)
            .limit(100)
        )
    ]


# --- the case forms' lists -------------------------------------------------------------------


def irritants(session: Session) -> list[Irritant]:
    """The irritants a closed case may point to, by name."""
    return list(session.scalars(select(Irritant).order_by(Irritant.name)))


def possible_assignees(session: Session, site: Site) -> list[User]:
    """Who may handle a case of `site`: active admins, and the active site managers of the
    site or of its region."""
    return list(
        session.scalars(
            select(User)
            .where(
                User.active.is_(True),
                or_(
                    User.role == ADMIN,
                    (User.role == SITE_MANAGER)
                    & or_(User.site_id == site.id, User.region_id == site.region_id),
                ),
            )
            .order_by(User.name, User.email)
        )
    )
