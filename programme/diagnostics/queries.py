"""Read side of the diagnostics: coverage matrix, irritant ranking, comparisons, lists.

Every figure on these screens is aggregated by the database; Python only arranges rows."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Float, and_, case, cast, distinct, false, func, or_, select
from sqlalchemy.orm import Session, joinedload

from programme.auth.models import User
from programme.auth.roles import ADMIN, DIAGNOSTICIAN
from programme.diagnostics.models import (
    DETERMINANTS,
    Campaign,
    DeterminantAssessment,
    Finding,
    Irritant,
    ObservationSession,
    SurveyScore,
    Verbatim,
    campaign_site,
)
from programme.network.access import filter_sites
from programme.network.models import CHANNELS, SITE_TYPES, Region, Site
from programme.network.services import fold

# --- scope and coverage ----------------------------------------------------------------------


def serves_any(channels: list[str]):
    """SQL: the site serves at least one of `channels`."""
    clauses = [getattr(Site, f"channel_{c}") == True for c in channels if c in CHANNELS]  # noqa: E712
    return or_(*clauses) if clauses else false()


def in_scope(campaign: Campaign):
    """SQL condition: a site inside the campaign's scope (regions, site types, channels)."""
    conditions = [
        Site.type.in_(campaign.scope_site_types or []),
        serves_any(campaign.scope_channels or []),
    ]
    if campaign.regions:
        conditions.append(Site.region_id.in_([r.id for r in campaign.regions]))
    return and_(*conditions)


@dataclass
class CoverageCell:
    site_type: str
    channel: str
    network_sites: int = 0  # sites of the network in scope with this type and channel
    sampled_sites: int = 0
    sessions: int = 0
    observed_sites: int = 0

    @property
    def status(self) -> str:
        if self.sessions:
            return "observed"
        return "missing" if self.network_sites else "not_applicable"


@dataclass
class RegionCoverage:
    region_id: int
    name: str
    network_sites: int = 0
    sampled_sites: int = 0
    sessions: int = 0

    @property
    def status(self) -> str:
        if self.sessions:
            return "observed"
        return "missing" if self.network_sites else "not_applicable"


@dataclass
class Coverage:
    site_types: list[str]
    channels: list[str]
    cells: dict[tuple[str, str], CoverageCell]
    regions: list[RegionCoverage]
    sessions: int = 0
    interactions: int = 0
    findings: int = 0

    def cell(self, site_type: str, channel: str) -> CoverageCell:
        return self.cells[(site_type, channel)]

    @property
    def missing_cells(self) -> list[CoverageCell]:
        return [c for c in self.cells.values() if c.status == "missing"]

    @property
    def missing_regions(self) -> list[RegionCoverage]:
        return [r for r in self.regions if r.status == "missing"]

    @property
    def complete(self) -> bool:
        return not self.missing_cells and not self.missing_regions

    def missing_labels(self) -> list[str]:
        labels = [
            f"{SITE_TYPES.get(c.site_type, c.site_type)} × {CHANNELS.get(c.channel, c.channel)}"
            for c in self.missing_cells
        ]
        labels += [r.name for r in self.missing_regions]
        return labels


def _channel_sums(channels):
    return [
        func.coalesce(func.sum(case((getattr(Site, f"channel_{c}") == True, 1), else_=0)), 0)  # noqa: E712
        for c in channels
    ]


