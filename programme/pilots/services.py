"""Pilot rules: design validation and saving, team feel, decisions, packages, the control
site proposal and the power estimate. Plain values in, models or plain values out; errors
are `Invalid` with messages per field (the form and the API show them)."""

from __future__ import annotations

import math
import re
import secrets
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
from flask_babel import format_decimal
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from programme.errors import Invalid
from programme.kpis.models import Kpi, KpiWeekRollup
from programme.kpis.services import register_preferred_kpi
from programme.network.models import Site
from programme.pilots import randomization as rz
from programme.pilots import results
from programme.pilots.models import (
    DECISIONS,
    DEPLOYMENT_STEPS,
    ELEMENT_KINDS,
    STAGES,
    SUPPORTING_FUNCTIONS,
    Package,
    PackageElement,
    Pilot,
    PilotDecision,
    PilotImprovement,
    PilotKpi,
    PilotMember,
    PilotSite,
    PulseAnswer,
)
from programme.weeks import week_start


@dataclass
class Design:
    """A pilot's design as plain values; sites and KPIs by code (as typed or sent)."""

    name: str
    baseline_start: date | None
    baseline_end: date | None
    pilot_start: date | None
    pilot_end: date | None
    pilot_sites: list[str]
    control_sites: list[str] = field(default_factory=list)
    kpis: list[tuple[str, float | None]] = field(default_factory=list)  # (code, target)
    description: str | None = None
    stakes: str | None = None
    improvements: list[tuple[str, str | None]] = field(default_factory=list)
    supporting_functions: list[str] = field(default_factory=list)
    member_ids: list[int] | None = None  # None: leave the team as it is
    irritant_ids: list[int] | None = None
    stage: str | None = None
    # A matched-pair draw the arms come from (see draw_pairs); None: arms chosen by hand.
    draw: Draw | None = None
    start_reason: str | None = None  # why a design that can never reach 5 % is started


def split_codes(text: str | None) -> list[str]:
    """Site codes typed in one field, separated by commas, semicolons, spaces or lines."""
    seen: list[str] = []
    for code in re.split(r"[\s,;]+", text or ""):
        code = code.strip().upper()
        if code and code not in seen:
            seen.append(code)
    return seen


def _add(errors: dict[str, list[str]], key: str, message: str) -> None:
    errors.setdefault(key, []).append(message)


def validate(session: Session, design: Design, pilot: Pilot | None = None):
    """Every problem at once, per field. Returns (site ids by code, KPIs by code)."""
    errors: dict[str, list[str]] = {}
    name = (design.name or "").strip()
    if not name:
        _add(errors, "name", _("Give the pilot a name."))
    elif len(name) > 200:
        _add(errors, "name", _("200 characters at most."))
    else:
        clash = session.scalar(select(Pilot.id).where(func.lower(Pilot.name) == name.lower()))
        if clash is not None and (pilot is None or clash != pilot.id):
            _add(errors, "name", _("Another pilot already has this name."))
    for key in ("baseline_start", "baseline_end", "pilot_start", "pilot_end"):
        if getattr(design, key) is None:
            _add(errors, key, _("Enter a date."))
    bs, be, ps, pe = (design.baseline_start, design.baseline_end, design.pilot_start,
                      design.pilot_end)  # fmt: skip
    if bs and be and be < bs:
        _add(errors, "baseline_end", _("The baseline ends before it starts."))
    if ps and pe and pe < ps:
        _add(errors, "pilot_end", _("The pilot period ends before it starts."))
    if be and ps and be >= ps:
        _add(errors, "baseline_end", _("The baseline must end before the pilot period starts."))

    codes = set(design.pilot_sites) | set(design.control_sites)
    found = (
        dict(session.execute(select(Site.code, Site.id).where(Site.code.in_(codes))).all())
        if codes
        else {}
    )
    if not design.pilot_sites:
        _add(errors, "pilot_sites", _("Choose at least one pilot site."))
    for key, arm_codes in (
        ("pilot_sites", design.pilot_sites),
        ("control_sites", design.control_sites),
    ):
        unknown = [c for c in arm_codes if c not in found]
        if unknown:
            _add(errors, key, _("Unknown site codes: %(codes)s.", codes=", ".join(unknown)))
    both = [c for c in design.control_sites if c in set(design.pilot_sites)]
    if both:
        _add(
            errors,
            "control_sites",
            _(
                "A site cannot be both a pilot site and a control site: %(codes)s.",
                codes=", ".join(both),
            ),
        )

    kpi_codes = [code for code, _target in design.kpis]
    kpis = {k.code: k for k in session.scalars(select(Kpi).where(Kpi.code.in_(kpi_codes)))}
    if not design.kpis:
        _add(errors, "kpis", _("Choose at least one KPI."))
    for code, target in design.kpis:
        kpi = kpis.get(code)
        if kpi is None:
            _add(errors, "kpis", _("Unknown KPI: %(code)s.", code=code))
            continue
        if target is None:
            continue
        if target == 0 or abs(target) >= 10:
            _add(
                errors,
                "kpis",
                _(
                    "%(code)s: the target must be a relative change such as "
                    "-20 %% (or -0.2 through the API).",
                    code=code,
                ),
            )
        elif (kpi.better == "lower") != (target < 0):
            _add(
                errors,
                "kpis",
                _("%(code)s: lower is better, so the target must be a decrease.", code=code)
                if kpi.better == "lower"
                else _("%(code)s: higher is better, so the target must be an increase.", code=code),
            )
    for function in design.supporting_functions:
        if function not in SUPPORTING_FUNCTIONS:
            _add(errors, "supporting_functions", _("Unknown supporting function."))
    if design.stage is not None and design.stage not in STAGES:
        _add(errors, "stage", _("Unknown stage."))
    floor = design_min_p(design)
    starting = design.stage not in (None, "design") and (pilot is None or pilot.stage == "design")
    reason = (design.start_reason or "").strip() or (pilot.start_reason if pilot else None)
    if starting and floor is not None and floor > rz.ALPHA and not reason:
        _add(
            errors,
            "start_reason",
            _(
                "This design can never reach 5 %%: its smallest possible p-value is "
                "%(min_p)s. Say why you start it anyway, or add sites.",
                min_p=_decimal(floor),
            ),
        )
    if errors:
        raise Invalid.from_fields(errors)
    return found, kpis


