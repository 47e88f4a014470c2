"""The rules of feedback: one all-or-nothing intake for every way in, and the cases.

`record_responses` validates every item (API list, file rows, the counter form), reports
every error with its index/row and field in the user's language, and writes nothing when
one is wrong. Then it inserts the new responses in bulk (the same source and id again
changes nothing) and opens a case for each detractor or complaint whose customer agreed
to be contacted. The case is due a number of working days (Monday to Friday, per channel)
after the response arrived, at the same local time in the site's time zone, and is
assigned to the site's manager."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app, has_app_context
from flask_babel import gettext as _
from sqlalchemy import case as sql_case
from sqlalchemy import func, insert, select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from programme.audit import record_event
from programme.auth.roles import ADMIN, SITE_MANAGER
from programme.database import utcnow
from programme.diagnostics.models import CAUSES, Irritant
from programme.errors import Conflict, FieldError, Invalid
from programme.feedback.models import (
    OUTCOMES,
    SCALES,
    FeedbackCase,
    FeedbackResponse,
    as_utc,
    is_detractor,
)
from programme.network.access import filter_sites
from programme.network.models import CHANNELS, Site
from programme.weeks import week_start

# Working days between a response and its case's deadline, per channel; the app config
# FEEDBACK_DUE_WORKING_DAYS (a dict) overrides entries, DEFAULT_DUE_WORKING_DAYS the rest.
DEFAULT_DUE_WORKING_DAYS = 2
DUE_WORKING_DAYS: dict[str, int] = {"in_person": 2, "phone": 2, "digital": 2}
ESCALATION_WORKING_DAYS = 1
# Who a new case goes to, per site type: "site_manager" (default) or "regional_manager"
# (e.g. a call centre whose manager is not the one who calls customers back). The app
# config FEEDBACK_CASE_ROUTING (a dict) overrides entries.
CASE_ROUTING: dict[str, str] = {}
# A source's clock may run slightly ahead of ours.
CLOCK_SKEW = timedelta(minutes=5)
MAX_LENGTHS = {
    "source": 60,
    "external_id": 120,
    "journey_step": 60,
    "comment": 5000,
    "language": 5,
    "contact": 200,
}


class FeedbackRefused(Invalid):
    """Nothing was written. `forbidden`: some items name a site outside the user's
    perimeter (the API answers 403 then)."""

    def __init__(self, errors: list[FieldError], forbidden: bool = False):
        super().__init__(errors)
        self.forbidden = forbidden


@dataclass
class IntakeSummary:
    created: int = 0
    unchanged: int = 0
    cases_opened: int = 0

    def as_dict(self) -> dict[str, int]:
        return {
            "created": self.created,
            "unchanged": self.unchanged,
            "cases_opened": self.cases_opened,
        }


# --- working days ------------------------------------------------------------------------------


def site_zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "Europe/Paris")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("Europe/Paris")


def add_working_days(moment: datetime, days: int, zone: ZoneInfo) -> datetime:
    """`days` working days (Monday to Friday) after `moment`, at the same local time in
    `zone`; returned in UTC. From a Saturday, +1 is Monday."""
    local = as_utc(moment).astimezone(zone)
    day, left = local.date(), days
    while left > 0:
        day += timedelta(days=1)
        if day.weekday() < 5:
            left -= 1
    naive = datetime.combine(day, local.time().replace(tzinfo=None))
    return naive.replace(tzinfo=zone).astimezone(ZoneInfo("UTC"))


def due_working_days(channel: str) -> int:
    configured = {}
    if has_app_context():
        configured = current_app.config.get("FEEDBACK_DUE_WORKING_DAYS") or {}
    return int(configured.get(channel, DUE_WORKING_DAYS.get(channel, DEFAULT_DUE_WORKING_DAYS)))


# --- validation ----------------------------------------------------------------------------------


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _as_bool(value: Any) -> bool | None:
    """true/false from JSON, and yes/no, oui/non, 1/0 from files and forms."""
    if isinstance(value, bool):
        return value
    if _blank(value):
        return False
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    text = str(value).strip().lower()
    if text in {"1", "true", "yes", "y", "oui", "o", "vrai", "x"}:
        return True
    if text in {"0", "false", "no", "n", "non", "faux"}:
        return False
    return None


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    text = str(value).strip()
    if text.endswith(".0"):
        text = text[:-2]
    if text.lstrip("-").isdigit():
        return int(text)
    return None


def parse_received_at(value: Any) -> tuple[datetime | None, str | None]:
    """(aware datetime, None) or (None, error message)."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        text = value.strip()
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None, _("Use a date and time like 2026-03-02T14:30:00+01:00.")
        if "T" not in text and " " not in text:
            return None, _("Use a date and time like 2026-03-02T14:30:00+01:00.")
    else:
        return None, _("Use a date and time like 2026-03-02T14:30:00+01:00.")
    if moment.tzinfo is None or moment.utcoffset() is None:
        return None, _("Give the time zone offset, e.g. 2026-03-02T14:30:00+01:00.")
    if moment.year < 2000:
        return None, _("This date is too far in the past.")
    return moment, None


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _text_error(text: str, name: str) -> str | None:
    if "\x00" in text:
        return _("The text contains a character that cannot be stored (NUL or invalid Unicode).")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return _("The text contains a character that cannot be stored (NUL or invalid Unicode).")
    limit = MAX_LENGTHS.get(name)
    if limit and len(text) > limit:
        return _("At most %(n)d characters.", n=limit)
    return None


