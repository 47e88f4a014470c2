"""The rules of the diagnostics: campaigns and their scope, observation sessions with their
findings, determinants, customer voice, irritants, completion and the synthesis.

Every function validates everything first and raises `Invalid` with all the
problems (field, message, row) before writing anything; the caller owns the transaction."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from programme.audit import record_event
from programme.auth.models import User
from programme.auth.roles import ADMIN, DIAGNOSTICIAN
from programme.database import utcnow
from programme.diagnostics import queries
from programme.diagnostics.models import (
    CAUSES,
    DETERMINANTS,
    JOURNEY_STEPS,
    OUTCOMES,
    SCORE_MAX,
    SCORE_MIN,
    SEVERITY_MAX,
    SEVERITY_MIN,
    STAKES,
    Campaign,
    DeterminantAssessment,
    Finding,
    Irritant,
    ObservationSession,
    SurveyScore,
    Verbatim,
    step_label,
)
from programme.errors import FieldError, Invalid
from programme.network.models import CHANNELS, SITE_TYPES, Region, Site
from programme.network.services import (
    CHANNEL_INDEX,
    fold,
    word_index,
)

MAX_INTERACTIONS = 10_000
MAX_TEXT = 4000


class CompletionRefused(Invalid):
    """The campaign cannot be marked complete (an error on the override reason); `missing`
    lists what was not observed."""

    def __init__(self, message: str, missing: list[str] | None = None):
        super().__init__([FieldError("override_reason", message)])
        self.missing = missing or []


# --- small parsers (forms give typed values, files give text) --------------------------------


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _int(value: Any) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    try:
        number = float(str(value).strip().replace(",", "."))
    except ValueError:
        return None
    return int(number) if number.is_integer() else None


def _float(value: Any) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    try:
        return float(str(value).strip().replace("\u202f", "").replace(" ", "").replace(",", "."))
    except ValueError:
        return None


def _date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _text(value)
    if not text:
        return None
    for pattern in ("%Y-%m-%d", "%d/%m/%Y", "%d/%m/%y", "%Y/%m/%d", "%d.%m.%Y"):
        try:
            return datetime.strptime(text[:10] if pattern == "%Y-%m-%d" else text, pattern).date()
        except ValueError:
            continue
    return None


def _time(value: Any) -> time | None:
    if isinstance(value, time):
        return value
    text = _text(value)
    for pattern in ("%H:%M", "%H:%M:%S", "%Hh%M", "%Hh"):
        try:
            return datetime.strptime(text, pattern).time()
        except ValueError:
            continue
    return None


# --- campaigns -------------------------------------------------------------------------------


@dataclass
class CampaignValues:
    name: str
    start_date: date
    end_date: date
    lead_id: int | None
    region_ids: list[int]
    site_types: list[str]
    channels: list[str]
    journey_steps: list[str]
    site_codes: list[str]


def split_codes(text: str) -> list[str]:
    codes = []
    for part in re.split(r"[\s,;]+", text or ""):
        code = part.strip().upper()
        if code and code not in codes:
            codes.append(code)
    return codes


def journey_steps_from(standard: Iterable[str], extra: str) -> list[str]:
    """Standard step keys (in the method's order) followed by the campaign's own steps."""
    chosen = set(standard or [])
    steps = [key for key in JOURNEY_STEPS if key in chosen]
    for line in (extra or "").splitlines():
        step = " ".join(line.split())
        if step and step not in steps and fold(step) not in {fold(s) for s in steps}:
            steps.append(step)
    return steps


def scope_problem(site: Site, region_ids: list[int], site_types: list[str], channels: list[str]):
    """Why `site` is outside the scope, or None."""
    if region_ids and site.region_id not in region_ids:
        return _("%(code)s is in a region outside the scope.", code=site.code)
    if site.type not in site_types:
        return _(
            "%(code)s is a %(type)s, a site type outside the scope.",
            code=site.code,
            type=str(SITE_TYPES.get(site.type, site.type)).lower(),
        )
    if not set(site.channels) & set(channels):
        return _("%(code)s serves none of the channels in scope.", code=site.code)
    return None


def validate_campaign(
    session: Session, raw: dict[str, Any], campaign: Campaign | None = None
) -> tuple[CampaignValues | None, list[FieldError], list[Site]]:
    errors: list[FieldError] = []

    def err(name: str, message: str) -> None:
        errors.append(FieldError(name, message))

    name = " ".join(_text(raw.get("name")).split())
    if not name:
        err("name", _("This value is required."))
    elif len(name) > 200:
        err("name", _("At most 200 characters."))
    else:
        other = session.scalar(select(Campaign).where(Campaign.name == name))
        if other is not None and other is not campaign:
            err("name", _("Another campaign already has this name."))
    start, end = _date(raw.get("start_date")), _date(raw.get("end_date"))
    if start is None:
        err("start_date", _("Enter a date."))
    if end is None:
        err("end_date", _("Enter a date."))
    if start and end and end < start:
        err("end_date", _("The period ends before it starts."))
    lead_id = _int(raw.get("lead_id"))
    if lead_id is not None:
        lead = session.get(User, lead_id)
        if lead is None or not lead.active or lead.role not in (ADMIN, DIAGNOSTICIAN):
            err("lead_id", _("The lead must be an active diagnostician or programme officer."))
    region_ids = sorted({i for i in (_int(v) for v in raw.get("region_ids") or []) if i})
    if region_ids:
        known = set(session.scalars(select(Region.id).where(Region.id.in_(region_ids))))
        if set(region_ids) - known:
            err("region_ids", _("Unknown region."))
    site_types = [t for t in SITE_TYPES if t in set(raw.get("site_types") or [])]
    if not site_types or len(site_types) != len(set(raw.get("site_types") or [])):
        err("site_types", _("Choose at least one site type from the list."))
    channels = [c for c in CHANNELS if c in set(raw.get("channels") or [])]
    if not channels or len(channels) != len(set(raw.get("channels") or [])):
        err("channels", _("Choose at least one channel from the list."))
    steps = raw.get("journey_steps") or []
    if not steps:
        err("journey_steps", _("Observe at least one journey step."))
    elif any(len(s) > 60 for s in steps):
        err("extra_steps", _("A journey step has at most 60 characters."))
    codes = split_codes(raw.get("site_codes") or "")
    sites: list[Site] = []
    if codes:
        found = {s.code: s for s in session.scalars(select(Site).where(Site.code.in_(codes)))}
        unknown = [c for c in codes if c not in found]
        problems = []
        if unknown:
            problems.append(_("Unknown site code(s): %(codes)s.", codes=", ".join(unknown)))
        if site_types and channels:
            for code in codes:
                if code in found:
                    problem = scope_problem(found[code], region_ids, site_types, channels)
                    if problem:
                        problems.append(problem)
        if problems:
            err("site_codes", " ".join(problems))
        sites = [found[c] for c in codes if c in found]
    if campaign is not None and campaign.id:
        _check_edit_keeps_data(session, campaign, start, end, steps, sites, errors)
    if errors:
        return None, errors, []
    values = CampaignValues(
        name=name,
        start_date=start,
        end_date=end,
        lead_id=lead_id,
        region_ids=region_ids,
        site_types=site_types,
        channels=channels,
        journey_steps=list(steps),
        site_codes=codes,
    )
    return values, [], sites


def _check_edit_keeps_data(session, campaign, start, end, steps, sites, errors) -> None:
    """Editing a campaign must not orphan what was recorded in it."""
    observed = session.execute(
        select(
            func.min(ObservationSession.observed_on), func.max(ObservationSession.observed_on)
        ).where(ObservationSession.campaign_id == campaign.id)
    ).one()
    if start and observed[0] and observed[0] < start:
        errors.append(
            FieldError(
                "start_date",
                _("A session was observed on %(day)s, before this date.", day=observed[0]),
            )
        )
    if end and observed[1] and observed[1] > end:
        errors.append(
            FieldError(
                "end_date",
                _("A session was observed on %(day)s, after this date.", day=observed[1]),
            )
        )
    used_steps = set(
        session.scalars(
            select(Finding.journey_step)
            .join(ObservationSession, ObservationSession.id == Finding.session_id)
            .where(ObservationSession.campaign_id == campaign.id)
            .distinct()
        )
    )
    dropped = sorted(used_steps - set(steps or []))
    if steps and dropped:
        errors.append(
            FieldError(
                "journey_steps",
                _(
                    "Findings were recorded at these steps: %(steps)s. Keep them.",
                    steps=", ".join(step_label(s) for s in dropped),
                ),
            )
        )
    kept = {s.id for s in sites}
    with_sessions = session.scalars(
        select(Site.code)
        .join(ObservationSession, ObservationSession.site_id == Site.id)
        .where(ObservationSession.campaign_id == campaign.id, Site.id.not_in(kept or [0]))
        .distinct()
        .order_by(Site.code)
    ).all()
    if with_sessions:
        errors.append(
            FieldError(
                "site_codes",
                _(
                    "Sessions were recorded at %(codes)s: keep these sites in the sample.",
                    codes=", ".join(with_sessions),
                ),
            )
        )


def save_campaign(
    session: Session, raw: dict[str, Any], campaign: Campaign | None = None
) -> Campaign:
    values, errors, sites = validate_campaign(session, raw, campaign)
    if errors:
        raise Invalid(errors)
    if campaign is None:
        campaign = Campaign()
        session.add(campaign)
    campaign.name = values.name
    campaign.start_date = values.start_date
    campaign.end_date = values.end_date
    campaign.lead_id = values.lead_id
    campaign.scope_site_types = values.site_types
    campaign.scope_channels = values.channels
    campaign.journey_steps = values.journey_steps
    campaign.regions = (
        list(session.scalars(select(Region).where(Region.id.in_(values.region_ids))))
        if values.region_ids
        else []
    )
    campaign.sites = sites
    session.flush()
    return campaign


def complete_campaign(
    session: Session, campaign: Campaign, user, override_reason: str | None = None
) -> queries.Coverage:
    """Mark the campaign complete. Refused while a combination in scope has no observation,
    unless a programme officer (admin) records why."""
    if campaign.completed:
        raise CompletionRefused(_("This campaign is already complete."))
    cover = queries.coverage(session, campaign)
    reason = _text(override_reason)
    if not cover.complete:
        missing = cover.missing_labels()
        if user.role != ADMIN:
            raise CompletionRefused(
                _(
                    "These combinations in scope have no observation yet: %(missing)s. "
                    "Observe them, or ask the programme office to complete the campaign "
                    "and record why.",
                    missing="; ".join(missing),
                ),
                missing,
            )
        if len(reason) < 10:
            raise CompletionRefused(
                _(
                    "These combinations in scope have no observation: %(missing)s. "
                    "Record why the campaign is complete anyway (at least 10 characters).",
                    missing="; ".join(missing),
                ),
                missing,
            )
        campaign.completion_override_reason = reason[:MAX_TEXT]
    else:
        campaign.completion_override_reason = None
    campaign.completed_at = utcnow()
    campaign.completed_by_id = user.id
    session.flush()
    return cover


def save_synthesis(
    session: Session, campaign: Campaign, stakes_text: str, service_aspiration: str
) -> None:
    errors = []
    stakes_text, service_aspiration = _text(stakes_text), _text(service_aspiration)
    if len(stakes_text) > MAX_TEXT:
        errors.append(FieldError("stakes_text", _("At most %(n)d characters.", n=MAX_TEXT)))
    if len(service_aspiration) > MAX_TEXT:
        errors.append(FieldError("service_aspiration", _("At most %(n)d characters.", n=MAX_TEXT)))
    if errors:
        raise Invalid(errors)
    campaign.stakes_text = stakes_text or None
    campaign.service_aspiration = service_aspiration or None
    session.flush()


# --- observation sessions and findings -------------------------------------------------------

FINDING_FIELDS = (
    "journey_step",
    "description",
    "outcome",
    "cause",
    "severity",
    "occurrences",
    "attachment_ref",
    "notes",
)


def finding_is_blank(raw: dict[str, Any]) -> bool:
    """An untouched row of the entry screen (selects left on their empty choice)."""
    return not any(_text(raw.get(name)) for name in FINDING_FIELDS)


def _validate_finding(
    raw: dict[str, Any], row: int, campaign: Campaign, interactions: int | None
) -> tuple[dict[str, Any] | None, list[FieldError]]:
    errors: list[FieldError] = []

    def err(name: str, message: str) -> None:
        errors.append(FieldError(name, message, row))

    step = _text(raw.get("journey_step"))
    if step not in (campaign.journey_steps or []):
        err("journey_step", _("Choose one of the journey steps this campaign observes."))
    description = _text(raw.get("description"))
    if not description:
        err("description", _("Say what happened."))
    elif len(description) > MAX_TEXT:
        err("description", _("At most %(n)d characters.", n=MAX_TEXT))
    outcome = _text(raw.get("outcome"))
    if outcome not in OUTCOMES:
        err("outcome", _("Say whether the customer dropped off or the experience degraded."))
    cause = _text(raw.get("cause"))
    if cause not in CAUSES:
        err("cause", _("Choose a cause: technical, ergonomic, relational or commercial."))
    severity = _int(raw.get("severity"))
    if severity is None or not SEVERITY_MIN <= severity <= SEVERITY_MAX:
        err(
            "severity",
            _(
                "Severity runs from %(low)d (minor) to %(high)d (critical).",
                low=SEVERITY_MIN,
                high=SEVERITY_MAX,
            ),
        )
    occurrences = _int(raw.get("occurrences"))
    if occurrences is None or occurrences < 1:
        err("occurrences", _("How many of the interactions observed showed it? At least 1."))
    elif interactions is not None and occurrences > interactions:
        err(
            "occurrences",
            _(
                "Seen %(count)d times, but only %(total)d interactions were observed.",
                count=occurrences,
                total=interactions,
            ),
        )
    attachment = _text(raw.get("attachment_ref"))
    if len(attachment) > 500:
        err("attachment_ref", _("At most 500 characters."))
    notes = _text(raw.get("notes"))
    if len(notes) > MAX_TEXT:
        err("notes", _("At most %(n)d characters.", n=MAX_TEXT))
    if errors:
        return None, errors
    return {
        "journey_step": step,
        "description": description,
        "outcome": outcome,
        "cause": cause,
        "severity": severity,
        "occurrences": occurrences,
        "attachment_ref": attachment or None,
        "notes": notes or None,
    }, []


def save_observation(
    session: Session,
    campaign: Campaign,
    raw: dict[str, Any],
    findings: list[dict[str, Any]],
    observer: User,
    observation: ObservationSession | None = None,
) -> ObservationSession:
    """Create or update a session and its findings, all or nothing.

    `findings` are the entry screen's rows: dicts with the finding fields, `row` (its index
    on the screen, for error messages), optional `id` (an existing finding) and `delete`.
    An existing finding left out or marked `delete` is removed; blank rows are ignored."""
    errors: list[FieldError] = []

    def err(name: str, message: str) -> None:
        errors.append(FieldError(name, message))

    site_id = _int(raw.get("site_id"))
    site = session.get(Site, site_id) if site_id else None
    if site is None:
        err("site_id", _("Choose the site observed."))
    elif site not in campaign.sites:
        err(
            "site_id",
            _("%(code)s is not among the sites sampled for this campaign.", code=site.code),
        )
    observed_on = _date(raw.get("observed_on"))
    if observed_on is None:
        err("observed_on", _("Enter a date."))
    elif not campaign.start_date <= observed_on <= campaign.end_date:
        err(
            "observed_on",
            _(
                "The campaign runs from %(start)s to %(end)s.",
                start=campaign.start_date.isoformat(),
                end=campaign.end_date.isoformat(),
            ),
        )
    start, end = _time(raw.get("start_time")), _time(raw.get("end_time"))
    if start is None:
        err("start_time", _("Enter a time (hh:mm)."))
    if end is None:
        err("end_time", _("Enter a time (hh:mm)."))
    if start and end and end <= start:
        err("end_time", _("The session must end after it starts."))
    channel = _text(raw.get("channel"))
    if channel not in (campaign.scope_channels or []):
        err("channel", _("Choose a channel in the campaign's scope."))
    elif site is not None and channel not in site.channels:
        err("channel", _("%(code)s does not serve this channel.", code=site.code))
    interactions = _int(raw.get("interactions"))
    if interactions is None or not 1 <= interactions <= MAX_INTERACTIONS:
        err(
            "interactions",
            _(
                "Enter the number of customer interactions observed (1 to %(max)d).",
                max=MAX_INTERACTIONS,
            ),
        )
        interactions = None
    notes = _text(raw.get("notes"))
    if len(notes) > MAX_TEXT:
        err("notes", _("At most %(n)d characters.", n=MAX_TEXT))

    existing = {f.id: f for f in observation.findings} if observation is not None else {}
    kept: list[tuple[Finding | None, dict[str, Any]]] = []
    for index, row_raw in enumerate(findings):
        row = row_raw.get("row", index)
        finding_id = _int(row_raw.get("id"))
        if finding_id is not None and finding_id not in existing:
            errors.append(FieldError("description", _("This finding is not in this session."), row))
            continue
        if row_raw.get("delete") or (finding_is_blank(row_raw) and finding_id is None):
            continue
        values, row_errors = _validate_finding(row_raw, row, campaign, interactions)
        errors.extend(row_errors)
        if values is not None:
            kept.append((existing.get(finding_id) if finding_id else None, values))
    if errors:
        raise Invalid(errors)

    if observation is None:
        observation = ObservationSession(campaign_id=campaign.id, observer_id=observer.id)
        session.add(observation)
    else:
        # Findings live in their own table: bump the session's version on every save so
        # that two people editing the same session's findings cannot overwrite each other.
        flag_modified(observation, "interactions")
    observation.site_id = site.id
    observation.observed_on = observed_on
    observation.start_time = start
    observation.end_time = end
    observation.channel = channel
    observation.interactions = interactions
    observation.notes = notes or None
    kept_ids = {f.id for f, _values in kept if f is not None}
    for finding_id, finding in existing.items():
        if finding_id not in kept_ids:
            observation.findings.remove(finding)
    for position, (finding, values) in enumerate(kept, start=1):
        if finding is None:
            finding = Finding()
            observation.findings.append(finding)
        finding.position = position
        for key, value in values.items():
            if getattr(finding, key) != value:
                setattr(finding, key, value)
    session.flush()
    return observation


def delete_observation(session: Session, observation: ObservationSession) -> None:
    session.delete(observation)
    session.flush()


# --- organisational determinants -------------------------------------------------------------


def save_determinants(
    session: Session, campaign: Campaign, site: Site, raw: dict[str, dict[str, Any]], user
) -> int:
    """Score a site's determinants. `raw[determinant] = {"score", "evidence"}`; a determinant
    left with neither is not assessed (an existing assessment of it is removed). Returns the
    number of determinants assessed."""
    errors: list[FieldError] = []
    if site not in campaign.sites:
        raise Invalid(
            [
                FieldError(
                    "site",
                    _("%(code)s is not among the sites sampled for this campaign.", code=site.code),
                )
            ]
        )
    values: dict[str, tuple[int, str] | None] = {}
    for determinant in DETERMINANTS:
        item = raw.get(determinant) or {}
        score_text, evidence = _text(item.get("score")), _text(item.get("evidence"))
        if not score_text and not evidence:
            values[determinant] = None
            continue
        score = _int(score_text)
        if score is None or not SCORE_MIN <= score <= SCORE_MAX:
            errors.append(
                FieldError(
                    f"{determinant}-score",
                    _("Score from %(low)d to %(high)d.", low=SCORE_MIN, high=SCORE_MAX),
                )
            )
        if not evidence:
            errors.append(
                FieldError(
                    f"{determinant}-evidence", _("Say what you saw that supports the score.")
                )
            )
        elif len(evidence) > MAX_TEXT:
            errors.append(
                FieldError(f"{determinant}-evidence", _("At most %(n)d characters.", n=MAX_TEXT))
            )
        values[determinant] = (score, evidence)
    if errors:
        raise Invalid(errors)
    existing = {
        a.determinant: a
        for a in session.scalars(
            select(DeterminantAssessment).where(
                DeterminantAssessment.campaign_id == campaign.id,
                DeterminantAssessment.site_id == site.id,
            )
        )
    }
    assessed = 0
    for determinant, value in values.items():
        current = existing.get(determinant)
        if value is None:
            if current is not None:
                session.delete(current)
            continue
        assessed += 1
        score, evidence = value
        if current is None:
            session.add(
                DeterminantAssessment(
                    campaign_id=campaign.id,
                    site_id=site.id,
                    determinant=determinant,
                    score=score,
                    evidence=evidence,
                    assessed_by_id=user.id,
                )
            )
        elif (current.score, current.evidence) != (score, evidence):
            current.score, current.evidence, current.assessed_by_id = score, evidence, user.id
    session.flush()
    return assessed


# --- irritants -------------------------------------------------------------------------------


def save_irritant(
    session: Session, campaign: Campaign, raw: dict[str, Any], irritant: Irritant | None = None
) -> Irritant:
    errors: list[FieldError] = []
    name = " ".join(_text(raw.get("name")).split())
    if not name:
        errors.append(FieldError("name", _("This value is required.")))
    elif len(name) > 200:
        errors.append(FieldError("name", _("At most 200 characters.")))
    else:
        other = session.scalar(
            select(Irritant).where(Irritant.campaign_id == campaign.id, Irritant.name == name)
        )
        if other is not None and other is not irritant:
            errors.append(FieldError("name", _("This campaign already has an irritant so named.")))
    description = _text(raw.get("description"))
    if len(description) > MAX_TEXT:
        errors.append(FieldError("description", _("At most %(n)d characters.", n=MAX_TEXT)))
    stakes = list(raw.get("stakes") or [])
    if set(stakes) - set(STAKES):
        errors.append(FieldError("stakes", _("Choose stakes from the list.")))
    determinants = list(raw.get("determinants") or [])
    if set(determinants) - set(DETERMINANTS):
        errors.append(FieldError("determinants", _("Choose determinants from the list.")))
    if errors:
        raise Invalid(errors)
    if irritant is None:
        irritant = Irritant(campaign_id=campaign.id)
        session.add(irritant)
    irritant.name = name
    irritant.description = description or None
    irritant.stakes = [s for s in STAKES if s in stakes]
    irritant.determinants = [d for d in DETERMINANTS if d in determinants]
    session.flush()
    return irritant


def group_findings(
    session: Session, irritant: Irritant, add: Iterable[Any] = (), remove: Iterable[Any] = ()
) -> tuple[int, int]:
    """Put findings of the irritant's campaign under it (`add`), or take them out (`remove`).
    A finding already grouped elsewhere moves. Returns (added, removed)."""
    add_ids = {i for i in (_int(v) for v in add) if i}
    remove_ids = {i for i in (_int(v) for v in remove) if i}
    wanted = add_ids | remove_ids
    found = {
        f.id: f
        for f in session.scalars(
            select(Finding)
            .join(ObservationSession, ObservationSession.id == Finding.session_id)
            .where(Finding.id.in_(wanted), ObservationSession.campaign_id == irritant.campaign_id)
        )
    }
    if wanted - set(found):
        raise Invalid(
            [FieldError("findings", _("Some of these findings are not in this campaign."))]
        )
    added = removed = 0
    for finding_id in add_ids:
        if found[finding_id].irritant_id != irritant.id:
            found[finding_id].irritant_id = irritant.id
            added += 1
    for finding_id in remove_ids - add_ids:
        if found[finding_id].irritant_id == irritant.id:
            found[finding_id].irritant_id = None
            removed += 1
    session.flush()
    return added, removed


def delete_irritant(session: Session, irritant: Irritant) -> None:
    """Its findings stay, ungrouped."""
    for finding in irritant.findings:
        finding.irritant_id = None
    session.delete(irritant)
    session.flush()


# --- customer voice --------------------------------------------------------------------------

_STEP_WORDS = {
    "first_contact": ["first contact", "prise de contact", "accueil"],
    "waiting": ["waiting", "wait", "attente"],
    "needs_discovery": ["needs discovery", "decouverte du besoin", "decouverte"],
    "advice_sale": ["advice/sale", "advice", "sale", "conseil/vente", "conseil", "vente"],
    "payment": ["payment", "checkout", "payment/checkout", "encaissement", "paiement"],
    "after_sales": ["after-sales", "after sales", "apres-vente", "sav"],
    "follow_up": ["follow-up", "follow up", "suivi"],
}
_SENTIMENT_WORDS = {
    "negative": ["negative", "negatif", "neg"],
    "neutral": ["neutral", "neutre"],
    "positive": ["positive", "positif", "pos"],
}
_SENTIMENTS = word_index(_SENTIMENT_WORDS)


def _step_lookup(campaign: Campaign) -> dict[str, str]:
    index = {}
    for step in campaign.journey_steps or []:
        index[fold(step)] = step
        index[fold(step_label(step))] = step
        for word in _STEP_WORDS.get(step, []):
            index[fold(word)] = step
    return index


VOICE_KINDS = ("verbatims", "survey_scores")
VERBATIM_FIELDS = ("site", "quote", "channel", "journey_step", "sentiment", "collected_on")
SURVEY_FIELDS = ("site", "survey", "score", "scale_max", "respondents", "period_end")


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"created": self.created, "updated": self.updated, "unchanged": self.unchanged}


def _fingerprint(values: dict[str, Any]) -> str:
    quote = unicodedata.normalize("NFC", " ".join(values["quote"].split())).casefold()
    key = "|".join(
        [
            str(values["site_id"]),
            values["channel"],
            values["journey_step"],
            values["sentiment"],
            values["collected_on"].isoformat() if values["collected_on"] else "",
            quote,
        ]
    )
    return hashlib.sha256(key.encode()).hexdigest()


def _campaign_sites(session: Session, campaign: Campaign) -> dict[str, Site]:
    return {s.code: s for s in campaign.sites}


def _sampled_site(raw: dict[str, Any], sites: dict[str, Site], err) -> Site | None:
    """The row's site, which must be one the campaign sampled."""
    code = _text(raw.get("site")).upper()
    site = sites.get(code)
    if not code:
        err("site", _("This value is required."))
    elif site is None:
        err("site", _("%(code)s is not among the sites sampled for this campaign.", code=code))
    return site