def _decimal(value: float) -> str:
    """0.333 in the user's locale; plain outside a request (CLI, demo seeding)."""
    try:
        return format_decimal(value, format="0.000")
    except RuntimeError:
        return f"{value:.3f}"


def design_min_p(design: Design) -> float | None:
    """The smallest two-sided p-value the randomization test can give for these arms:
    2 / 2^pairs for a matched-pair draw kept as drawn, else 2 / C(N, k); None without
    control sites (no randomization test then)."""
    k, m = len(design.pilot_sites), len(design.control_sites)
    if not k or not m:
        return None
    if design.draw is not None and design.draw.matches(design):
        return rz.min_p(2 ** len(design.draw.pairs))
    return rz.min_p(math.comb(k + m, k))


def _arms(pilot: Pilot) -> tuple[set[str], set[str]]:
    return (
        {ps.site.code for ps in pilot.sites if ps.arm == "pilot"},
        {ps.site.code for ps in pilot.sites if ps.arm == "control"},
    )


def loses_randomization(pilot: Pilot | None, design: Design) -> bool:
    """True when saving `design` edits the arms of a pilot drawn at random: the design is
    then no longer randomized (the form and the API warn)."""
    if pilot is None or not pilot.randomized:
        return False
    if design.draw is not None and design.draw.matches(design):
        return False
    return _arms(pilot) != (set(design.pilot_sites), set(design.control_sites))


