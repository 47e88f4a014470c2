"""Forms of the pilot screens, and the design read from them. KPI targets are one input
per catalogue KPI (`kpi-<code>`, `target-<code>`), since the catalogue decides how many
there are."""

from __future__ import annotations

from collections.abc import Mapping

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    HiddenField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from programme.kpis.models import Kpi
from programme.network.forms import MultiCheckboxField
from programme.pilots import services
from programme.pilots.models import (
    DECISIONS,
    DEPLOYMENT_STEPS,
    ELEMENT_KINDS,
    SUPPORTING_FUNCTIONS,
    Pilot,
)
from programme.pilots.queries import DesignDates
from programme.web.forms import BLANK_LABEL
from programme.web.parsing import parse_date


class PilotForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    description = TextAreaField(_l("Description"), validators=[Optional()])
    stakes = TextAreaField(_l("Stakes addressed"), validators=[Optional()])
    irritant_ids = SelectMultipleField(
        _l("Irritants addressed"), coerce=int, validators=[Optional()]
    )
    improvements = TextAreaField(
        _l("Improvements tested"),
        validators=[Optional()],
        description=_l("One per line: a short title, then a colon and the description."),
    )
    baseline_start = DateField(_l("Baseline start"), validators=[InputRequired()])
    baseline_end = DateField(_l("Baseline end"), validators=[InputRequired()])
    pilot_start = DateField(_l("Pilot period start"), validators=[InputRequired()])
    pilot_end = DateField(_l("Pilot period end"), validators=[InputRequired()])
    pilot_sites = TextAreaField(
        _l("Pilot sites"),
        validators=[Optional()],
        description=_l("Site codes separated by commas or spaces."),
    )
    control_sites = TextAreaField(
        _l("Control sites"),
        validators=[Optional()],
        description=_l("Optional. Comparable sites that do not change anything."),
    )
    candidate_sites = TextAreaField(
        _l("Candidate sites for a random draw"),
        validators=[Optional()],
        description=_l(
            "At least 4 site codes. They are paired by type, region and baseline level of the "
            "first KPI ticked below, then one site of each pair is drawn as the pilot site."
        ),
    )
    seed = StringField(
        _l("Seed of the draw (optional)"),
        validators=[Optional()],
        description=_l("Leave empty for a fresh draw; the seed used is recorded."),
    )
    draw_record = HiddenField()
    start_reason = TextAreaField(
        _l("Why start this design anyway"),
        validators=[Optional(), Length(max=2000)],
        description=_l(
            "Required to start a pilot whose design can never reach 5 %: its smallest "
            "possible p-value is above 0.05."
        ),
    )
    supporting_functions = MultiCheckboxField(
        _l("Supporting functions involved"),
        choices=[(k, v) for k, v in SUPPORTING_FUNCTIONS.items()],
        validators=[Optional()],
    )
    member_ids = SelectMultipleField(_l("Pilot team"), coerce=int, validators=[Optional()])
    stage = SelectField(_l("Stage"), validators=[Optional()])
    version = HiddenField()


class PulseForm(FlaskForm):
    score = RadioField(
        _l("Did the change make your work better?"),
        choices=[(str(i), str(i)) for i in range(1, 6)],
        validators=[Optional()],
        description=_l("1 = much worse, 3 = no difference, 5 = much better."),
    )
    site_id = SelectField(_l("Site"), coerce=int, validators=[Optional()])
    comment = TextAreaField(_l("Comment"), validators=[Optional(), Length(max=2000)])
    answered_on = DateField(_l("Date"), validators=[Optional()])


class DecisionForm(FlaskForm):
    decision = RadioField(
        _l("Decision"), choices=[(k, v) for k, v in DECISIONS.items()], validators=[Optional()]
    )
    reason = TextAreaField(_l("Reason"), validators=[Optional(), Length(max=4000)])
    decided_on = DateField(_l("Date"), validators=[Optional()])


class ElementForm(FlaskForm):
    kind = SelectField(
        _l("Kind"), choices=[("", BLANK_LABEL)] + [(k, v) for k, v in ELEMENT_KINDS.items()]
    )
    title = StringField(_l("Title"), validators=[Optional(), Length(max=200)])
    description = TextAreaField(_l("Description"), validators=[Optional()])
    deployment_step = SelectField(
        _l("Deployment step that installs it"),
        choices=[("", BLANK_LABEL)] + [(k, v) for k, v in DEPLOYMENT_STEPS.items()],
    )