def validate_verbatim(
    raw: dict[str, Any], row: int | None, campaign: Campaign, sites: dict[str, Site], steps
) -> tuple[dict[str, Any] | None, list[FieldError]]:
    errors: list[FieldError] = []

    def err(name: str, message: str) -> None:
        errors.append(FieldError(name, message, row))

    site = _sampled_site(raw, sites, err)
    quote = _text(raw.get("quote"))
    if not quote:
        err("quote", _("This value is required."))
    elif len(quote) > MAX_TEXT:
        err("quote", _("At most %(n)d characters.", n=MAX_TEXT))
    channel = CHANNEL_INDEX.get(fold(_text(raw.get("channel"))))
    if channel is None or channel not in (campaign.scope_channels or []):
        err("channel", _("Choose a channel in the campaign's scope."))
    step = steps.get(fold(_text(raw.get("journey_step"))))
    if step is None:
        err("journey_step", _("Choose one of the journey steps this campaign observes."))
    sentiment_text = _text(raw.get("sentiment"))
    sentiment = {"-": "negative", "0": "neutral", "+": "positive"}.get(
        sentiment_text
    ) or _SENTIMENTS.get(fold(sentiment_text))
    if sentiment is None:
        err("sentiment", _("Use negative, neutral or positive."))
    collected_on = None
    if _text(raw.get("collected_on")):
        collected_on = _date(raw.get("collected_on"))
        if collected_on is None:
            err("collected_on", _("Write the date as YYYY-MM-DD or DD/MM/YYYY."))
    if errors:
        return None, errors
    return {
        "site_id": site.id,
        "quote": quote,
        "channel": channel,
        "journey_step": step,
        "sentiment": sentiment,
        "collected_on": collected_on,
    }, []