def save_pilot(session: Session, design: Design, pilot: Pilot | None = None, user=None) -> Pilot:
    """Create or update a pilot from a validated design (raises Invalid)."""
    site_ids, kpis = validate(session, design, pilot)
    lost = loses_randomization(pilot, design)
    if pilot is None:
        pilot = Pilot(created_by_id=getattr(user, "id", None), stage="design")
        session.add(pilot)
    pilot.name = design.name.strip()
    pilot.description = design.description or None
    pilot.stakes = design.stakes or None
    pilot.baseline_start = design.baseline_start
    pilot.baseline_end = design.baseline_end
    pilot.pilot_start = design.pilot_start
    pilot.pilot_end = design.pilot_end
    pilot.supporting_functions = list(design.supporting_functions)
    if design.stage:
        pilot.stage = design.stage

    wanted = {site_ids[c]: "pilot" for c in design.pilot_sites}
    wanted.update({site_ids[c]: "control" for c in design.control_sites})
    for ps in list(pilot.sites):
        if ps.site_id not in wanted:
            pilot.sites.remove(ps)
        else:
            ps.arm = wanted.pop(ps.site_id)
    session.flush()
    for site_id, arm in wanted.items():
        pilot.sites.append(PilotSite(site_id=site_id, arm=arm))

    if design.draw is not None and design.draw.matches(design):
        pilot.randomized = True
        pilot.randomization_seed = design.draw.seed
        pilot.randomization_pairs = [[site_ids[a], site_ids[b]] for a, b in design.draw.pairs]
    elif design.draw is not None or lost:
        pilot.randomized = False  # the arms are no longer the draw's
    if design.start_reason is not None:
        pilot.start_reason = design.start_reason.strip() or None

    targets = {kpis[code].id: target for code, target in design.kpis}
    for pk in list(pilot.kpis):
        if pk.kpi_id not in targets:
            pilot.kpis.remove(pk)
        else:
            pk.target_relative = targets.pop(pk.kpi_id)
    session.flush()
    for kpi_id, target in targets.items():
        pilot.kpis.append(PilotKpi(kpi_id=kpi_id, target_relative=target))

    current = [(i.title, i.description) for i in pilot.improvements]
    if current != list(design.improvements):
        pilot.improvements.clear()
        session.flush()
        for title, description in design.improvements:
            pilot.improvements.append(PilotImprovement(title=title[:200], description=description))

    if design.member_ids is not None:
        keep = set(design.member_ids)
        for member in list(pilot.members):
            if member.user_id not in keep:
                pilot.members.remove(member)
            keep.discard(member.user_id)
        session.flush()
        for user_id in sorted(keep):
            pilot.members.append(PilotMember(user_id=user_id))
    if design.irritant_ids is not None:
        from programme.diagnostics.models import Irritant

        pilot.irritants = (
            list(session.scalars(select(Irritant).where(Irritant.id.in_(design.irritant_ids))))
            if design.irritant_ids
            else []
        )
    session.flush()
    return pilot


def periods(pilot: Pilot) -> results.Periods:
    return results.Periods(
        pilot.baseline_start, pilot.baseline_end, pilot.pilot_start, pilot.pilot_end
    )


def pilot_results(session: Session, pilot: Pilot) -> list[results.KpiResult]:
    return [
        results.kpi_result(
            session,
            pk.kpi,
            pilot.site_ids("pilot"),
            pilot.site_ids("control"),
            periods(pilot),
            pk.target_relative,
            pairs=pilot.pairs,
        )
        for pk in pilot.kpis
    ]


# --- team feel, decision, package ------------------------------------------------------------


def add_pulse(
    session: Session,
    pilot: Pilot,
    score,
    comment: str | None,
    site_id: int | None,
    answered_on: date | None,
    user=None,
) -> PulseAnswer:
    errors: dict[str, list[str]] = {}
    try:
        score = int(score)
    except (TypeError, ValueError):
        score = 0
    if not 1 <= score <= 5:
        _add(errors, "score", _("Choose a score from 1 to 5."))
    if site_id is not None and site_id not in pilot.site_ids("pilot"):
        _add(errors, "site_id", _("Choose one of the pilot sites."))
    if errors:
        raise Invalid.from_fields(errors)
    answer = PulseAnswer(
        pilot=pilot,
        score=score,
        comment=(comment or "").strip() or None,
        site_id=site_id,
        answered_on=answered_on or date.today(),
        entered_by_id=getattr(user, "id", None),
    )
    session.add(answer)
    session.flush()
    return answer


PULSE_SALT = "pilot-pulse"


def pulse_token(pilot: Pilot, secret_key: str) -> str:
    """The shareable team-feel link's token: the pilot id, signed with the app's key."""
    from itsdangerous import URLSafeSerializer

    return URLSafeSerializer(secret_key, salt=PULSE_SALT).dumps(pilot.id)


def pilot_for_pulse_token(session: Session, token: str, secret_key: str) -> Pilot | None:
    """The pilot a shareable link opens, or None (bad signature, unknown or decided pilot)."""
    from itsdangerous import BadSignature, URLSafeSerializer

    try:
        pilot_id = URLSafeSerializer(secret_key, salt=PULSE_SALT).loads(token)
    except BadSignature:
        return None
    pilot = session.get(Pilot, pilot_id) if isinstance(pilot_id, int) else None
    if pilot is None or pilot.stage == "decided":
        return None
    return pilot