def _validate(
    item: Any, row: int, sites: dict[str, Site], visible: set[int] | None, now: datetime
) -> tuple[dict | None, list[FieldError], bool]:
    """One item → (values ready to insert, errors, refused for perimeter)."""
    errors: list[FieldError] = []
    if not isinstance(item, dict):
        return None, [FieldError("item", _("Each item must be a JSON object."), row)], False

    def err(name: str, message: str) -> None:
        errors.append(FieldError(name, message, row))

    values: dict[str, Any] = {}
    for name in ("source", "external_id"):
        text = _text(item.get(name))
        if not text:
            err(name, _("Required."))
        elif problem := _text_error(text, name):
            err(name, problem)
        values[name] = text
    forbidden = False
    code = _text(item.get("site")).upper()
    site = sites.get(code) if code else None
    if not code:
        err("site", _("Required."))
    elif site is None:
        err("site", _("Unknown site code."))
    elif visible is not None and site.id not in visible:
        err("site", _("You may not record feedback for this site."))
        forbidden = True
    values["site_id"] = site.id if site else None

    channel = _text(item.get("channel")).lower()
    if not channel:
        err("channel", _("Required."))
    elif channel not in CHANNELS:
        err("channel", _("One of: %(values)s.", values=", ".join(CHANNELS)))
    values["channel"] = channel

    received, problem = (
        (None, _("Required."))
        if _blank(item.get("received_at"))
        else (parse_received_at(item.get("received_at")))
    )
    if problem:
        err("received_at", problem)
    elif received > as_utc(now) + CLOCK_SKEW:
        err("received_at", _("This date and time is in the future."))
    values["received_at"] = received.astimezone(UTC) if received else None

    scale = _text(item.get("scale")).lower()
    if not scale:
        err("scale", _("Required."))
    elif scale not in SCALES:
        err("scale", _("Unknown scale: use nps (0 to 10) or csat5 (1 to 5)."))
    values["scale"] = scale
    score = None if _blank(item.get("score")) else _as_int(item.get("score"))
    if _blank(item.get("score")):
        err("score", _("Required."))
    elif score is None:
        err("score", _("A whole number is expected."))
    elif scale in SCALES:
        low, high, _detractor = SCALES[scale]
        if not low <= score <= high:
            err(
                "score",
                _(
                    "On the %(scale)s scale, the score goes from %(low)d to %(high)d.",
                    scale=scale,
                    low=low,
                    high=high,
                ),
            )
    values["score"] = score

    for name in ("journey_step", "comment", "language"):
        text = _text(item.get(name))
        if text and (problem := _text_error(text, name)):
            err(name, problem)
        values[name] = text or None
    values["language"] = (values["language"] or "fr").lower()

    for name in ("complaint", "contact_consent"):
        flag = _as_bool(item.get(name))
        if flag is None:
            err(name, _("true or false is expected."))
        values[name] = bool(flag)
    contact = _text(item.get("contact"))
    if contact:
        if not values["contact_consent"]:
            err(
                "contact",
                _("The customer did not agree to be contacted: leave the contact reference out."),
            )
        elif problem := _text_error(contact, "contact"):
            err("contact", problem)
    values["contact_ref"] = contact or None
    return (None if errors else values), errors, forbidden