def coverage(session: Session, campaign: Campaign) -> Coverage:
    """Which (site type × channel) combinations and regions of the scope were observed."""
    site_types = [t for t in SITE_TYPES if t in (campaign.scope_site_types or [])]
    channels = [c for c in CHANNELS if c in (campaign.scope_channels or [])]
    cells = {(t, c): CoverageCell(t, c) for t in site_types for c in channels}
    scope = in_scope(campaign)

    network = select(Site.type, *_channel_sums(channels)).where(scope).group_by(Site.type)
    sampled = (
        select(Site.type, *_channel_sums(channels))
        .join(campaign_site, campaign_site.c.site_id == Site.id)
        .where(campaign_site.c.campaign_id == campaign.id, scope)
        .group_by(Site.type)
    )
    for stmt, attr in ((network, "network_sites"), (sampled, "sampled_sites")):
        if not channels:
            break
        for row in session.execute(stmt):
            for channel, value in zip(channels, row[1:], strict=True):
                if (row[0], channel) in cells:
                    setattr(cells[(row[0], channel)], attr, int(value or 0))
    observed = session.execute(
        select(
            Site.type,
            ObservationSession.channel,
            func.count(ObservationSession.id),
            func.count(distinct(ObservationSession.site_id)),
        )
        .join(Site, Site.id == ObservationSession.site_id)
        .where(ObservationSession.campaign_id == campaign.id)
        .group_by(Site.type, ObservationSession.channel)
    )
    for site_type, channel, sessions, sites in observed:
        if (site_type, channel) in cells:
            cells[(site_type, channel)].sessions = sessions
            cells[(site_type, channel)].observed_sites = sites

    # Regions: those of the scope, or every region with sites in scope when none is named.
    region_rows: dict[int, RegionCoverage] = {}
    if campaign.regions:
        for region in campaign.regions:
            region_rows[region.id] = RegionCoverage(region.id, region.name)
    net_by_region = session.execute(
        select(Region.id, Region.name, func.count(Site.id))
        .join(Site, Site.region_id == Region.id)
        .where(scope)
        .group_by(Region.id, Region.name)
    )
    for region_id, name, count in net_by_region:
        region_rows.setdefault(region_id, RegionCoverage(region_id, name)).network_sites = count
    for region_id, count in session.execute(
        select(Site.region_id, func.count(Site.id))
        .join(campaign_site, campaign_site.c.site_id == Site.id)
        .where(campaign_site.c.campaign_id == campaign.id)
        .group_by(Site.region_id)
    ):
        if region_id in region_rows:
            region_rows[region_id].sampled_sites = count
    for region_id, count in session.execute(
        select(Site.region_id, func.count(ObservationSession.id))
        .join(Site, Site.id == ObservationSession.site_id)
        .where(ObservationSession.campaign_id == campaign.id)
        .group_by(Site.region_id)
    ):
        if region_id in region_rows:
            region_rows[region_id].sessions = count

    totals = session.execute(
        select(
            func.count(ObservationSession.id),
            func.coalesce(func.sum(ObservationSession.interactions), 0),
        ).where(ObservationSession.campaign_id == campaign.id)
    ).one()
    findings = session.scalar(
        select(func.count(Finding.id))
        .join(ObservationSession, ObservationSession.id == Finding.session_id)
        .where(ObservationSession.campaign_id == campaign.id)
    )
    return Coverage(
        site_types=site_types,
        channels=channels,
        cells=cells,
        regions=sorted(region_rows.values(), key=lambda r: fold(r.name)),
        sessions=totals[0],
        interactions=int(totals[1]),
        findings=findings or 0,
    )


# --- lists -----------------------------------------------------------------------------------


def campaigns(session: Session) -> list[tuple[Campaign, int, int]]:
    """Every campaign with its number of sessions and findings, newest first."""
    sessions = (
        select(ObservationSession.campaign_id, func.count(ObservationSession.id).label("n"))
        .group_by(ObservationSession.campaign_id)
        .subquery()
    )
    findings = (
        select(ObservationSession.campaign_id, func.count(Finding.id).label("n"))
        .join(Finding, Finding.session_id == ObservationSession.id)
        .group_by(ObservationSession.campaign_id)
        .subquery()
    )
    rows = session.execute(
        select(Campaign, func.coalesce(sessions.c.n, 0), func.coalesce(findings.c.n, 0))
        .outerjoin(sessions, sessions.c.campaign_id == Campaign.id)
        .outerjoin(findings, findings.c.campaign_id == Campaign.id)
        .order_by(Campaign.start_date.desc(), Campaign.id.desc())
    ).all()
    return [(c, s, f) for c, s, f in rows]


@dataclass
class SessionRow:
    session: ObservationSession
    findings: int
    drop_offs: int


