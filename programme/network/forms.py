"""Forms of the network screens."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, HiddenField, SelectField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from programme.network.models import CHANNELS, OPERATORS, SITE_TYPES
from programme.network.services import NEW_REGION
from programme.web.forms import BLANK_LABEL


def region_choices(regions) -> list[tuple[str, str]]:
    return [
        ("", _l("— Choose a region —")),
        *((r.name, r.name) for r in regions),
        (NEW_REGION, _l("New region…")),
    ]


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class SiteForm(FlaskForm):
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=40)])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    type = SelectField(
        _l("Type"),
        choices=[("", BLANK_LABEL)] + [(k, v) for k, v in SITE_TYPES.items()],
        validators=[InputRequired(message=_l("Choose the site's type."))],
    )
    # The region is picked from the list (values are region names, filled in by the view);
    # a new one takes an explicit choice, its name and a confirmation: a typo never
    # silently creates a region that would split every roll-up.
    region = SelectField(
        _l("Region"),
        validators=[InputRequired(message=_l("Choose a region, or “New region…” to create one."))],
        validate_choice=False,
    )
    new_region = StringField(
        _l("New region's name"),
        validators=[Optional(), Length(max=120)],
        description=_l("Only with “New region…” chosen above."),
    )
    confirm_new_region = BooleanField(_l("Yes, create this new region"))
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


def site_values(form: SiteForm) -> dict:
    """The form's fields as `services.save_site_choosing_region` reads them."""
    return {
        "code": form.code.data,
        "name": form.name.data,
        "type": form.type.data,
        "region": form.region.data,
        "country": form.country.data,
        "city": form.city.data,
        "time_zone": form.time_zone.data,
        "operator": form.operator.data,
        "provider": form.provider.data,
        "channels": ";".join(form.channels.data or []),
        "manager_name": form.manager_name.data,
        "manager_email": form.manager_email.data,
    }


def site_data(site) -> dict:
    """A saved site as the edit form's initial data."""
    manager = site.manager
    return {
        "code": site.code,
        "name": site.name,
        "type": site.type,
        "region": site.region.name,
        "country": site.country,
        "city": site.city,
        "time_zone": site.time_zone,
        "operator": site.operator,
        "provider": site.provider,
        "channels": site.channels,
        "manager_name": manager.full_name if manager else "",
        "manager_email": (manager.email or "") if manager else "",
        "version": site.version,
    }


class RegionForm(FlaskForm):
    name = StringField(_l("Region name"), validators=[DataRequired(), Length(max=120)])


class SiteImportForm(FlaskForm):
    file = FileField(_l("CSV or XLSX file"), validators=[FileRequired()])
    update_only = BooleanField(_l("Only update existing sites (refuse unknown codes)"))
    create_regions = BooleanField(
        _l("Create the regions that do not exist yet"),
        description=_l(
            "Otherwise a row whose region is unknown is reported, and nothing is imported."
        ),
    )
