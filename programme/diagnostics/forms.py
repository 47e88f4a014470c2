"""Forms of the diagnostics screens and their mappers (saved record → form data, form →
the services' values). Type checks only: the rules live in services.py."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import InputRequired, Length, Optional

from programme.diagnostics import services
from programme.diagnostics.models import (
    CAUSES,
    DETERMINANT_SCORES,
    DETERMINANTS,
    JOURNEY_STEPS,
    OUTCOMES,
    SENTIMENTS,
    SEVERITIES,
    STAKES,
    step_label,
)
from programme.network.forms import MultiCheckboxField
from programme.network.models import CHANNELS, SITE_TYPES
from programme.web.forms import Saved, save_or_conflict


def _blank(label) -> list[tuple[str, object]]:
    return [("", label)]


class CampaignForm(FlaskForm):
    name = StringField(_l("Name"), validators=[InputRequired(), Length(max=200)])
    start_date = DateField(_l("First day"), validators=[InputRequired()])
    end_date = DateField(_l("Last day"), validators=[InputRequired()])
    lead_id = SelectField(_l("Lead"), choices=[], validate_choice=False)
    region_ids = MultiCheckboxField(
        _l("Regions in scope"),
        choices=[],
        validate_choice=False,
        description=_l("None ticked: every region."),
    )
    site_types = MultiCheckboxField(
        _l("Site types in scope"), choices=list(SITE_TYPES.items()), validate_choice=False
    )
    channels = MultiCheckboxField(
        _l("Channels in scope"), choices=list(CHANNELS.items()), validate_choice=False
    )
    journey_steps = MultiCheckboxField(
        _l("Journey steps observed"), choices=list(JOURNEY_STEPS.items()), validate_choice=False
    )
    extra_steps = TextAreaField(
        _l("Other journey steps"),
        validators=[Optional(), Length(max=2000)],
        description=_l("One per line, observed after the steps ticked above."),
    )
    site_codes = TextAreaField(
        _l("Sites sampled"),
        validators=[Optional(), Length(max=20000)],
        description=_l("Site codes separated by commas, spaces or new lines."),
    )
    version = HiddenField()


class FindingRowForm(Form):
    """One row of the entry screen (no CSRF of its own: it travels inside SessionForm)."""

    id = HiddenField()
    journey_step = SelectField(_l("Journey step"), choices=[], validate_choice=False)
    outcome = SelectField(
        _l("What happened to the customer"),
        choices=_blank("—") + list(OUTCOMES.items()),
        validate_choice=False,
    )
    cause = SelectField(
        _l("Cause"), choices=_blank("—") + list(CAUSES.items()), validate_choice=False
    )
    severity = SelectField(
        _l("Severity"),
        choices=_blank("—") + [(str(k), v) for k, v in SEVERITIES.items()],
        validate_choice=False,
    )
    occurrences = StringField(
        _l("Seen (times)"),
        validators=[Optional(), Length(max=10)],
        render_kw={"type": "number", "min": "1", "inputmode": "numeric"},
    )
    description = TextAreaField(
        _l("What happened"), validators=[Optional(), Length(max=4000)], render_kw={"rows": 2}
    )
    attachment_ref = StringField(
        _l("Photo or attachment reference"), validators=[Optional(), Length(max=500)]
    )
    notes = StringField(_l("Notes"), validators=[Optional(), Length(max=4000)])
    delete = BooleanField(_l("Remove this finding"))


class SessionForm(FlaskForm):
    site_id = SelectField(_l("Site"), choices=[], validate_choice=False)
    observed_on = DateField(_l("Date"), validators=[InputRequired()])
    start_time = TimeField(_l("Start time"), validators=[InputRequired()])
    end_time = TimeField(_l("End time"), validators=[InputRequired()])
    channel = SelectField(
        _l("Channel"), choices=_blank("—") + list(CHANNELS.items()), validate_choice=False
    )
    interactions = IntegerField(
        _l("Customer interactions observed"),
        validators=[InputRequired()],
        render_kw={"inputmode": "numeric", "min": 1},
    )
    notes = TextAreaField(_l("Notes on the session"), validators=[Optional(), Length(max=4000)])
    findings = FieldList(FormField(FindingRowForm), min_entries=1)
    next_index = HiddenField()
    version = HiddenField()


def step_choices(steps: list[str]) -> list[tuple[str, str]]:
    return _blank("—") + [(s, step_label(s)) for s in steps]


def set_step_choices(form: SessionForm | FindingRowForm, steps: list[str]) -> None:
    rows = form.findings.entries if isinstance(form, SessionForm) else [form]
    for entry in rows:
        row = entry.form if hasattr(entry, "form") else entry
        row.journey_step.choices = step_choices(steps)


class CompleteForm(FlaskForm):
    override_reason = TextAreaField(
        _l("Why complete it although combinations in scope were not observed"),
        validators=[Optional(), Length(max=4000)],
        description=_l("Programme office only; kept with the campaign."),
    )


class SynthesisForm(FlaskForm):
    stakes_text = TextAreaField(_l("Stakes"), validators=[Optional(), Length(max=4000)])
    service_aspiration = TextAreaField(
        _l("Service aspiration agreed with the teams"), validators=[Optional(), Length(max=4000)]
    )
    version = HiddenField()


class DeterminantRowForm(Form):
    score = SelectField(
        _l("Score"),
        choices=_blank("—") + [(str(k), v) for k, v in DETERMINANT_SCORES.items()],
        validate_choice=False,
    )
    evidence = TextAreaField(_l("Evidence"), validators=[Optional(), Length(max=4000)])


def determinant_form_class():
    """A form with one (score, evidence) row per determinant, in the method's order."""

    class DeterminantForm(FlaskForm):
        pass

    for key, label in DETERMINANTS.items():
        setattr(DeterminantForm, key, FormField(DeterminantRowForm, label=label))
    return DeterminantForm