def _visible_site_ids(session: Session, user) -> set[int] | None:
    if user is None or user.role == ADMIN:
        return None
    return set(session.scalars(filter_sites(select(Site.id), user)))


def record_responses(
    session: Session,
    user,
    items: list[Any],
    *,
    start: int = 0,
    lines: list[int] | None = None,
    label: str = "feedback",
    now: datetime | None = None,
    dry_run: bool = False,
) -> IntakeSummary:
    """Validate every item, then write all of them or nothing (raises FeedbackRefused).

    `start`: the row number of the first item in error messages (0 for an API list);
    `lines`: each item's own row number instead (a file's lines). `user` None: no
    perimeter (CLI, demo). `dry_run`: count what would happen, write nothing. The caller
    commits."""
    now = now or utcnow()
    codes = {_text(i.get("site")).upper() for i in items if isinstance(i, dict)}
    sites = {s.code.upper(): s for s in session.scalars(select(Site).where(Site.code.in_(codes)))}
    visible = _visible_site_ids(session, user)
    errors: list[FieldError] = []
    forbidden = False
    rows: list[dict] = []
    for offset, item in enumerate(items):
        row = lines[offset] if lines is not None else start + offset
        values, item_errors, refused = _validate(item, row, sites, visible, now)
        errors.extend(item_errors)
        forbidden = forbidden or refused
        if values is not None:
            rows.append(values)
    if errors:
        raise FeedbackRefused(errors, forbidden)

    summary = IntakeSummary()
    keys = {(r["source"], r["external_id"]) for r in rows}
    existing: set[tuple[str, str]] = set()
    key_list = sorted(keys)
    for i in range(0, len(key_list), 500):
        part = key_list[i : i + 500]
        existing |= set(
            session.execute(
                select(FeedbackResponse.source, FeedbackResponse.external_id).where(
                    tuple_(FeedbackResponse.source, FeedbackResponse.external_id).in_(part)
                )
            ).all()
        )
    fresh: list[dict] = []
    seen: set[tuple[str, str]] = set()
    for r in rows:
        key = (r["source"], r["external_id"])
        if key in existing or key in seen:
            summary.unchanged += 1
            continue
        seen.add(key)
        fresh.append(
            {**r, "created_at": now, "created_by_id": getattr(user, "id", None) if user else None}
        )
    needing_case = [
        r
        for r in fresh
        if r["contact_consent"] and (r["complaint"] or is_detractor(r["scale"], r["score"]))
    ]
    if dry_run:
        summary.created, summary.cases_opened = len(fresh), len(needing_case)
        return summary
    if not fresh:
        return summary
    try:
        session.execute(insert(FeedbackResponse), fresh)
    except IntegrityError:
        # another request recorded one of these responses since we looked: the caller
        # rolls back; sent again, they are counted as unchanged.
        raise FeedbackRefused(
            [
                FieldError(
                    "external_id",
                    _(
                        "Another request is recording these responses at the same moment: send them again."
                    ),
                )
            ]
        ) from None
    summary.created = len(fresh)
    if needing_case:
        summary.cases_opened = _open_cases(session, needing_case, now)
    refresh_weekly_measures(session, {(r["site_id"], r["received_at"]) for r in fresh})
    record_event(
        session,
        "feedback_response",
        "import",
        f"{label}: {summary.created} created, {summary.unchanged} unchanged, "
        f"{summary.cases_opened} cases opened",
        changes=summary.as_dict(),
    )
    return summary


