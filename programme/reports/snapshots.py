"""Monthly snapshots of the headline figures and the month-on-month deltas.

A snapshot stores `screens.glance.headline_figures(...)` for one scope ("network", "region:<id>")
as it stood on the day it was taken; `month` is the first day of that month. Taking a
snapshot is idempotent per month and scope: the first one of the month is kept and a second
attempt changes nothing (the figures leadership saw are never rewritten, so nothing is lost
and nothing needs a history). `flask --app app take-snapshot`, run by cron on the 1st, takes
the network and every region.

Only the current month can be taken: figures are computed from today's data (wave states,
checklists, alerts are current state, not history), so a past month cannot be recomputed
as it stood and is never faked. Until a previous month exists, pages say that the first
comparison will appear next month.

`compare` gives, for each figure, this month's value against the latest snapshot of an
earlier month, with a direction-aware judgement (better / worse) where the figure has one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask_babel import format_decimal, format_percent
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from programme.audit import current_actor
from programme.kpis.models import Kpi
from programme.network.access import network_scope, region_scope
from programme.network.models import Region
from programme.reports.models import Snapshot
from programme.reports.screens.glance import headline_figures


class SnapshotError(ValueError):
    """A snapshot request that cannot be honoured (bad or past month); nothing is written."""


# What each headline figure means, which way is better, and how to show it. Figures that are
# not listed (new keys from headline_figures) are still stored and compared, without
# a judgement. "pct" figures are percentages on a 0–100 scale; their changes are points.
FIGURES: dict[str, tuple[Any, str | None, str]] = {
    "sites_total": (_l("Sites in the network"), None, "count"),
    "sites_diagnosed": (_l("Sites diagnosed"), "higher", "count"),
    "sites_piloted": (_l("Sites piloted"), "higher", "count"),
    "sites_in_wave": (_l("Sites in a wave"), "higher", "count"),
    "sites_live": (_l("Sites live"), "higher", "count"),
    "sites_sustained": (_l("Sites sustained"), "higher", "count"),
    "wave_progress_pct": (_l("Progress of the active waves"), "higher", "pct"),
    "waves_red": (_l("Active waves in red"), "lower", "count"),
    "open_alerts": (_l("Open alerts"), "lower", "count"),
    "coaches": (_l("Coaches seconded"), None, "count"),
    "coach_load_pct": (_l("Coach load"), None, "pct"),
    "coaches_over_capacity": (_l("Coaches over capacity"), "lower", "count"),
    "completeness_pct": (_l("KPI data completeness"), "higher", "pct"),
}
IMPACT_PREFIX = "impact_"
MONTH_PATTERN = re.compile(r"^(\d{4})-(\d{2})$")


def month_of(day: date) -> date:
    return day.replace(day=1)


def previous_month(month: date) -> date:
    return date(month.year - 1, 12, 1) if month.month == 1 else date(month.year, month.month - 1, 1)


def parse_month(text: str | None, today: date) -> date:
    """`YYYY-MM` → the first day of that month; only the current month is accepted (see the
    module docstring). Raises SnapshotError with a message for the person who typed it."""
    current = month_of(today)
    if text is None or text == "":
        return current
    match = MONTH_PATTERN.match(text.strip())
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise SnapshotError(
            _(
                "“%(value)s” is not a month: use the form YYYY-MM, e.g. %(example)s.",
                value=text,
                example=f"{current:%Y-%m}",
            )
        )
    month = date(int(match.group(1)), int(match.group(2)), 1)
    if month != current:
        raise SnapshotError(
            _(
                "Only the current month (%(current)s) can be taken: figures are computed from "
                "today's data, so %(month)s cannot be recomputed as it stood.",
                current=f"{current:%Y-%m}",
                month=f"{month:%Y-%m}",
            )
        )
    return month


# --- taking snapshots -------------------------------------------------------------------------


@dataclass(frozen=True)
class Taken:
    scope_key: str
    scope_label: str
    snapshot: Snapshot
    created: bool


def _plain_figures(figures: dict[str, Any]) -> dict[str, Any]:
    """JSON-safe copy: numbers as int/float, None kept."""
    plain: dict[str, Any] = {}
    for key, value in figures.items():
        if value is None or isinstance(value, bool):
            plain[key] = value
        elif isinstance(value, int):
            plain[key] = int(value)
        elif isinstance(value, float):
            plain[key] = float(value)
        else:
            try:
                plain[key] = float(value)
            except (TypeError, ValueError):
                plain[key] = str(value)
    return plain


def take_snapshot(session: Session, scope, today: date, user=None) -> tuple[Snapshot, bool]:
    """Store the headline figures of `scope` for today's month, unless that month already has
    a snapshot for the scope (then return it unchanged). Returns (snapshot, created). The
    caller commits."""
    month = month_of(today)
    existing = session.scalar(
        select(Snapshot).where(Snapshot.month == month, Snapshot.scope == scope.key)
    )
    if existing is not None:
        return existing, False
    actor_id, actor_label = current_actor()
    if user is not None and getattr(user, "is_authenticated", False):
        actor_id, actor_label = user.id, user.email
    snapshot = Snapshot(
        month=month,
        scope=scope.key,
        figures=_plain_figures(headline_figures(session, scope, today)),
        taken_by=actor_label[:200],
        taken_by_id=actor_id,
    )
    try:
        with session.begin_nested():
            session.add(snapshot)
    except IntegrityError:  # taken concurrently by another process: keep theirs
        existing = session.scalar(
            select(Snapshot).where(Snapshot.month == month, Snapshot.scope == scope.key)
        )
        return existing, False
    return snapshot, True


def snapshot_scopes(session: Session) -> list:
    """The scopes that get a monthly snapshot: the whole network, then every region."""
    scopes = [network_scope()]
    for region in session.scalars(select(Region).order_by(Region.name)):
        scopes.append(region_scope(region))
    return scopes


def take_all(session: Session, today: date, user=None) -> list[Taken]:
    """Take this month's snapshot of the network and of every region (idempotent)."""
    taken = []
    for scope in snapshot_scopes(session):
        snapshot, created = take_snapshot(session, scope, today, user)
        taken.append(Taken(scope.key, scope.label, snapshot, created))
    return taken