@dataclass
class TeamFeel:
    answers: int
    mean: float | None
    distribution: dict[int, int]
    share_better: float | None  # share of 4 and 5


def team_feel(session: Session, pilot_id: int) -> TeamFeel:
    rows = dict(
        session.execute(
            select(PulseAnswer.score, func.count())
            .where(PulseAnswer.pilot_id == pilot_id)
            .group_by(PulseAnswer.score)
        ).all()
    )
    total = sum(rows.values())
    dist = {s: int(rows.get(s, 0)) for s in range(1, 6)}
    mean = sum(s * c for s, c in dist.items()) / total if total else None
    better = (dist[4] + dist[5]) / total if total else None
    return TeamFeel(total, mean, dist, better)


def decide(
    session: Session,
    pilot: Pilot,
    decision: str,
    reason: str | None,
    decided_on: date | None,
    user=None,
) -> PilotDecision:
    errors: dict[str, list[str]] = {}
    if decision not in DECISIONS:
        _add(errors, "decision", _("Choose go, iterate or stop."))
    if not (reason or "").strip():
        _add(errors, "reason", _("Say why: the decision needs a reason."))
    if errors:
        raise Invalid.from_fields(errors)
    row = PilotDecision(
        pilot=pilot,
        decision=decision,
        reason=reason.strip(),  # type: ignore[union-attr]
        decided_on=decided_on or date.today(),
        decided_by_id=getattr(user, "id", None),
        decided_by=getattr(user, "email", None) or "system",
    )
    session.add(row)
    pilot.stage = "decided"
    session.flush()
    return row


def ensure_package(session: Session, pilot: Pilot) -> Package:
    """The pilot's package (created on "go"), named after the pilot."""
    if pilot.package is not None:
        return pilot.package
    if pilot.decision is None or pilot.decision.decision != "go":
        raise Invalid.from_fields({"decision": [_("A package follows a go decision.")]})
    name = pilot.name[:190]
    if session.scalar(select(Package.id).where(Package.name == name)) is not None:
        name = f"{name[:180]} #{pilot.id}"
    package = Package(
        pilot=pilot, name=name, description="\n".join(i.title for i in pilot.improvements) or None
    )
    session.add(package)
    session.flush()
    return package


def add_element(
    session: Session,
    package: Package,
    kind: str,
    title: str | None,
    description: str | None,
    deployment_step: str,
) -> PackageElement:
    errors: dict[str, list[str]] = {}
    if kind not in ELEMENT_KINDS:
        _add(errors, "kind", _("Choose process, tool, indicator or management routine."))
    if not (title or "").strip():
        _add(errors, "title", _("Give the element a title."))
    if not (description or "").strip():
        _add(errors, "description", _("Describe the element."))
    if deployment_step not in DEPLOYMENT_STEPS:
        _add(errors, "deployment_step", _("Choose the deployment step that installs it."))
    if errors:
        raise Invalid.from_fields(errors)
    element = PackageElement(
        package=package,
        kind=kind,
        title=title.strip()[:200],  # type: ignore[union-attr]
        description=description.strip(),
        deployment_step=deployment_step,
    )  # type: ignore[union-attr]
    session.add(element)
    session.flush()
    return element


# --- design helpers: control proposal and power ---------------------------------------------


@dataclass
class Candidate:
    site: Site
    tier: int  # 0 same type and region, 1 same type, 2 other
    baseline: float | None
    distance: float | None


