"""Forms of the network screens."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, HiddenField, SelectField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from programme.network.models import CHANNELS, OPERATORS, SITE_TYPES


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class SiteForm(FlaskForm):
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=40)])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    type = SelectField(_l("Type"), choices=[(k, v) for k, v in SITE_TYPES.items()])
    region = StringField(
        _l("Region"),
        validators=[DataRequired(), Length(max=120)],
        description=_l("An existing region, or a new one to create."),
    )
    country = StringField(_l("Country (2-letter code)"), default="FR", validators=[Length(max=2)])
    city = StringField(_l("City"), validators=[Optional(), Length(max=120)])
    time_zone = StringField(_l("Time zone"), default="Europe/Paris", validators=[Length(max=64)])
    operator = SelectField(_l("Operator"), choices=[(k, v) for k, v in OPERATORS.items()])
    provider = StringField(
        _l("Provider"),
        validators=[Optional(), Length(max=200)],
        description=_l("Required for an outsourced site."),
    )
    channels = MultiCheckboxField(
        _l("Channels served"), choices=[(k, v) for k, v in CHANNELS.items()]
    )
    manager_name = StringField(_l("Manager's name"), validators=[Optional(), Length(max=200)])
    manager_email = StringField(_l("Manager's email"), validators=[Optional(), Length(max=254)])
    version = HiddenField()


class RegionForm(FlaskForm):
    name = StringField(_l("Region name"), validators=[DataRequired(), Length(max=120)])


class SiteImportForm(FlaskForm):
    file = FileField(_l("CSV or XLSX file"), validators=[FileRequired()])
    update_only = BooleanField(_l("Only update existing sites (refuse unknown codes)"))