# --- comparing --------------------------------------------------------------------------------


def figure_meta(session: Session | None, key: str) -> tuple[str, str | None, str]:
    """(label, better way or None, unit) of a headline figure."""
    if key in FIGURES:
        label, better, unit = FIGURES[key]
        return str(label), better, unit
    if key.startswith(IMPACT_PREFIX) and session is not None:
        code = key[len(IMPACT_PREFIX) :]
        kpi = session.scalar(select(Kpi).where(Kpi.code == code))
        if kpi is not None:
            # An impact is a change of the KPI: more negative is better for a lower-is-better KPI.
            unit = "rate" if kpi.kind == "rate" else "value"
            return _("Deployment impact on %(kpi)s", kpi=kpi.name), kpi.better, unit
        return _("Deployment impact on %(kpi)s", kpi=code), None, "value"
    unit = "pct" if key.endswith("_pct") else "count"
    return key.replace("_", " ").capitalize(), None, unit


def format_figure(value: Any, unit: str) -> str:
    if value is None:
        return "–"
    if unit == "pct":
        return format_percent(float(value) / 100, "#,##0.#%")
    if unit == "rate":  # a deployment impact on a rate KPI: a change, in points
        points = format_decimal(float(value) * 100, "+#,##0.0#;-#,##0.0#")
        return _("%(points)s pts", points=points)
    if unit == "count" and float(value).is_integer():
        return format_decimal(int(value), "#,##0")
    return format_decimal(float(value), "#,##0.00")