def propose_controls(
    session: Session,
    pilot_codes: list[str],
    kpi: Kpi | None,
    baseline_start: date | None,
    baseline_end: date | None,
    exclude: list[str] = (),
    count: int | None = None,
) -> list[Candidate]:  # type: ignore[assignment]
    """Comparable sites for the control arm: same type and region first, then same type,
    then the rest; within each, the closest baseline level of the KPI (weekly rollups)."""
    pilots = list(session.scalars(select(Site).where(Site.code.in_(pilot_codes))))
    if not pilots:
        return []
    count = count or len(pilots)
    types = {s.type for s in pilots}
    regions = {(s.type, s.region_id) for s in pilots}
    taken = {s.id for s in pilots}
    excluded = set(exclude)
    candidates = [
        s
        for s in session.scalars(select(Site).where(Site.type.in_(types)).order_by(Site.code))
        if s.id not in taken and s.code not in excluded
    ]
    levels: dict[int, float] = {}
    if kpi is not None and baseline_start and baseline_end:
        r = KpiWeekRollup
        first = week_start(baseline_start)
        rows = session.execute(
            select(r.site_id, func.sum(r.sum_vn), func.sum(r.sum_n))
            .where(
                r.kpi_id == kpi.id,
                r.week_start >= first,
                r.week_start <= baseline_end,
                r.site_id.in_([s.id for s in candidates] + list(taken)),
            )
            .group_by(r.site_id)
        ).all()
        levels = {sid: float(svn) / float(sn) for sid, svn, sn in rows if sn}
    pilot_levels = [levels[i] for i in taken if i in levels]
    target = sum(pilot_levels) / len(pilot_levels) if pilot_levels else None
    out = []
    for s in candidates:
        tier = 0 if (s.type, s.region_id) in regions else 1
        level = levels.get(s.id)
        distance = abs(level - target) if level is not None and target is not None else None
        out.append(Candidate(s, tier, level, distance))
    out.sort(key=lambda c: (c.tier, c.distance is None, c.distance or 0, c.site.code))
    return out[:count]


# --- matched-pair randomization at design ------------------------------------------------------

MIN_PAIRS = 2


@dataclass
class Draw:
    """A matched-pair draw: the pairs as (pilot code, control code) after the coin flips,
    the seed that made the flips, and the candidates left without a partner."""

    seed: int
    pairs: list[tuple[str, str]]
    left_out: list[str] = field(default_factory=list)

    @property
    def pilot_sites(self) -> list[str]:
        return [a for a, _b in self.pairs]

    @property
    def control_sites(self) -> list[str]:
        return [b for _a, b in self.pairs]

    def matches(self, design: Design) -> bool:
        """The design's arms are exactly the draw's."""
        return set(design.pilot_sites) == set(self.pilot_sites) and set(
            design.control_sites
        ) == set(self.control_sites)

    def as_dict(self) -> dict:
        return {
            "seed": self.seed,
            "pairs": [{"pilot": a, "control": b} for a, b in self.pairs],
            "left_out": list(self.left_out),
        }

    @classmethod
    def from_dict(cls, data: dict) -> Draw:
        return cls(
            int(data["seed"]),
            [(str(p["pilot"]), str(p["control"])) for p in data["pairs"]],
            [str(c) for c in data.get("left_out", [])],
        )


def _baseline_levels(
    session: Session,
    kpi: Kpi | None,
    baseline_start: date | None,
    baseline_end: date | None,
    site_ids: list[int],
) -> dict[int, float]:
    """Each site's n-weighted level of the KPI over the baseline (weekly rollups)."""
    if kpi is None or not baseline_start or not baseline_end or not site_ids:
        return {}
    r = KpiWeekRollup
    first = week_start(baseline_start)
    rows = session.execute(
        select(r.site_id, func.sum(r.sum_vn), func.sum(r.sum_n))
        .where(
            r.kpi_id == kpi.id,
            r.week_start >= first,
            r.week_start <= baseline_end,
            r.site_id.in_(site_ids),
        )
        .group_by(r.site_id)
    ).all()
    return {sid: float(svn) / float(sn) for sid, svn, sn in rows if sn}


def match_pairs(
    sites: list[Site], levels: dict[int, float]
) -> tuple[list[tuple[Site, Site]], list[Site]]:
    """Pairs of comparable sites: within the same type and region first, then within the
    same type, then across; inside each, neighbours in baseline level (sites without a level
    last, then by code). An odd site out is left without a partner."""

    def key(s: Site):
        level = levels.get(s.id)
        return (level is None, level if level is not None else 0.0, s.code)

    pairs: list[tuple[Site, Site]] = []

    def pair_up(group: list[Site]) -> list[Site]:
        group = sorted(group, key=key)
        for i in range(0, len(group) - 1, 2):
            pairs.append((group[i], group[i + 1]))
        return group[-1:] if len(group) % 2 else []

    rest: list[Site] = []
    by_place: dict[tuple, list[Site]] = {}
    for s in sites:
        by_place.setdefault((s.type or "", s.region_id or 0), []).append(s)
    for place in sorted(by_place):
        rest += pair_up(by_place[place])
    by_type: dict[str, list[Site]] = {}
    for s in rest:
        by_type.setdefault(s.type or "", []).append(s)
    rest = []
    for kind in sorted(by_type):
        rest += pair_up(by_type[kind])
    left = pair_up(rest)
    return pairs, left


