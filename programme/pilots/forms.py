"""Forms of the pilot screens. KPI targets are one input per catalogue KPI, read by the
view (`target-<code>`), since the catalogue decides how many there are."""

from __future__ import annotations

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

from programme.network.forms import MultiCheckboxField
from programme.pilots.models import DECISIONS, DEPLOYMENT_STEPS, ELEMENT_KINDS, SUPPORTING_FUNCTIONS
from programme.web.forms import BLANK_LABEL


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