def percent(text: str | None) -> float | None | str:
    """A target typed as a percentage ("-20", "−12,5 %") as a fraction; "invalid" when it
    is not a number."""
    text = (text or "").strip().replace(",", ".").replace("%", "").replace("−", "-")
    if not text:
        return None
    try:
        return float(text) / 100
    except ValueError:
        return "invalid"


def design_from_form(
    form: PilotForm, values: Mapping, kpis: list[Kpi], sets_members: bool, secret_key: str
) -> tuple[services.Design, list[str]]:
    """The design sent, and the problems of the KPI targets (which the form cannot check).
    `sets_members`: whether the user may choose the pilot team (admins)."""
    problems: list[str] = []
    chosen: list[tuple[str, float | None]] = []
    for kpi in kpis:
        if values.get(f"kpi-{kpi.code}"):
            target = percent(values.get(f"target-{kpi.code}"))
            if target == "invalid":
                problems.append(_("%(code)s: the target is not a number.", code=kpi.code))
                target = None
            chosen.append((kpi.code, target))  # type: ignore[arg-type]
    improvements = []
    for line in (form.improvements.data or "").splitlines():
        if line.strip():
            title, _sep, description = line.partition(":")
            improvements.append((title.strip(), description.strip() or None))
    design = services.Design(
        name=form.name.data or "",
        description=form.description.data,
        stakes=form.stakes.data,
        baseline_start=form.baseline_start.data,
        baseline_end=form.baseline_end.data,
        pilot_start=form.pilot_start.data,
        pilot_end=form.pilot_end.data,
        pilot_sites=services.split_codes(form.pilot_sites.data),
        control_sites=services.split_codes(form.control_sites.data),
        kpis=chosen,
        improvements=improvements,
        supporting_functions=form.supporting_functions.data or [],
        member_ids=form.member_ids.data if sets_members else None,
        irritant_ids=form.irritant_ids.data or [],
        stage=form.stage.data or None,
        draw=services.draw_from_token(form.draw_record.data, secret_key),
        start_reason=form.start_reason.data,
    )
    return design, problems


def design_dates(values: Mapping) -> DesignDates:
    """The design's dates as typed (None where unreadable), for the power estimate."""
    return DesignDates(
        parse_date(values.get("baseline_start")),
        parse_date(values.get("baseline_end")),
        parse_date(values.get("pilot_start")),
        parse_date(values.get("pilot_end")),
    )


def arm_codes(pilot: Pilot, arm: str) -> str:
    return " ".join(ps.site.code for ps in pilot.sites if ps.arm == arm)


def fill_from_pilot(form: PilotForm, pilot: Pilot) -> None:
    """The fields `PilotForm(obj=pilot)` cannot fill: arms, improvements, links, version."""
    form.pilot_sites.data = arm_codes(pilot, "pilot")
    form.control_sites.data = arm_codes(pilot, "control")
    form.improvements.data = "\n".join(
        f"{i.title}: {i.description}" if i.description else i.title for i in pilot.improvements
    )
    form.irritant_ids.data = [i.id for i in pilot.irritants]
    form.member_ids.data = [m.user_id for m in pilot.members]
    form.version.data = str(pilot.version)


def values_of(pilot: Pilot | None) -> dict:
    """A saved pilot's design as the form sends it (for the power estimate on GET)."""
    if pilot is None:
        return {}
    values = {
        "pilot_sites": arm_codes(pilot, "pilot"),
        "control_sites": arm_codes(pilot, "control"),
        "pilot_start": pilot.pilot_start.isoformat(),
        "pilot_end": pilot.pilot_end.isoformat(),
        "baseline_start": pilot.baseline_start.isoformat(),
        "baseline_end": pilot.baseline_end.isoformat(),
    }
    for pk in pilot.kpis:
        values[f"kpi-{pk.kpi.code}"] = "on"
        if pk.target_relative is not None:
            values[f"target-{pk.kpi.code}"] = f"{pk.target_relative * 100:g}"
    return values