def site_manager_of(session: Session, site_id: int):
    """The site's manager: the active site_manager account whose perimeter is the site."""
    from programme.auth.models import User

    return session.scalar(
        select(User)
        .where(User.role == SITE_MANAGER, User.site_id == site_id, User.active.is_(True))
        .order_by(User.id)
        .limit(1)
    )


def case_assignee(session: Session, site: Site):
    """The account a new case of `site` is assigned to, following the routing per site
    type; falls back to the site's manager, then to nobody (the region and admins see it)."""
    routing = dict(CASE_ROUTING)
    if has_app_context():
        routing.update(current_app.config.get("FEEDBACK_CASE_ROUTING") or {})
    if routing.get(site.type) == "regional_manager":
        regional = regional_managers_of(session, site)
        if regional:
            return regional[0]
    return site_manager_of(session, site.id)


def regional_managers_of(session: Session, site: Site) -> list:
    from programme.auth.models import User

    return list(
        session.scalars(
            select(User)
            .where(
                User.role == SITE_MANAGER,
                User.region_id == site.region_id,
                User.active.is_(True),
            )
            .order_by(User.id)
        )
    )


def _open_cases(session: Session, rows: list[dict], now: datetime) -> int:
    keys = [(r["source"], r["external_id"]) for r in rows]
    ids: dict[tuple[str, str], int] = {}
    for i in range(0, len(keys), 500):
        part = keys[i : i + 500]
        for source, external_id, ident in session.execute(
            select(
                FeedbackResponse.source, FeedbackResponse.external_id, FeedbackResponse.id
            ).where(tuple_(FeedbackResponse.source, FeedbackResponse.external_id).in_(part))
        ):
            ids[(source, external_id)] = ident
    site_ids = {r["site_id"] for r in rows}
    site_rows = {s.id: s for s in session.scalars(select(Site).where(Site.id.in_(site_ids)))}
    zones = {i: s.time_zone for i, s in site_rows.items()}
    managers = {}
    for site_id, site in site_rows.items():
        manager = case_assignee(session, site)
        managers[site_id] = manager.id if manager else None
    for r in rows:
        zone = site_zone(zones.get(r["site_id"]))
        due = add_working_days(r["received_at"], due_working_days(r["channel"]), zone)
        session.add(
            FeedbackCase(
                response_id=ids[(r["source"], r["external_id"])],
                site_id=r["site_id"],
                assignee_id=managers[r["site_id"]],
                status="open",
                opened_at=now,
                due_at=due,
                escalate_at=add_working_days(due, ESCALATION_WORKING_DAYS, zone),
                journey_step=r["journey_step"],
            )
        )
    session.flush()
    return len(rows)


# --- measures from feedback ------------------------------------------------------------------------

# The KPI each scale feeds, and how a week of responses becomes its value.
SCALE_KPIS = {"nps": "NPS", "csat5": "CSAT"}
MEASURE_SOURCE = "feedback"
# The derived measurements are written for any site whose feedback the intake accepted
# (the feedback's own perimeter check has been made): the pipeline writes as itself.
_PIPELINE = SimpleNamespace(
    role=ADMIN, is_authenticated=True, id=None, email=None, site_id=None, region_id=None
)


def local_week(moment: datetime, zone: ZoneInfo) -> tuple[date, datetime, datetime]:
    """(Monday, start, end) of the site-local ISO week of `moment`; start/end in UTC."""
    day = as_utc(moment).astimezone(zone).date()
    monday = week_start(day)
    start = datetime.combine(monday, time(), zone).astimezone(UTC)
    end = datetime.combine(monday + timedelta(days=7), time(), zone).astimezone(UTC)
    return monday, start, end


