"""Forms of the case screens and the counter note. The rules (required outcome and cause,
scales, consent) live in the services; these forms carry the fields and the CSRF token."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.fields import DateTimeLocalField
from wtforms.validators import Optional

from programme.diagnostics.models import CAUSES, JOURNEY_STEPS
from programme.feedback.models import OUTCOMES, SCALE_LABELS
from programme.network.models import CHANNELS


def _blank_first(choices: dict) -> list[tuple[str, object]]:
    return [("", _l("Choose…"))] + [(k, v) for k, v in choices.items()]


class ContactedForm(FlaskForm):
    version = HiddenField()


class CloseForm(FlaskForm):
    outcome = SelectField(_l("Outcome of the call"), choices=_blank_first(OUTCOMES))
    cause = SelectField(_l("Root cause"), choices=_blank_first(CAUSES))
    journey_step = SelectField(_l("Journey step"), choices=_blank_first(JOURNEY_STEPS))
    irritant = SelectField(_l("Known irritant (optional)"), choices=[])
    proposed_irritant = StringField(
        _l("Or propose a new irritant"),
        description=_l("The programme office will review it."),
    )
    note = TextAreaField(_l("Note"))
    version = HiddenField()


class ReassignForm(FlaskForm):
    assignee = SelectField(_l("Assign to"), choices=[])


class CounterForm(FlaskForm):
    site = SelectField(_l("Site"), choices=[])
    received_at = DateTimeLocalField(
        _l("When (site's local time)"), format="%Y-%m-%dT%H:%M", validators=[Optional()]
    )
    channel = SelectField(_l("Channel"), choices=[(k, v) for k, v in CHANNELS.items()])
    scale = SelectField(_l("Scale"), choices=[(k, v) for k, v in SCALE_LABELS.items()])
    score = StringField(_l("Score"), render_kw={"inputmode": "numeric"})
    journey_step = SelectField(_l("Journey step"), choices=_blank_first(JOURNEY_STEPS))
    comment = TextAreaField(_l("What the customer said"))
    complaint = BooleanField(_l("This is a complaint"))
    contact_consent = BooleanField(_l("The customer agrees to be called back"))
    contact = StringField(
        _l("Contact reference"),
        description=_l("Phone or e-mail; only with the customer's agreement."),
    )


class ImportForm(FlaskForm):
    source = StringField(
        _l("Source"),
        description=_l("The survey tool or desk the file comes from, e.g. qualtrics."),
    )
    file = FileField(_l("File (CSV or XLSX)"))