def session_rows(
    session: Session, campaign: Campaign, user, observer_id: int | None = None
) -> list[SessionRow]:
    """The campaign's sessions the user may see, with their number of findings."""
    counts = (
        select(
            Finding.session_id,
            func.count(Finding.id).label("n"),
            func.coalesce(
                func.sum(case((Finding.outcome == "drop_off", Finding.occurrences), else_=0)), 0
            ).label("drop_offs"),
        )
        .group_by(Finding.session_id)
        .subquery()
    )
    stmt = (
        select(
            ObservationSession,
            func.coalesce(counts.c.n, 0),
            func.coalesce(counts.c.drop_offs, 0),
        )
        .join(Site, Site.id == ObservationSession.site_id)
        .outerjoin(counts, counts.c.session_id == ObservationSession.id)
        .where(ObservationSession.campaign_id == campaign.id)
        .options(joinedload(ObservationSession.site), joinedload(ObservationSession.observer))
        .order_by(
            ObservationSession.observed_on.desc(),
            ObservationSession.start_time.desc(),
            ObservationSession.id.desc(),
        )
    )
    if observer_id:
        stmt = stmt.where(ObservationSession.observer_id == observer_id)
    stmt = filter_sites(stmt, user)
    return [SessionRow(s, n, d) for s, n, d in session.execute(stmt).unique()]


def sampled_sites(session: Session, campaign: Campaign, user) -> list[Site]:
    stmt = (
        select(Site)
        .join(campaign_site, campaign_site.c.site_id == Site.id)
        .where(campaign_site.c.campaign_id == campaign.id)
        .options(joinedload(Site.region))
        .order_by(Site.code)
    )
    return list(session.scalars(filter_sites(stmt, user)))


def lead_choices(session: Session) -> list[tuple[str, str]]:
    """The active accounts that may lead a campaign (admins and diagnosticians)."""
    leads = session.execute(
        select(User.id, User.name, User.email)
        .where(User.role.in_((ADMIN, DIAGNOSTICIAN)), User.active.is_(True))
        .order_by(User.name, User.email)
    ).all()
    return [(str(i), n or e) for i, n, e in leads]


# --- irritant ranking ------------------------------------------------------------------------


@dataclass
class RankingFilters:
    region_id: int | None = None
    site_type: str = ""
    channel: str = ""

    def as_args(self) -> dict:
        return {
            "region": self.region_id or "",
            "type": self.site_type,
            "channel": self.channel,
        }

    @property
    def active(self) -> bool:
        return bool(self.region_id or self.site_type or self.channel)


@dataclass
class IrritantRank:
    rank: int
    irritant_id: int
    name: str
    stakes: list[str]
    determinants: list[str]
    findings: int
    occurrences: int  # times seen, summed over its findings
    weighted: int  # Σ occurrences × severity
    customers_affected: int  # Σ over sessions of the largest count among its findings there
    drop_offs: int  # occurrences whose outcome was a drop-off
    sites: int
    sessions: int
    frequency: float  # occurrences / interactions observed
    severity: float  # occurrence-weighted mean severity
    priority: float  # frequency × severity
    share_affected: float  # customers affected / interactions observed
    cumulative_share: float  # Pareto: share of the total priority up to this rank


@dataclass
class Ranking:
    rows: list[IrritantRank]
    interactions: int
    sessions: int
    filters: RankingFilters = field(default_factory=RankingFilters)


def _filtered_sessions(campaign_id: int, filters: RankingFilters):
    stmt = (
        select(
            ObservationSession.id.label("id"),
            ObservationSession.site_id.label("site_id"),
            ObservationSession.interactions.label("interactions"),
        )
        .join(Site, Site.id == ObservationSession.site_id)
        .where(ObservationSession.campaign_id == campaign_id)
    )
    if filters.region_id:
        stmt = stmt.where(Site.region_id == filters.region_id)
    if filters.site_type:
        stmt = stmt.where(Site.type == filters.site_type)
    if filters.channel:
        stmt = stmt.where(ObservationSession.channel == filters.channel)
    return stmt