def weekly_figures(session: Session, site_id: int, start: datetime, end: datetime) -> dict:
    """{scale: (value, n)} of a site's responses in [start, end), aggregated in SQL:
    NPS = 100 × (promoters − detractors) / responses; CSAT = the mean score."""
    nps_detractor = SCALES["nps"][2]
    rows = session.execute(
        select(
            FeedbackResponse.scale,
            func.count(),
            func.sum(sql_case((FeedbackResponse.score >= 9, 1), else_=0)),
            func.sum(sql_case((FeedbackResponse.score <= nps_detractor, 1), else_=0)),
            func.avg(FeedbackResponse.score * 1.0),
        )
        .where(
            FeedbackResponse.site_id == site_id,
            FeedbackResponse.received_at >= start,
            FeedbackResponse.received_at < end,
        )
        .group_by(FeedbackResponse.scale)
    ).all()
    figures = {}
    for scale, n, promoters, detractors, mean in rows:
        if scale == "nps":
            figures[scale] = (100.0 * (int(promoters) - int(detractors)) / n, int(n))
        else:
            figures[scale] = (float(mean), int(n))
    return figures


def refresh_weekly_measures(session: Session, received: set[tuple[int, datetime]]) -> int:
    """Recompute the NPS and CSAT measurements (source `feedback`, dated the week's Monday)
    of every site and site-local ISO week in `received`, through the KPI intake pipeline:
    the same figures again change nothing, new figures are corrections. Returns the
    measurements sent. KPIs missing from the catalogue are skipped."""
    if not received:
        return 0
    from programme.kpis.intake import IntakeRejected, ingest, records_frame
    from programme.kpis.models import Kpi

    active = set(
        session.scalars(
            select(Kpi.code).where(Kpi.code.in_(SCALE_KPIS.values()), Kpi.active.is_(True))
        )
    )
    if not active:
        return 0
    sites = {
        s.id: s for s in session.scalars(select(Site).where(Site.id.in_({i for i, _m in received})))
    }
    weeks: dict[tuple[int, date], tuple[datetime, datetime]] = {}
    for site_id, moment in received:
        monday, start, end = local_week(moment, site_zone(sites[site_id].time_zone))
        weeks[(site_id, monday)] = (start, end)
    items = []
    for (site_id, monday), (start, end) in sorted(weeks.items()):
        for scale, (value, n) in weekly_figures(session, site_id, start, end).items():
            code = SCALE_KPIS[scale]
            if code in active:
                items.append(
                    {
                        "site": sites[site_id].code,
                        "kpi": code,
                        "date": monday.isoformat(),
                        "value": round(value, 6),
                        "n": n,
                        "source": MEASURE_SOURCE,
                    }
                )
    if not items:
        return 0
    try:
        ingest(
            session,
            _PIPELINE,
            [records_frame(items)],
            default_source=MEASURE_SOURCE,
            label="feedback: weekly NPS and CSAT",
            reason="recomputed from the week's feedback responses",
        )
    except IntakeRejected as rejected:
        raise FeedbackRefused(
            [FieldError("received_at", e.message, None) for e in rejected.errors]
        ) from None
    return len(items)


# --- handling a case -------------------------------------------------------------------------------


def mark_contacted(session: Session, case: FeedbackCase, now: datetime | None = None) -> None:
    """Conflict(case) when it is no longer open."""
    if case.status != "open":
        raise Conflict(case)
    case.status = "contacted"
    case.contacted_at = now or utcnow()
    session.flush()


