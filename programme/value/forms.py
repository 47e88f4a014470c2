"""Forms of the value screens and their mapping to the services' values (the checks
themselves are in services.py)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import Length, Optional

from programme.value.models import GATES, LEVERS


class DriverForm(FlaskForm):
    package = SelectField(_l("Package"), choices=[], validate_choice=False)
    kpi = SelectField(_l("KPI whose effect is valued"), choices=[], validate_choice=False)
    volume_kpi = SelectField(
        _l("Volume (a count KPI)"),
        choices=[],
        validate_choice=False,
        description=_l("The number of contacts or customers the effect applies to."),
    )
    lever = SelectField(
        _l("Lever"), choices=[(k, v) for k, v in LEVERS.items()], validate_choice=False
    )
    unit_low = StringField(_l("Unit value, low (€)"), validators=[Optional(), Length(max=40)])
    unit_most_likely = StringField(
        _l("Unit value, most likely (€)"),
        validators=[Optional(), Length(max=40)],
        description=_l(
            "Euros per unit of KPI per unit of volume, e.g. 4.20 per repeat contact avoided."
        ),
    )
    unit_high = StringField(_l("Unit value, high (€)"), validators=[Optional(), Length(max=40)])
    source = StringField(_l("Source of the unit value"), validators=[Optional(), Length(max=300)])
    owner = StringField(_l("Owner"), validators=[Optional(), Length(max=200)])
    explanation = TextAreaField(
        _l("How the effect becomes money"), validators=[Optional(), Length(max=5000)]
    )
    attribution = StringField(
        _l("Attribution share"),
        validators=[Optional(), Length(max=40)],
        description=_l(
            "The package's share of the value at sites another package also claims for this "
            "KPI (e.g. 0.6); the shares of a site sum to at most 1. Leave empty for 1."
        ),
    )
    version = HiddenField()

    FIELDS = (
        "package",
        "kpi",
        "volume_kpi",
        "lever",
        "unit_low",
        "unit_most_likely",
        "unit_high",
        "source",
        "owner",
        "explanation",
        "attribution",
    )

    def set_choices(self, choices: dict[str, list[tuple[str, str]]]) -> None:
        """The lists of `queries.driver_choices`."""
        for name, options in choices.items():
            getattr(self, name).choices = options

    def values(self) -> dict:
        """What `services.save_driver` takes."""
        return {name: getattr(self, name).data for name in self.FIELDS}


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def driver_data(driver) -> dict:
    """A saved driver as the form's data."""
    return {
        "package": str(driver.package_id),
        "kpi": driver.kpi.code,
        "volume_kpi": driver.volume_kpi.code,
        "lever": driver.lever,
        "unit_low": _number(driver.unit_low),
        "unit_most_likely": _number(driver.unit_most_likely),
        "unit_high": _number(driver.unit_high),
        "source": driver.source,
        "owner": driver.owner,
        "explanation": driver.explanation,
        "attribution": f"{driver.attribution:g}",
        "version": str(driver.version),
    }


class GateForm(FlaskForm):
    to = SelectField(_l("Move to"), choices=[(k, v) for k, v in GATES.items()])
    comment = TextAreaField(_l("Comment"), validators=[Optional(), Length(max=2000)])
    reason = TextAreaField(
        _l("Reason"),
        validators=[Optional(), Length(max=2000)],
        description=_l(
            "Needed to skip a gate, to move back, or to confirm an effect whose interval includes 0."
        ),
    )
    evidence = StringField(
        _l("Evidence (L5)"),
        validators=[Optional(), Length(max=500)],
        description=_l("The document or link behind the sign-off."),
    )
