"""Read side of the pilot screens: the list, choice lists, the power estimate of a design
being typed, the results with their charts, and the addressed irritants' frequency."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, timedelta
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from programme.auth.models import User
from programme.auth.roles import ADMIN, PILOT_TEAM
from programme.diagnostics.models import Irritant
from programme.feedback.queries import irritant_frequency as _frequency
from programme.kpis.models import Kpi
from programme.pilots import charts, services
from programme.pilots.access import filter_pilots
from programme.pilots.models import Pilot, PilotMember


def visible_pilots(session: Session, user) -> list[Pilot]:
    stmt = filter_pilots(select(Pilot), user).order_by(Pilot.pilot_start.desc(), Pilot.name)
    return list(session.scalars(stmt))


def member_pilot_ids(session: Session, user_id: int) -> set[int]:
    return set(session.scalars(select(PilotMember.pilot_id).where(PilotMember.user_id == user_id)))


def irritant_choices(session: Session) -> list[tuple[int, str]]:
    return [(i.id, i.name) for i in session.scalars(select(Irritant).order_by(Irritant.name))]


def member_choices(session: Session) -> list[tuple[int, str]]:
    """Who may be on a pilot team: pilot team members and admins."""
    people = session.scalars(
        select(User).where(User.role.in_([PILOT_TEAM, ADMIN])).order_by(User.email)
    )
    return [(u.id, f"{u.display_name} ({u.email})") for u in people]


def irritant_frequency(session: Session, irritant_ids) -> list:
    """The addressed irritants' recent frequency: campaign findings and closed customer
    cases over the last 90 days, against the 90 days before."""
    return _frequency(session, irritant_ids, date.today())


class DesignDates(NamedTuple):
    baseline_start: date | None
    baseline_end: date | None
    pilot_start: date | None
    pilot_end: date | None


def power_estimates(
    session: Session,
    args: Mapping,
    dates: DesignDates,
    kpis: list[Kpi],
    secret_key: str,
    pilot: Pilot | None = None,
) -> list[services.Power]:
    """The power of the design in `args` (the design form's values, its dates read) for
    each KPI ticked (else the first of `kpis`)."""
    pilot_codes = services.split_codes(args.get("pilot_sites"))
    control_codes = services.split_codes(args.get("control_sites"))
    # Arms from a matched-pair draw (just drawn, or a randomized pilot left as drawn): the
    # randomization test swaps within pairs, and the pairs give the order of the arms.
    draw = services.draw_from_token(args.get("draw_record"), secret_key)
    pairs = None
    if draw is None and pilot is not None and pilot.randomized and pilot.randomization_pairs:
        codes = {ps.site_id: ps.site.code for ps in pilot.sites}
        draw = services.Draw(
            pilot.randomization_seed or 0,
            [(codes.get(a, ""), codes.get(b, "")) for a, b in pilot.randomization_pairs],
        )
    if (
        draw is not None
        and set(draw.pilot_sites) == set(pilot_codes)
        and set(draw.control_sites) == set(control_codes)
    ):
        pilot_codes, control_codes, pairs = draw.pilot_sites, draw.control_sites, len(draw.pairs)
    # The history known at design time: everything up to the end of the baseline.
    baseline_end = dates.baseline_end
    until = baseline_end + timedelta(days=1) if baseline_end else dates.baseline_start
    weeks = services.weeks_between(dates.pilot_start, dates.pilot_end) or 12
    baseline_weeks = services.weeks_between(dates.baseline_start, dates.baseline_end)
    chosen = [k for k in kpis if args.get(f"kpi-{k.code}")] or kpis[:1]
    return [
        services.power(
            session,
            kpi,
            len(pilot_codes),
            len(control_codes),
            weeks,
            until,
            pilot_codes=pilot_codes,
            control_codes=control_codes,
            baseline_weeks=baseline_weeks or weeks,
            pairs=pairs,
        )
        for kpi in chosen
    ]


# Panels that higher domains add to a pilot's results page (the value domain adds the
# projected annual value): functions (session, pilot, user) -> template variables. The view
# passes what they return, so this module imports nothing above pilots.
_RESULTS_PANELS: list[Callable] = []


def register_results_panel(panel: Callable) -> Callable:
    if panel not in _RESULTS_PANELS:
        _RESULTS_PANELS.append(panel)
    return panel


def results_panels(session: Session, pilot: Pilot, user) -> dict:
    variables: dict = {}
    for panel in _RESULTS_PANELS:
        variables.update(panel(session, pilot, user))
    return variables


def results_context(session: Session, pilot: Pilot) -> dict:
    """The results of each KPI of a pilot with its charts (arms, synthetic twin, placebo
    gaps), and the sites' labels."""
    results = services.pilot_results(session, pilot)
    periods = services.periods(pilot)
    charts_ = []
    for pk, result in zip(pilot.kpis, results, strict=True):
        points = charts.arm_points(session, pk.kpi, pilot, periods)
        synthetic = None
        synth = result.synthetic_control
        if synth is not None and synth.fits:
            twin, gaps = charts.synthetic_points(synth)
            code = pk.kpi.code.lower()
            synthetic = {
                "result": synth,
                "twin_id": f"chart-twin-{code}",
                "twin": twin,
                "twin_spec": charts.synthetic_twin_spec(pk.kpi, twin, periods),
                "gap_id": f"chart-placebo-{code}",
                "gaps": gaps,
                "gap_spec": charts.synthetic_gap_spec(pk.kpi, gaps, periods),
                "weight_rows": [
                    (synth.names.get(p.site, p.site), [f.weights[p.site] for f in synth.fits])
                    for p in synth.placebos
                ],
            }
        charts_.append(
            {
                "id": f"chart-pilot-{pk.kpi.code.lower()}",
                "kpi": pk.kpi,
                "points": points,
                "spec": charts.pilot_spec(pk.kpi, points, periods),
                "result": result,
                "synthetic": synthetic,
            }
        )
    site_codes = {ps.site_id: f"{ps.site.code} – {ps.site.name}" for ps in pilot.sites}
    return {"results": results, "charts": charts_, "site_codes": site_codes}