def draw_pairs(
    session: Session,
    candidate_codes: list[str],
    kpi: Kpi | None,
    baseline_start: date | None,
    baseline_end: date | None,
    seed: int | None = None,
) -> Draw:
    """Pair the candidate sites (match_pairs) and draw which site of each pair is the pilot
    with numpy's generator seeded by `seed` (a fresh random seed when None, recorded).
    Raises Invalid (key "candidate_sites") with unknown codes or fewer than 2 pairs."""
    errors: dict[str, list[str]] = {}
    sites = {s.code: s for s in session.scalars(select(Site).where(Site.code.in_(candidate_codes)))}
    unknown = [c for c in candidate_codes if c not in sites]
    if unknown:
        _add(
            errors, "candidate_sites", _("Unknown site codes: %(codes)s.", codes=", ".join(unknown))
        )
    if len(candidate_codes) < 2 * MIN_PAIRS:
        _add(
            errors,
            "candidate_sites",
            _(
                "Give at least %(sites)d candidate sites: the draw needs %(pairs)d pairs or "
                "more (you gave %(given)d).",
                sites=2 * MIN_PAIRS,
                pairs=MIN_PAIRS,
                given=len(candidate_codes),
            ),
        )
    if seed is not None and not (0 <= seed < 2**31):
        _add(errors, "seed", _("The seed is a whole number from 0 to 2,147,483,647."))
    if kpi is None:
        _add(errors, "kpis", _("Choose a KPI: the pairs are matched on its baseline level."))
    if not baseline_start or not baseline_end:
        _add(errors, "baseline_start", _("Enter the baseline period: the pairs are matched on it."))
    if errors:
        raise Invalid.from_fields(errors)
    chosen = [sites[c] for c in candidate_codes]
    levels = _baseline_levels(session, kpi, baseline_start, baseline_end, [s.id for s in chosen])
    if not levels:
        raise Invalid.from_fields(
            {
                "baseline_start": [
                    _(
                        "No measurement of %(kpi)s at the candidate sites over the baseline "
                        "period: the pairs cannot be matched on their baseline level.",
                        kpi=kpi.code,  # type: ignore[union-attr]
                    )
                ]
            }
        )
    pairs, left = match_pairs(chosen, levels)
    if seed is None:
        seed = secrets.randbelow(2**31)
    flips = np.random.default_rng(seed).integers(0, 2, size=len(pairs))
    drawn = [
        (b.code, a.code) if flip else (a.code, b.code)
        for (a, b), flip in zip(pairs, flips, strict=True)
    ]
    return Draw(seed, drawn, [s.code for s in left])


def randomize_design(session: Session, design: Design, candidate_sites, seed=None) -> Draw:
    """Fill the design's arms from a matched-pair draw of `candidate_sites` (a list of site
    codes, as the API sends it), pairing on the first KPI's baseline level. Raises
    Invalid: arms given as well, candidates not a list, bad seed, fewer than 2 pairs."""
    errors: dict[str, list[str]] = {}
    if design.pilot_sites or design.control_sites:
        _add(
            errors,
            "candidate_sites",
            _(
                "To draw the arms at random, give candidate_sites instead of pilot_sites and control_sites."
            ),
        )
    if not isinstance(candidate_sites, list) or not all(
        isinstance(c, str) for c in candidate_sites
    ):
        _add(errors, "candidate_sites", _("A list of site codes."))
        candidate_sites = []
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        _add(errors, "seed", _("The seed is a whole number from 0 to 2,147,483,647."))
        seed = None
    codes = split_codes(" ".join(candidate_sites))
    try:
        kpi = (
            session.scalar(select(Kpi).where(Kpi.code == design.kpis[0][0]))
            if design.kpis
            else None
        )
        draw = draw_pairs(session, codes, kpi, design.baseline_start, design.baseline_end, seed)
    except Invalid as invalid:
        for error in invalid.errors:
            _add(errors, error.field, error.message)
        draw = None
    if errors or draw is None:
        raise Invalid.from_fields(errors)
    design.pilot_sites = draw.pilot_sites
    design.control_sites = draw.control_sites
    design.draw = draw
    return draw


DRAW_SALT = "pilot-draw"


def draw_token(draw: Draw, secret_key: str) -> str:
    """The draw as the form carries it between the draw and the save: signed, so that a
    design is marked randomized only for a draw the server made."""
    from itsdangerous import URLSafeSerializer

    return URLSafeSerializer(secret_key, salt=DRAW_SALT).dumps(draw.as_dict())