def validate_survey_score(
    raw: dict[str, Any], row: int | None, sites: dict[str, Site]
) -> tuple[dict[str, Any] | None, list[FieldError]]:
    errors: list[FieldError] = []

    def err(name: str, message: str) -> None:
        errors.append(FieldError(name, message, row))

    site = _sampled_site(raw, sites, err)
    survey = " ".join(_text(raw.get("survey")).split())
    if not survey:
        err("survey", _("This value is required."))
    elif len(survey) > 120:
        err("survey", _("At most 120 characters."))
    scale_max = _float(raw.get("scale_max"))
    if scale_max is None or scale_max <= 0:
        err("scale_max", _("Enter the top of the scale (e.g. 10 or 100)."))
    score = _float(raw.get("score"))
    if score is None:
        err("score", _("Enter a number."))
    elif scale_max is not None and scale_max > 0 and not 0 <= score <= scale_max:
        err("score", _("The score must lie between 0 and %(max)s.", max=f"{scale_max:g}"))
    respondents = _int(raw.get("respondents"))
    if respondents is None or respondents < 1:
        err("respondents", _("Enter the number of respondents (at least 1)."))
    period_end = _date(raw.get("period_end"))
    if period_end is None:
        err("period_end", _("Write the date as YYYY-MM-DD or DD/MM/YYYY."))
    if errors:
        return None, errors
    return {
        "site_id": site.id,
        "survey": survey,
        "score": score,
        "scale_max": scale_max,
        "respondents": respondents,
        "period_end": period_end,
    }, []