def irritant_ranking(
    session: Session, campaign_id: int, filters: RankingFilters | None = None
) -> Ranking:
    """Irritants by priority = frequency × severity, over the campaign's sessions that match
    the filters, in one SQL statement.

    With N the interactions observed in those sessions and, for an irritant's findings,
    occurrences o and severity s: frequency = Σo / N, severity = Σ(o·s) / Σo, so
    priority = Σ(o·s) / N. Customers affected counts, per session, the largest o among the
    irritant's findings there (two findings of one irritant may concern the same customers),
    and the share affected divides their sum by N."""
    filters = filters or RankingFilters()
    sessions = _filtered_sessions(campaign_id, filters).subquery("sessions")
    total = select(func.coalesce(func.sum(sessions.c.interactions), 0)).scalar_subquery()
    per_session = (
        select(
            Finding.irritant_id.label("irritant_id"),
            Finding.session_id.label("session_id"),
            sessions.c.site_id.label("site_id"),
            func.count(Finding.id).label("findings"),
            func.sum(Finding.occurrences).label("occ"),
            func.sum(Finding.occurrences * Finding.severity).label("weighted"),
            func.max(Finding.occurrences).label("affected"),
            func.sum(case((Finding.outcome == "drop_off", Finding.occurrences), else_=0)).label(
                "drop_offs"
            ),
        )
        .join(sessions, sessions.c.id == Finding.session_id)
        .where(Finding.irritant_id.is_not(None))
        .group_by(Finding.irritant_id, Finding.session_id, sessions.c.site_id)
        .subquery("per_session")
    )
    agg = (
        select(
            per_session.c.irritant_id,
            func.sum(per_session.c.findings).label("findings"),
            func.sum(per_session.c.occ).label("occ"),
            func.sum(per_session.c.weighted).label("weighted"),
            func.sum(per_session.c.affected).label("affected"),
            func.sum(per_session.c.drop_offs).label("drop_offs"),
            func.count(distinct(per_session.c.site_id)).label("sites"),
            func.count(per_session.c.session_id).label("sessions"),
        )
        .group_by(per_session.c.irritant_id)
        .subquery("agg")
    )
    n = func.nullif(total, 0)
    order = (agg.c.weighted.desc(), Irritant.name, Irritant.id)
    stmt = (
        select(
            Irritant.id,
            Irritant.name,
            Irritant.stakes,
            Irritant.determinants,
            agg.c.findings,
            agg.c.occ,
            agg.c.weighted,
            agg.c.affected,
            agg.c.drop_offs,
            agg.c.sites,
            agg.c.sessions,
            (cast(agg.c.occ, Float) / n).label("frequency"),
            (cast(agg.c.weighted, Float) / agg.c.occ).label("severity"),
            (cast(agg.c.weighted, Float) / n).label("priority"),
            (cast(agg.c.affected, Float) / n).label("share_affected"),
            (
                cast(func.sum(agg.c.weighted).over(order_by=order, rows=(None, 0)), Float)
                / func.sum(agg.c.weighted).over()
            ).label("cumulative"),
        )
        .join(agg, agg.c.irritant_id == Irritant.id)
        .where(Irritant.campaign_id == campaign_id)
        .order_by(*order)
    )
    rows = [
        IrritantRank(
            rank=i,
            irritant_id=r.id,
            name=r.name,
            stakes=list(r.stakes or []),
            determinants=list(r.determinants or []),
            findings=int(r.findings),
            occurrences=int(r.occ),
            weighted=int(r.weighted),
            customers_affected=int(r.affected),
            drop_offs=int(r.drop_offs),
            sites=int(r.sites),
            sessions=int(r.sessions),
            frequency=float(r.frequency or 0),
            severity=float(r.severity or 0),
            priority=float(r.priority or 0),
            share_affected=float(r.share_affected or 0),
            cumulative_share=float(r.cumulative or 0),
        )
        for i, r in enumerate(session.execute(stmt), start=1)
    ]
    totals = session.execute(
        select(func.count(), func.coalesce(func.sum(sessions.c.interactions), 0))
    ).one()
    return Ranking(rows=rows, interactions=int(totals[1]), sessions=totals[0], filters=filters)


def irritants(session: Session, campaign_id: int) -> list[tuple[Irritant, int]]:
    """Every irritant of the campaign with its number of findings (any filter)."""
    counts = (
        select(Finding.irritant_id, func.count(Finding.id).label("n"))
        .where(Finding.irritant_id.is_not(None))
        .group_by(Finding.irritant_id)
        .subquery()
    )
    rows = session.execute(
        select(Irritant, func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.irritant_id == Irritant.id)
        .where(Irritant.campaign_id == campaign_id)
        .order_by(Irritant.name)
    ).all()
    return [(i, n) for i, n in rows]