@dataclass(frozen=True)
class Delta:
    """One headline figure now against a previous snapshot."""

    key: str
    label: str
    current: float | int | None
    previous: float | int | None
    better: str | None  # "higher", "lower" or None when neither way is better
    unit: str  # "count", "pct" (0–100), "rate" (0–1) — both change in points — or "value"
    since: date  # the month of the snapshot compared with

    @property
    def change(self) -> float | None:
        if self.current is None or self.previous is None:
            return None
        change = float(self.current) - float(self.previous)
        return 0.0 if abs(change) < 1e-9 else change

    @property
    def judgement(self) -> str:
        """ "better", "worse", "unchanged", "changed" (no better way) or "unknown"."""
        change = self.change
        if change is None:
            return "unknown"
        if change == 0:
            return "unchanged"
        if self.better is None:
            return "changed"
        return "better" if (change > 0) == (self.better == "higher") else "worse"

    @property
    def judgement_label(self) -> str:
        return str(
            {
                "better": _l("better"),
                "worse": _l("worse"),
                "unchanged": _l("unchanged"),
                "changed": _l("changed"),
                "unknown": _l("not comparable"),
            }[self.judgement]
        )

    @property
    def current_text(self) -> str:
        return format_figure(self.current, self.unit)

    @property
    def previous_text(self) -> str:
        return format_figure(self.previous, self.unit)

    @property
    def change_text(self) -> str:
        change = self.change
        if change is None:
            return "–"
        sign = "+" if change > 0 else ("−" if change < 0 else "±")
        magnitude = abs(change)
        if self.unit in ("pct", "rate"):
            scale = 100 if self.unit == "rate" else 1
            points = format_decimal(magnitude * scale, "#,##0.##")
            return _("%(sign)s%(points)s pts", sign=sign, points=points)
        if self.unit == "count" and magnitude.is_integer():
            return sign + format_decimal(int(magnitude), "#,##0")
        return sign + format_decimal(magnitude, "#,##0.00")


def deltas_between(
    session: Session | None, current: dict[str, Any], previous: Snapshot
) -> list[Delta]:
    """A Delta for every figure of `current` that the previous snapshot also holds."""
    deltas = []
    for key, value in current.items():
        if key not in previous.figures:
            continue
        label, better, unit = figure_meta(session, key)
        deltas.append(Delta(key, label, value, previous.figures[key], better, unit, previous.month))
    return deltas


def previous_snapshot(session: Session, scope_key: str, today: date) -> Snapshot | None:
    """The latest snapshot of `scope_key` from a month before today's (normally last month's;
    an earlier one when a month was missed — each Delta says which month)."""
    return session.scalar(
        select(Snapshot)
        .where(Snapshot.scope == scope_key, Snapshot.month < month_of(today))
        .order_by(Snapshot.month.desc())
        .limit(1)
    )


def compare(session: Session, scope, current: dict[str, Any], today: date) -> list[Delta]:
    """This month's figures (`current`, from headline_figures) against the latest snapshot of
    an earlier month for the same scope; [] when there is none yet."""
    previous = previous_snapshot(session, scope.key, today)
    return deltas_between(session, current, previous) if previous is not None else []


# --- the snapshots page -----------------------------------------------------------------------


@dataclass(frozen=True)
class MonthRow:
    snapshot: Snapshot
    deltas: list[Delta]  # against the previous snapshot of the scope; [] for the first one
    figures: list[Delta]  # every figure (previous None when there is nothing to compare)


def history(session: Session, scope_key: str, limit: int = 24) -> list[MonthRow]:
    """The scope's snapshots, newest first, each compared with the one before it."""
    snapshots = list(
        session.scalars(
            select(Snapshot)
            .where(Snapshot.scope == scope_key)
            .order_by(Snapshot.month.desc())
            .limit(limit + 1)
        )
    )
    rows = []
    for index, snapshot in enumerate(snapshots[:limit]):
        earlier = snapshots[index + 1] if index + 1 < len(snapshots) else None
        deltas = deltas_between(session, snapshot.figures, earlier) if earlier else []
        compared = {d.key: d for d in deltas}
        figures = []
        for key, value in snapshot.figures.items():
            if key in compared:
                figures.append(compared[key])
            else:
                label, better, unit = figure_meta(session, key)
                figures.append(Delta(key, label, value, None, better, unit, snapshot.month))
        rows.append(MonthRow(snapshot, deltas, figures))
    return rows


def is_taken(session: Session, month: date) -> bool:
    """Whether this month's network snapshot exists."""
    found = session.scalar(
        select(Snapshot.id).where(Snapshot.month == month, Snapshot.scope == "network")
    )
    return found is not None