def draw_from_token(token: str | None, secret_key: str) -> Draw | None:
    from itsdangerous import BadSignature, URLSafeSerializer

    if not token:
        return None
    try:
        return Draw.from_dict(URLSafeSerializer(secret_key, salt=DRAW_SALT).loads(token))
    except (BadSignature, KeyError, TypeError, ValueError):
        return None


def randomization_dict(pilot: Pilot) -> dict:
    """The API's view of a pilot's draw: whether the design is randomized, and the record."""
    codes = {ps.site_id: ps.site.code for ps in pilot.sites}
    record = None
    if pilot.randomization_seed is not None and pilot.randomization_pairs:
        record = {
            "seed": pilot.randomization_seed,
            "pairs": [
                {"pilot": codes.get(a, a), "control": codes.get(b, b)}
                for a, b in pilot.randomization_pairs
            ],
        }
    return {"randomized": bool(pilot.randomized), "randomization": record}


@dataclass
class Power:
    kpi: Kpi
    weeks: int
    n_pilot: int
    n_control: int
    sd_delta: float | None
    level: float | None
    changes: int
    mde: float | None
    min_p: float | None = None  # smallest p-value the randomization test can give
    mde_randomization: float | None = None
    windows: int = 0  # past windows the randomization MDE was simulated on

    @property
    def mde_relative(self) -> float | None:
        if self.mde is None or not self.level:
            return None
        return self.mde / self.level

    @property
    def mde_randomization_relative(self) -> float | None:
        if self.mde_randomization is None or not self.level:
            return None
        return self.mde_randomization / self.level

    @property
    def can_reach_5_percent(self) -> bool | None:
        return None if self.min_p is None else self.min_p <= rz.ALPHA


SIMULATION_DRAWS = 500
SIMULATION_SEED = 20_261_206
HISTORY_WEEKS = 104
POWER = 0.8


def randomization_mde(
    weekly: dict[int, dict[date, tuple[float, int]]],
    pilot_ids: list[int],
    control_ids: list[int],
    baseline_weeks: int,
    pilot_weeks: int,
    draws: int = SIMULATION_DRAWS,
    seed: int = SIMULATION_SEED,
    paired: bool = False,
) -> tuple[float | None, int]:
    """Minimum detectable effect (80 % power, 5 % two-sided) of the randomization test for
    these arms, simulated on the sites' own history: each of `draws` draws (numpy
    default_rng(seed)) picks a past position for a baseline window of `baseline_weeks`
    followed by a pilot window of `pilot_weeks` (no effect there), and computes the
    interval of the test on the sites with data in both windows. An effect δ shifts that
    interval by δ, so the test rejects when δ > −ci_low (rises) or δ < −ci_high (falls);
    the MDE is the 80th percentile of max(−ci_low, ci_high) over the draws: the smallest
    |δ| detected in at least 80 % of them (θ held at each window's no-effect value).
    `weekly`: {site: {week Monday: (Σ value·n, Σ n)}}. Returns (MDE or None, windows)."""
    weeks = sorted({w for series in weekly.values() for w in series})
    span = baseline_weeks + pilot_weeks
    if not weeks or not pilot_ids or not control_ids:
        return None, 0
    first, last = weeks[0], weeks[-1]
    starts = []
    start = first
    while start + timedelta(weeks=span - 1) <= last:
        starts.append(start)
        start += timedelta(weeks=1)
    if not starts:
        return None, 0

    def means(site: int, begin: date, count: int) -> float | None:
        series = weekly.get(site, {})
        svn = sn = 0.0
        for i in range(count):
            value = series.get(begin + timedelta(weeks=i))
            if value:
                svn += value[0]
                sn += value[1]
        return svn / sn if sn else None

    widths: dict[date, float | None] = {}

    def width(begin: date) -> float | None:
        if begin not in widths:
            cut = begin + timedelta(weeks=baseline_weeks)
            arms = []
            for ids in (pilot_ids, control_ids):
                arms.append(
                    [(means(i, begin, baseline_weeks), means(i, cut, pilot_weeks)) for i in ids]
                )
            (p, c) = arms
            if paired:  # pair i: pilot_ids[i] and control_ids[i], both with data
                kept = [
                    (a, b) for a, b in zip(p, c, strict=True) if None not in a and None not in b
                ]
                p, c = [a for a, _b in kept], [b for _a, b in kept]
            else:
                p = [a for a in p if None not in a]
                c = [b for b in c if None not in b]
            result = rz.randomization_test(
                [x for x, _y in p],
                [y for _x, y in p],
                [x for x, _y in c],
                [y for _x, y in c],
                pairs=paired,
            )
            widths[begin] = (
                max(-result.ci_low, result.ci_high) if result.ci_low is not None else None
            )
        return widths[begin]

    rng = np.random.default_rng(seed)
    sample = [width(starts[i]) for i in rng.integers(0, len(starts), size=draws)]
    if any(w is None for w in sample):
        return None, len(starts)
    return float(np.quantile(sample, POWER, method="inverted_cdf")), len(starts)