@dataclass
class FindingFilters:
    journey_step: str = ""
    cause: str = ""


def irritant_findings(session: Session, irritant_id: int, user) -> list[Finding]:
    stmt = (
        select(Finding)
        .join(ObservationSession, ObservationSession.id == Finding.session_id)
        .join(Site, Site.id == ObservationSession.site_id)
        .where(Finding.irritant_id == irritant_id)
        .options(joinedload(Finding.session).joinedload(ObservationSession.site))
        .order_by(Finding.severity.desc(), Finding.occurrences.desc(), Finding.id)
    )
    return list(session.scalars(filter_sites(stmt, user)).unique())


def ungrouped_findings(
    session: Session, campaign_id: int, filters: FindingFilters, limit: int = 200
) -> tuple[list[Finding], int]:
    """Findings of the campaign not yet grouped into an irritant (most severe first)."""
    stmt = (
        select(Finding)
        .join(ObservationSession, ObservationSession.id == Finding.session_id)
        .where(ObservationSession.campaign_id == campaign_id, Finding.irritant_id.is_(None))
    )
    if filters.journey_step:
        stmt = stmt.where(Finding.journey_step == filters.journey_step)
    if filters.cause:
        stmt = stmt.where(Finding.cause == filters.cause)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    found = session.scalars(
        stmt.options(joinedload(Finding.session).joinedload(ObservationSession.site))
        .order_by(Finding.severity.desc(), Finding.occurrences.desc(), Finding.id)
        .limit(limit)
    ).unique()
    return list(found), total


# --- organisational determinants -------------------------------------------------------------


@dataclass
class DeterminantComparison:
    sites: list[Site]
    scores: dict[tuple[int, str], DeterminantAssessment]
    means: dict[str, float]
    assessed: dict[str, int]


def determinant_comparison(session: Session, campaign: Campaign, user) -> DeterminantComparison:
    sites = sampled_sites(session, campaign, user)
    site_ids = [s.id for s in sites]
    scores = {}
    means: dict[str, float] = {}
    assessed: dict[str, int] = {}
    if site_ids:
        for a in session.scalars(
            select(DeterminantAssessment).where(
                DeterminantAssessment.campaign_id == campaign.id,
                DeterminantAssessment.site_id.in_(site_ids),
            )
        ):
            scores[(a.site_id, a.determinant)] = a
        for determinant, mean, count in session.execute(
            select(
                DeterminantAssessment.determinant,
                func.avg(cast(DeterminantAssessment.score, Float)),
                func.count(),
            )
            .where(
                DeterminantAssessment.campaign_id == campaign.id,
                DeterminantAssessment.site_id.in_(site_ids),
            )
            .group_by(DeterminantAssessment.determinant)
        ):
            means[determinant] = float(mean)
            assessed[determinant] = count
    return DeterminantComparison(sites=sites, scores=scores, means=means, assessed=assessed)


@dataclass
class DeterminantBehind:
    determinant: str
    mean_score: float
    sites: int
    linked: bool  # named by the diagnosticians on the irritant
    evidence: str | None = None
    evidence_site: str | None = None


