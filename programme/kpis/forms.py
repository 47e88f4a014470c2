"""Forms of the KPI screens, and what the views read from them."""

from __future__ import annotations

from datetime import date

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

from programme.kpis.file_import import Mapping, chosen_columns
from programme.kpis.models import DIRECTIONS, KPI_KINDS, PERIODS, Kpi


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


def kpi_values(form: KpiForm) -> dict:
    return {
        "code": form.code.data,
        "name_en": form.name_en.data,
        "name_fr": form.name_fr.data,
        "unit": form.unit.data,
        "kind": form.kind.data,
        "better": form.better.data,
        "min_value": form.min_value.data,
        "max_value": form.max_value.data,
        "period": form.period.data,
        "active": form.active.data,
    }


def parse_week(text: str | None) -> date | None:
    """The Monday of an ISO week written 2026-W10, else None."""
    try:
        year, week = (text or "").split("-W")
        return date.fromisocalendar(int(year), int(week), 1)
    except ValueError:
        return None


def iso_week(day: date) -> str:
    iso = day.isocalendar()
    return f"{iso[0]}-W{iso[1]:02d}"


def mapping_from_form(values, names: list[str], kpis: list[Kpi]) -> Mapping:
    """The mapping chosen on the mapping page: the layout, then its columns (a long file's
    fields; a wide file's site, date and n, and the column of each KPI and of its n)."""
    layout = values.get("layout", "")
    if layout == "long":
        fields = ("site", "kpi", "date", "value", "n", "source")
        return Mapping(chosen_columns(values, fields, names), layout)
    columns: dict = chosen_columns(values, ("site", "date", "n"), names)
    codes = [k.code for k in kpis]
    columns["kpis"] = chosen_columns(values, codes, names, prefix="kpi_")
    n_kpis = chosen_columns(values, codes, names, prefix="n_")
    if n_kpis:
        columns["n_kpis"] = n_kpis
    return Mapping(columns, layout)
