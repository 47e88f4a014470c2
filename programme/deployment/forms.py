"""Forms of the deployment screens and their mappers to the services' inputs. The wave's
sites and the checklist toggles are read from the request (their number depends on the
data)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
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
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from programme.deployment import services
from programme.deployment.models import BLOCKER_CATEGORIES, DEFAULT_CAPACITY, WAVE_STATUSES
from programme.network.forms import MultiCheckboxField
from programme.web.forms import BLANK_LABEL, optional_int
from programme.web.parsing import parse_int


class WaveForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    package = SelectField(
        _l("Package deployed"),
        coerce=optional_int,
        validators=[DataRequired(message=_l("Choose the package this wave deploys."))],
    )
    start = DateField(_l("Planned start"), validators=[InputRequired()])
    go_live = DateField(_l("Go-live"), validators=[InputRequired()])
    status = SelectField(
        _l("Status"), choices=[(k, v) for k, v in WAVE_STATUSES.items()], default="planned"
    )
    version = HiddenField()


class AssignmentForm(FlaskForm):
    site = SelectField(
        _l("Site"), coerce=optional_int, validators=[DataRequired(message=_l("Choose a site."))]
    )
    coach = SelectField(
        _l("Coach"), coerce=optional_int, validators=[DataRequired(message=_l("Choose a coach."))]
    )
    start = DateField(_l("From"), validators=[InputRequired()])
    end = DateField(_l("To"), validators=[InputRequired()])


class VisitForm(FlaskForm):
    visited_on = DateField(_l("Date of the visit"), validators=[InputRequired()])
    duration_minutes = IntegerField(
        _l("Duration (minutes)"), validators=[InputRequired(), NumberRange(min=1, max=24 * 60)]
    )
    worked_on = TextAreaField(_l("What was worked on"), validators=[DataRequired()])
    blocker_category = SelectField(
        _l("Blocker category"),
        choices=[("", "—")] + [(k, v) for k, v in BLOCKER_CATEGORIES.items()],
        validators=[Optional()],
    )
    blockers = TextAreaField(_l("Blockers"), validators=[Optional()])
    next_visit_on = DateField(_l("Next visit"), validators=[Optional()])


class EngagementForm(FlaskForm):
    # No default: an unchosen score is refused, never saved as 1/5.
    score = SelectField(
        _l("Engagement of the site manager (1 to 5)"),
        coerce=optional_int,
        choices=[("", BLANK_LABEL)] + [(str(i), str(i)) for i in range(1, 6)],
        validators=[DataRequired(message=_l("Choose a score from 1 to 5."))],
    )
    recorded_on = DateField(_l("Date"), validators=[InputRequired()])
    note = TextAreaField(_l("Note"), validators=[Optional()])
    asked_earlier = BooleanField(_l("The manager asked to be deployed earlier"))


class TrainingRow(Form):
    """One change-management training module (formation à la conduite du changement)."""

    module = StringField(_l("Training module"), validators=[Optional(), Length(max=200)])
    completed_on = DateField(_l("Completed on"), validators=[Optional()])


class CoachForm(FlaskForm):
    email = StringField(
        _l("Email"),
        validators=[DataRequired(), Length(max=254)],
        description=_l("An existing person is found by their email; otherwise one is created."),
    )
    full_name = StringField(_l("Full name"), validators=[Optional(), Length(max=200)])
    user = SelectField(_l("Linked user account"), coerce=int, default=0)
    home_site = StringField(_l("Home site (code)"), validators=[DataRequired(), Length(max=40)])
    secondment_start = DateField(_l("Secondment start"), validators=[InputRequired()])
    secondment_end = DateField(_l("Secondment end"), validators=[Optional()])
    capacity = IntegerField(
        _l("Capacity (sites at once)"),
        default=DEFAULT_CAPACITY,
        validators=[InputRequired(), NumberRange(min=1, max=20)],
    )
    regions = MultiCheckboxField(_l("Regions covered"), coerce=int)
    trainings = FieldList(FormField(TrainingRow), min_entries=1)
    version = HiddenField()


def wave_plan(form: WaveForm, site_codes: list[str]) -> services.WavePlan:
    return services.WavePlan(
        name=form.name.data,
        package_id=form.package.data,
        start=form.start.data,
        go_live=form.go_live.data,
        site_codes=site_codes,
        status=form.status.data,
    )


def checklist_updates(formdata) -> dict[int, tuple[str, int | None, str | None]] | None:
    """The checklist states sent with a visit, by package element: `element-<id>` (the new
    state, blank for unchanged), `version-<id>` and `note-<id>`. None when an element id
    cannot be read."""
    updates: dict[int, tuple[str, int | None, str | None]] = {}
    for key in formdata:
        if not key.startswith("element-"):
            continue
        element_id = parse_int(key.removeprefix("element-"))
        if element_id is None:
            return None
        state = formdata.get(key) or ""
        if state:
            updates[element_id] = (
                state,
                parse_int(formdata.get(f"version-{element_id}")),
                formdata.get(f"note-{element_id}"),
            )
    return updates


def visit_input(form: VisitForm, updates: dict) -> services.VisitInput:
    return services.VisitInput(
        visited_on=form.visited_on.data,
        duration_minutes=form.duration_minutes.data,
        worked_on=form.worked_on.data,
        blocker_category=form.blocker_category.data or None,
        blockers=form.blockers.data,
        next_visit_on=form.next_visit_on.data,
        updates=updates,
    )


def coach_form(coach) -> CoachForm:
    """The edit form holding the coach as saved (its version: `services.coach_fingerprint`)."""
    return CoachForm(
        formdata=None,
        email=coach.person.email or "",
        full_name=coach.person.full_name,
        user=coach.user_id or 0,
        home_site=coach.home_site.code if coach.home_site else "",
        secondment_start=coach.secondment_start,
        secondment_end=coach.secondment_end,
        capacity=coach.capacity,
        regions=[r.id for r in coach.regions],
        trainings=[*coach.trainings, None],
        version=services.coach_fingerprint(coach),
    )


def coach_input(form: CoachForm) -> services.CoachInput:
    return services.CoachInput(
        email=form.email.data,
        full_name=form.full_name.data,
        home_site_code=form.home_site.data,
        secondment_start=form.secondment_start.data,
        secondment_end=form.secondment_end.data,
        capacity=form.capacity.data,
        user_id=form.user.data or None,
        region_ids=list(form.regions.data or []),
        trainings=[(row.module.data, row.completed_on.data) for row in form.trainings],
    )