def add_verbatim(session: Session, campaign: Campaign, raw: dict[str, Any]) -> Verbatim:
    values, errors = validate_verbatim(
        raw, None, campaign, _campaign_sites(session, campaign), _step_lookup(campaign)
    )
    if errors:
        raise Invalid(errors)
    fingerprint = _fingerprint(values)
    if session.scalar(
        select(Verbatim.id).where(
            Verbatim.campaign_id == campaign.id, Verbatim.fingerprint == fingerprint
        )
    ):
        raise Invalid([FieldError("quote", _("This verbatim is already recorded."))])
    verbatim = Verbatim(campaign_id=campaign.id, fingerprint=fingerprint, **values)
    session.add(verbatim)
    session.flush()
    return verbatim


def import_customer_voice(
    session: Session,
    campaign: Campaign,
    kind: str,
    rows: Iterable[tuple[int, dict[str, Any]]],
    source: str = "import",
) -> ImportResult:
    """Validate every row, then write all of them or none. Importing the same file twice
    changes nothing: verbatims are recognised by their content, survey scores by
    (site, survey, period end) and updated when the figures changed."""
    if kind not in VOICE_KINDS:
        raise ValueError(kind)
    sites = _campaign_sites(session, campaign)
    steps = _step_lookup(campaign)
    errors: list[FieldError] = []
    validated: list[dict[str, Any]] = []
    seen: dict[Any, int] = {}
    for row, raw in rows:
        if kind == "verbatims":
            values, row_errors = validate_verbatim(raw, row, campaign, sites, steps)
            key = _fingerprint(values) if values else None
        else:
            values, row_errors = validate_survey_score(raw, row, sites)
            key = (values["site_id"], values["survey"], values["period_end"]) if values else None
        errors.extend(row_errors)
        if values is None:
            continue
        if key in seen:
            if kind == "survey_scores":
                errors.append(
                    FieldError(
                        "survey",
                        _(
                            "The same site, survey and period are also on row %(other)s.",
                            other=seen[key],
                        ),
                        row,
                    )
                )
            continue  # the same verbatim twice in a file is stored once
        seen[key] = row
        values["_key"] = key
        validated.append(values)
    fields = VERBATIM_FIELDS if kind == "verbatims" else SURVEY_FIELDS
    if errors:
        errors.sort(key=lambda e: (e.row or 0, fields.index(e.field) if e.field in fields else 99))
        raise Invalid(errors)
    result = ImportResult()
    if kind == "verbatims":
        known = set(
            session.scalars(select(Verbatim.fingerprint).where(Verbatim.campaign_id == campaign.id))
        )
        for values in validated:
            key = values.pop("_key")
            if key in known:
                result.unchanged += 1
                continue
            session.add(Verbatim(campaign_id=campaign.id, fingerprint=key, **values))
            result.created += 1
    else:
        existing = {
            (s.site_id, s.survey, s.period_end): s
            for s in session.scalars(
                select(SurveyScore).where(SurveyScore.campaign_id == campaign.id)
            )
        }
        for values in validated:
            key = values.pop("_key")
            current = existing.get(key)
            if current is None:
                session.add(SurveyScore(campaign_id=campaign.id, **values))
                result.created += 1
            elif (current.score, current.scale_max, current.respondents) != (
                values["score"],
                values["scale_max"],
                values["respondents"],
            ):
                current.score = values["score"]
                current.scale_max = values["scale_max"]
                current.respondents = values["respondents"]
                result.updated += 1
            else:
                result.unchanged += 1
    session.flush()
    record_event(
        session,
        "verbatim" if kind == "verbatims" else "survey_score",
        "import",
        f"{source}: {result.created} created, {result.updated} updated, "
        f"{result.unchanged} unchanged (campaign {campaign.id})",
        entity_id=str(campaign.id),
        changes=result.as_dict(),
    )
    return result