def determinants_behind(
    session: Session, campaign_id: int, ranks: list[IrritantRank], weakest: int = 2
) -> dict[int, list[DeterminantBehind]]:
    """For each irritant: the determinants named on it, else the weakest-scored ones, with
    their mean score over the sites where the irritant was seen (and one piece of evidence)."""
    ids = [r.irritant_id for r in ranks]
    if not ids:
        return {}
    pairs = (
        select(
            Finding.irritant_id.label("irritant_id"), ObservationSession.site_id.label("site_id")
        )
        .join(ObservationSession, ObservationSession.id == Finding.session_id)
        .where(Finding.irritant_id.in_(ids))
        .distinct()
        .subquery()
    )
    join = and_(
        DeterminantAssessment.site_id == pairs.c.site_id,
        DeterminantAssessment.campaign_id == campaign_id,
    )
    stats: dict[int, dict[str, tuple[float, int]]] = {}
    for irritant_id, determinant, mean, sites in session.execute(
        select(
            pairs.c.irritant_id,
            DeterminantAssessment.determinant,
            func.avg(cast(DeterminantAssessment.score, Float)),
            func.count(),
        )
        .join(DeterminantAssessment, join)
        .group_by(pairs.c.irritant_id, DeterminantAssessment.determinant)
    ):
        stats.setdefault(irritant_id, {})[determinant] = (float(mean), sites)
    evidence: dict[tuple[int, str], tuple[str, str]] = {}
    for irritant_id, determinant, text, code in session.execute(
        select(
            pairs.c.irritant_id,
            DeterminantAssessment.determinant,
            DeterminantAssessment.evidence,
            Site.code,
        )
        .join(DeterminantAssessment, join)
        .join(Site, Site.id == DeterminantAssessment.site_id)
        .order_by(DeterminantAssessment.score, Site.code)
    ):
        evidence.setdefault((irritant_id, determinant), (text, code))
    result: dict[int, list[DeterminantBehind]] = {}
    for rank in ranks:
        per = stats.get(rank.irritant_id, {})
        if rank.determinants:
            chosen = [(d, True) for d in rank.determinants if d in DETERMINANTS]
        else:
            weakest_first = sorted((d for d in per if per[d][0] <= 3), key=lambda d: (per[d][0], d))
            chosen = [(d, False) for d in weakest_first[:weakest]]
        items = []
        for determinant, linked in chosen:
            mean, sites = per.get(determinant, (0.0, 0))
            text, code = evidence.get((rank.irritant_id, determinant), (None, None))
            items.append(DeterminantBehind(determinant, mean, sites, linked, text, code))
        result[rank.irritant_id] = items
    return result


# --- customer voice --------------------------------------------------------------------------


@dataclass
class VoiceFilters:
    site_id: int | None = None
    sentiment: str = ""


def verbatims(
    session: Session, campaign: Campaign, user, filters: VoiceFilters, limit: int = 200
) -> tuple[list[Verbatim], int]:
    stmt = (
        select(Verbatim)
        .join(Site, Site.id == Verbatim.site_id)
        .where(Verbatim.campaign_id == campaign.id)
    )
    if filters.site_id:
        stmt = stmt.where(Verbatim.site_id == filters.site_id)
    if filters.sentiment:
        stmt = stmt.where(Verbatim.sentiment == filters.sentiment)
    stmt = filter_sites(stmt, user)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(
        stmt.options(joinedload(Verbatim.site))
        .order_by(Verbatim.collected_on.desc(), Verbatim.id.desc())
        .limit(limit)
    )
    return list(rows), total


def sentiment_counts(session: Session, campaign_id: int, user=None) -> dict[str, int]:
    stmt = (
        select(Verbatim.sentiment, func.count(Verbatim.id))
        .join(Site, Site.id == Verbatim.site_id)
        .where(Verbatim.campaign_id == campaign_id)
        .group_by(Verbatim.sentiment)
    )
    if user is not None:
        stmt = filter_sites(stmt, user)
    return dict(session.execute(stmt).all())


def survey_scores(session: Session, campaign: Campaign, user) -> list[SurveyScore]:
    stmt = (
        select(SurveyScore)
        .join(Site, Site.id == SurveyScore.site_id)
        .where(SurveyScore.campaign_id == campaign.id)
        .options(joinedload(SurveyScore.site))
        .order_by(SurveyScore.survey, Site.code, SurveyScore.period_end)
    )
    return list(session.scalars(filter_sites(stmt, user)))


@dataclass
class SurveySummary:
    survey: str
    sites: int
    respondents: int
    mean_share: float  # respondents-weighted mean of score / scale (0–1)


def survey_summary(session: Session, campaign_id: int) -> list[SurveySummary]:
    rows = session.execute(
        select(
            SurveyScore.survey,
            func.count(distinct(SurveyScore.site_id)),
            func.sum(SurveyScore.respondents),
            func.sum(SurveyScore.score / SurveyScore.scale_max * SurveyScore.respondents)
            / func.sum(cast(SurveyScore.respondents, Float)),
        )
        .where(SurveyScore.campaign_id == campaign_id)
        .group_by(SurveyScore.survey)
        .order_by(SurveyScore.survey)
    )
    return [SurveySummary(s, n, int(r), float(m)) for s, n, r, m in rows]