def close_case(
    session: Session,
    case: FeedbackCase,
    *,
    outcome: Any,
    cause: Any,
    journey_step: Any = None,
    note: Any = None,
    irritant_id: Any = None,
    proposed_irritant: Any = None,
    now: datetime | None = None,
) -> None:
    """Close with an outcome and a root cause (Invalid lists what is missing;
    Conflict(case) when the case is already closed). Closing an open case also counts as
    the first contact."""
    if case.status == "closed":
        raise Conflict(case)
    errors: list[FieldError] = []
    outcome = _text(outcome)
    cause = _text(cause)
    if not outcome:
        errors.append(FieldError("outcome", _("Choose the outcome.")))
    elif outcome not in OUTCOMES:
        errors.append(FieldError("outcome", _("One of: %(values)s.", values=", ".join(OUTCOMES))))
    if not cause:
        errors.append(FieldError("cause", _("Choose the root cause.")))
    elif cause not in CAUSES:
        errors.append(FieldError("cause", _("One of: %(values)s.", values=", ".join(CAUSES))))
    step = _text(journey_step)
    if step and (problem := _text_error(step, "journey_step")):
        errors.append(FieldError("journey_step", problem))
    note_text = _text(note)
    if note_text and (problem := _text_error(note_text, "comment")):
        errors.append(FieldError("note", problem))
    irritant = None
    if not _blank(irritant_id):
        ident = _as_int(irritant_id)
        irritant = session.get(Irritant, ident) if ident and 0 < ident < 2**31 else None
        if irritant is None:
            errors.append(FieldError("irritant", _("Unknown irritant.")))
    proposal = _text(proposed_irritant)
    if proposal and len(proposal) > 200:
        errors.append(FieldError("proposed_irritant", _("At most %(n)d characters.", n=200)))
    elif proposal and (problem := _text_error(proposal, "comment")):
        errors.append(FieldError("proposed_irritant", problem))
    if errors:
        raise Invalid(errors)
    moment = now or utcnow()
    if case.contacted_at is None:
        case.contacted_at = moment
    case.status = "closed"
    case.closed_at = moment
    case.outcome = outcome
    case.cause = cause
    case.journey_step = step or case.journey_step
    case.note = note_text or None
    case.irritant_id = irritant.id if irritant else None
    case.proposed_irritant = proposal or None
    session.flush()


def reassign_case(session: Session, case: FeedbackCase, assignee_id: Any) -> None:
    from programme.auth.models import User

    ident = _as_int(assignee_id) if not _blank(assignee_id) else None
    user = session.get(User, ident) if ident and 0 < ident < 2**31 else None
    if user is None or not user.active or user.role not in (ADMIN, SITE_MANAGER):
        raise Invalid([FieldError("assignee", _("Choose someone who handles cases."))])
    if user.role == SITE_MANAGER:
        site = session.get(Site, case.site_id)
        if not (user.site_id == site.id or user.region_id == site.region_id):
            raise Invalid(
                [FieldError("assignee", _("This person does not manage the case's site."))]
            )
    case.assignee_id = user.id
    session.flush()


def record_contact_view(session: Session, case: FeedbackCase) -> None:
    """The audit trail keeps who saw a contact reference."""
    record_event(
        session,
        "feedback_case",
        "view_contact",
        f"contact reference of case {case.id} viewed",
        entity_id=str(case.id),
    )


# --- privacy ---------------------------------------------------------------------------------------

DEFAULT_CONTACT_RETENTION_DAYS = 90


def purge_contact_references(session: Session, days: int, now: datetime | None = None) -> int:
    """Delete the contact references kept longer than needed: `days` after their case
    closed, or, for a response that opened no case, `days` after it arrived. Comments and
    scores stay. One set-based UPDATE and one audit event; returns the references deleted."""
    from sqlalchemy import and_, exists, or_, update

    limit = (now or utcnow()) - timedelta(days=days)
    has_case = exists().where(FeedbackCase.response_id == FeedbackResponse.id)
    closed_long_ago = exists().where(
        FeedbackCase.response_id == FeedbackResponse.id,
        FeedbackCase.status == "closed",
        FeedbackCase.closed_at < limit,
    )
    result = session.execute(
        update(FeedbackResponse)
        .where(
            FeedbackResponse.contact_ref.is_not(None),
            or_(closed_long_ago, and_(~has_case, FeedbackResponse.received_at < limit)),
        )
        .values(contact_ref=None)
        .execution_options(synchronize_session=False)
    )
    purged = result.rowcount or 0
    record_event(
        session,
        "feedback_response",
        "purge_contact",
        f"{purged} contact references deleted (kept {days} days)",
        changes={"purged": purged, "retention_days": days},
    )
    return purged