class IrritantForm(FlaskForm):
    name = StringField(_l("Name"), validators=[InputRequired(), Length(max=200)])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=4000)])
    stakes = MultiCheckboxField(
        _l("Stakes it threatens"), choices=list(STAKES.items()), validate_choice=False
    )
    determinants = MultiCheckboxField(
        _l("Organisational determinants behind it"),
        choices=list(DETERMINANTS.items()),
        validate_choice=False,
    )


class GroupFindingsForm(FlaskForm):
    add = MultiCheckboxField(_l("Findings to group here"), choices=[], validate_choice=False)
    remove = MultiCheckboxField(_l("Findings to take out"), choices=[], validate_choice=False)


class VerbatimForm(FlaskForm):
    site = SelectField(_l("Site"), choices=[], validate_choice=False)
    quote = TextAreaField(_l("Quote"), validators=[InputRequired(), Length(max=4000)])
    channel = SelectField(
        _l("Channel"), choices=_blank("—") + list(CHANNELS.items()), validate_choice=False
    )
    journey_step = SelectField(_l("Journey step"), choices=[], validate_choice=False)
    sentiment = SelectField(
        _l("Sentiment"), choices=_blank("—") + list(SENTIMENTS.items()), validate_choice=False
    )
    collected_on = DateField(_l("Collected on"), validators=[Optional()])


class VoiceImportForm(FlaskForm):
    kind = SelectField(
        _l("The file holds"),
        choices=[("verbatims", _l("Verbatims")), ("survey_scores", _l("Survey scores"))],
    )
    file = FileField(_l("CSV or XLSX file"), validators=[FileRequired()])


def save_form(save, form, version=None) -> Saved:
    """`save_or_conflict` for a diagnostics form: with `version` (the record's), the form's
    hidden version is checked first; errors without a field show on the form's first field."""
    return save_or_conflict(
        save,
        form,
        sent_version=form.version.data if version is not None else None,
        current_version=version,
        on_first_field=True,
    )


def _channel_choices(campaign) -> list[tuple[str, object]]:
    return _blank("—") + [
        (c, CHANNELS[c]) for c in CHANNELS if c in (campaign.scope_channels or [])
    ]


# --- campaigns -------------------------------------------------------------------------------


def set_campaign_choices(form: CampaignForm, leads, regions) -> None:
    form.lead_id.choices = _blank("—") + list(leads)
    form.region_ids.choices = [(str(r.id), r.name) for r in regions]


def campaign_data(campaign) -> dict:
    return {
        "name": campaign.name,
        "start_date": campaign.start_date,
        "end_date": campaign.end_date,
        "lead_id": str(campaign.lead_id or ""),
        "region_ids": [str(r.id) for r in campaign.regions],
        "site_types": campaign.scope_site_types,
        "channels": campaign.scope_channels,
        "journey_steps": [s for s in campaign.journey_steps if s in JOURNEY_STEPS],
        "extra_steps": "\n".join(s for s in campaign.journey_steps if s not in JOURNEY_STEPS),
        "site_codes": ", ".join(s.code for s in campaign.sites),
        "version": str(campaign.version),
    }