def power(
    session: Session,
    kpi: Kpi,
    n_pilot: int,
    n_control: int,
    weeks: int,
    until: date | None = None,
    pilot_codes: list[str] | None = None,
    control_codes: list[str] | None = None,
    baseline_weeks: int | None = None,
    pairs: int | None = None,
) -> Power:
    """Minimum detectable effect (80 % power, 5 % two-sided) for this design, from the
    historical variance of site-level changes over blocks of `weeks` weeks (Welch); with
    control sites, the smallest p-value the randomization test can give and its MDE
    simulated on the chosen sites' own history (`randomization_mde`)."""
    until = until or date.today()
    sd, level, changes = results.historical_delta_sd(session, kpi.id, weeks, until)
    mde = results.minimum_detectable_effect(sd, n_pilot, n_control) if sd is not None else None
    out = Power(kpi, weeks, n_pilot, n_control, sd, level, changes, mde)
    if pairs:  # a matched-pair draw, kept as drawn: swaps within pairs only
        out.min_p = rz.min_p(2**pairs)
    elif n_pilot and n_control:
        out.min_p = rz.min_p(math.comb(n_pilot + n_control, n_pilot))
    if out.min_p is not None and out.min_p <= rz.ALPHA and pilot_codes and control_codes:
        ids = dict(
            session.execute(
                select(Site.code, Site.id).where(Site.code.in_([*pilot_codes, *control_codes]))
            ).all()
        )
        pilot_ids = [ids[c] for c in pilot_codes if c in ids]
        control_ids = [ids[c] for c in control_codes if c in ids]
        end = week_start(until)
        r = KpiWeekRollup
        weekly: dict[int, dict[date, tuple[float, int]]] = {}
        for site_id, week, svn, sn in session.execute(
            select(r.site_id, r.week_start, r.sum_vn, r.sum_n)
            .where(
                r.site_id.in_([*pilot_ids, *control_ids]),
                r.kpi_id == kpi.id,
                r.week_start >= end - timedelta(weeks=HISTORY_WEEKS),
                r.week_start < end,
            )
            .order_by(r.site_id, r.week_start)
        ):
            if sn:
                weekly.setdefault(site_id, {})[week] = (float(svn or 0), int(sn))
        out.mde_randomization, out.windows = randomization_mde(
            weekly, pilot_ids, control_ids, baseline_weeks or weeks, weeks, paired=bool(pairs)
        )
    return out


def weeks_between(start: date | None, end: date | None) -> int:
    if not start or not end or end < start:
        return 0
    return max(1, round(((end - start).days + 1) / 7))


# --- the KPI a pilot member works on ----------------------------------------------------------

_STAGE_ORDER = {"running": 0, "evaluating": 1, "design": 2, "decided": 3}


def member_kpi_id(session: Session, user_id: int) -> int | None:
    """The first KPI of the user's pilot (a running one first, then the newest): the
    measurement entry grid opens on it."""
    rows = session.execute(
        select(Pilot.id, Pilot.stage, PilotKpi.kpi_id)
        .join(PilotMember, PilotMember.pilot_id == Pilot.id)
        .join(PilotKpi, PilotKpi.pilot_id == Pilot.id)
        .join(Kpi, Kpi.id == PilotKpi.kpi_id)
        .where(PilotMember.user_id == user_id, Kpi.active.is_(True))
        .order_by(Pilot.id.desc(), PilotKpi.id)
    ).all()
    if not rows:
        return None
    best = min(rows, key=lambda row: (_STAGE_ORDER.get(row[1], 9), -row[0]))
    return next(kpi for pilot_id, _stage, kpi in rows if pilot_id == best[0])


register_preferred_kpi(member_kpi_id)
