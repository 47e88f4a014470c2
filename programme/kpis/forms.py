"""Forms of the KPI screens."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    FloatField,
    HiddenField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from programme.kpis.models import DIRECTIONS, KPI_KINDS, PERIODS


class KpiForm(FlaskForm):
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=20)])
    name_en = StringField(_l("Name in English"), validators=[DataRequired(), Length(max=120)])
    name_fr = StringField(_l("Name in French"), validators=[DataRequired(), Length(max=120)])
    unit = StringField(
        _l("Unit"),
        validators=[Optional(), Length(max=30)],
        description=_l("e.g. min, /5, pts; leave empty for a rate."),
    )
    kind = SelectField(_l("Kind"), choices=[(k, v) for k, v in KPI_KINDS.items()])
    better = SelectField(_l("Direction"), choices=[(k, v) for k, v in DIRECTIONS.items()])
    min_value = FloatField(_l("Lowest valid value"), validators=[InputRequired()])
    max_value = FloatField(_l("Highest valid value"), validators=[InputRequired()])
    period = SelectField(_l("Measured per"), choices=[(k, v) for k, v in PERIODS.items()])
    active = BooleanField(_l("Active (accepts new measurements)"), default=True)
    version = HiddenField()


class UploadForm(FlaskForm):
    file = FileField(_l("CSV or XLSX file"), validators=[FileRequired()])
    source = StringField(
        _l("Source"),
        validators=[Optional(), Length(max=120)],
        description=_l(
            "The system that exported the file (e.g. qms-export, acd, survey). Its column "
            "mapping is remembered. Empty: the file name."
        ),
    )


class EmptyForm(FlaskForm):
    """Only the CSRF token (confirm, revoke)."""


class CorrectionForm(FlaskForm):
    value = StringField(_l("Corrected value"), validators=[DataRequired(), Length(max=40)])
    n = StringField(_l("Sample size n"), validators=[DataRequired(), Length(max=20)])
    reason = TextAreaField(_l("Why"), validators=[DataRequired(), Length(max=500)])


class AssignmentForm(FlaskForm):
    user_id = SelectField(_l("Pilot team member"), coerce=str, validate_choice=False)
    site_code = StringField(_l("Site code"), validators=[DataRequired(), Length(max=40)])


class TokenForm(FlaskForm):
    name = StringField(
        _l("Token name"),
        validators=[DataRequired(), Length(max=120)],
        description=_l("The system that will use it, e.g. qms-export."),
    )