def campaign_values(form: CampaignForm) -> dict:
    return {
        "name": form.name.data,
        "start_date": form.start_date.data,
        "end_date": form.end_date.data,
        "lead_id": form.lead_id.data,
        "region_ids": form.region_ids.data or [],
        "site_types": form.site_types.data or [],
        "channels": form.channels.data or [],
        "journey_steps": services.journey_steps_from(
            form.journey_steps.data or [], form.extra_steps.data or ""
        ),
        "site_codes": form.site_codes.data or "",
    }


# --- observation sessions --------------------------------------------------------------------


def set_session_choices(form: SessionForm, campaign, sites) -> None:
    form.site_id.choices = _blank("—") + [(str(s.id), f"{s.code} – {s.name}") for s in sites]
    form.channel.choices = _channel_choices(campaign)
    set_step_choices(form, campaign.journey_steps or [])
    form.next_index.data = str(form.findings.last_index + 1)


def session_data(observation) -> dict:
    return {
        "site_id": str(observation.site_id),
        "observed_on": observation.observed_on,
        "start_time": observation.start_time,
        "end_time": observation.end_time,
        "channel": observation.channel,
        "interactions": observation.interactions,
        "notes": observation.notes,
        "version": str(observation.version),
        "findings": [
            {
                "id": str(f.id),
                "journey_step": f.journey_step,
                "outcome": f.outcome,
                "cause": f.cause,
                "severity": str(f.severity),
                "occurrences": str(f.occurrences),
                "description": f.description,
                "attachment_ref": f.attachment_ref or "",
                "notes": f.notes or "",
            }
            for f in observation.findings
        ]
        or [{}],
    }


def session_values(form: SessionForm) -> dict:
    return {
        "site_id": form.site_id.data,
        "observed_on": form.observed_on.data,
        "start_time": form.start_time.data,
        "end_time": form.end_time.data,
        "channel": form.channel.data,
        "interactions": form.interactions.data,
        "notes": form.notes.data,
    }


def finding_rows(form: SessionForm) -> list[dict]:
    """The entry screen's findings, each with its row index (errors point back to it)."""
    rows = []
    for index, entry in enumerate(form.findings.entries):
        row = entry.form
        values = {name: row[name].data for name in services.FINDING_FIELDS}
        values.update(row=index, id=row.id.data or None, delete=bool(row.delete.data))
        rows.append(values)
    return rows


# --- determinants, customer voice, irritants, synthesis -------------------------------------


def determinant_data(scores: dict, site_id: int) -> dict:
    """A site's saved assessments (`scores`: (site id, determinant) → assessment)."""
    data = {}
    for key in DETERMINANTS:
        assessment = scores.get((site_id, key))
        if assessment is not None:
            data[key] = {"score": str(assessment.score), "evidence": assessment.evidence}
    return data


def determinant_values(form) -> dict:
    return {
        key: {"score": form[key].form.score.data, "evidence": form[key].form.evidence.data}
        for key in DETERMINANTS
    }


def set_verbatim_choices(form: VerbatimForm, campaign, sites) -> None:
    form.site.choices = _blank("—") + [(s.code, f"{s.code} – {s.name}") for s in sites]
    form.channel.choices = _channel_choices(campaign)
    form.journey_step.choices = step_choices(campaign.journey_steps or [])


def verbatim_values(form: VerbatimForm) -> dict:
    return {
        "site": form.site.data,
        "quote": form.quote.data,
        "channel": form.channel.data,
        "journey_step": form.journey_step.data,
        "sentiment": form.sentiment.data,
        "collected_on": form.collected_on.data,
    }


def irritant_values(form: IrritantForm) -> dict:
    return {
        "name": form.name.data,
        "description": form.description.data,
        "stakes": form.stakes.data or [],
        "determinants": form.determinants.data or [],
    }


def synthesis_data(campaign) -> dict:
    return {
        "stakes_text": campaign.stakes_text or "",
        "service_aspiration": campaign.service_aspiration or "",
        "version": str(campaign.version),
    }