# --- synthesis and charts --------------------------------------------------------------------


def stakes_overview(ranking: queries.Ranking) -> list[tuple[str, list[queries.IrritantRank]]]:
    """Each stake with the ranked irritants that threaten it (in priority order)."""
    return [
        (stake, [r for r in ranking.rows if stake in r.stakes])
        for stake in STAKES
        if any(stake in r.stakes for r in ranking.rows)
    ]


def pareto_spec(ranking: queries.Ranking, limit: int = 15) -> dict[str, Any]:
    """Vega-Lite: irritants by priority (bars) with the cumulative share (line)."""
    values = [
        {
            "rank": r.rank,
            "irritant": r.name if len(r.name) <= 40 else r.name[:39] + "…",
            "priority": round(r.priority, 4),
            "cumulative": round(r.cumulative_share, 4),
            "frequency": round(r.frequency, 4),
            "severity": round(r.severity, 2),
        }
        for r in ranking.rows[:limit]
    ]
    priority_title = _("Priority (frequency × severity)")
    cumulative_title = _("Cumulative share of priority")
    irritant_title = _("Irritant")
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v6.json",
        "title": _("Irritant Pareto"),
        "description": _("Irritants by priority, with the cumulative share of the total."),
        "width": "container",
        "height": 280,
        "data": {"values": values},
        "encoding": {
            "x": {
                "field": "irritant",
                "type": "nominal",
                "sort": None,
                "title": irritant_title,
                "axis": {"labelAngle": -40, "labelLimit": 140},
            }
        },
        "layer": [
            {
                "mark": {"type": "bar", "color": "#1d5fa7"},
                "encoding": {
                    "y": {"field": "priority", "type": "quantitative", "title": priority_title},
                    "tooltip": [
                        {"field": "rank", "type": "ordinal", "title": "#"},
                        {"field": "irritant", "type": "nominal", "title": irritant_title},
                        {
                            "field": "priority",
                            "type": "quantitative",
                            "title": priority_title,
                            "format": ".3f",
                        },
                        {
                            "field": "frequency",
                            "type": "quantitative",
                            "title": _("Frequency"),
                            "format": ".1%",
                        },
                        {
                            "field": "severity",
                            "type": "quantitative",
                            "title": _("Mean severity"),
                            "format": ".2f",
                        },
                    ],
                },
            },
            {
                "mark": {"type": "line", "color": "#b45309", "point": True},
                "encoding": {
                    "y": {
                        "field": "cumulative",
                        "type": "quantitative",
                        "title": cumulative_title,
                        "scale": {"domain": [0, 1]},
                        "axis": {"format": "%"},
                    },
                    "tooltip": [
                        {"field": "irritant", "type": "nominal", "title": irritant_title},
                        {
                            "field": "cumulative",
                            "type": "quantitative",
                            "title": cumulative_title,
                            "format": ".0%",
                        },
                    ],
                },
            },
        ],
        "resolve": {"scale": {"y": "independent"}},
    }
