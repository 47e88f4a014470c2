"""One error shape, one save sequence, one parse, one week (issue 15): what the views rely on."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm.exc import StaleDataError
from wtforms import FieldList, Form, FormField, IntegerField, StringField

from programme.errors import Conflict, FieldError, Invalid
from programme.web.forms import attach_errors, save_or_conflict
from programme.web.parsing import parse_date, parse_int
from programme.weeks import first_week_start, week_start


class Row(Form):
    description = StringField()
    occurrences = IntegerField()


class Score(Form):
    score = IntegerField()


class Session(Form):
    name = StringField()
    password = StringField()
    findings = FieldList(FormField(Row), min_entries=2)
    roles = FormField(Score)


class Recorder:
    """A session that only records what the save sequence did."""

    def __init__(self):
        self.calls: list[str] = []

    def commit(self):
        self.calls.append("commit")

    def rollback(self):
        self.calls.append("rollback")


def test_invalid_reads_by_field_and_says_its_messages():
    invalid = Invalid.from_fields({"name": ["Required.", "Too long."], "kpis": ["Choose one."]})
    assert invalid.by_field == {"name": ["Required.", "Too long."], "kpis": ["Choose one."]}
    assert str(invalid) == "Required.; Too long.; Choose one."
    assert Invalid.on("code", "Taken.", row=3).errors == [FieldError("code", "Taken.", 3)]
    assert FieldError("site", "Unknown.", 2).as_dict("index") == {
        "index": 2,
        "field": "site",
        "message": "Unknown.",
    }


def test_errors_go_next_to_their_field_rows_and_sub_fields_included():
    form = Session()
    invalid = Invalid(
        [
            FieldError("name", "Required."),
            FieldError("occurrences", "A whole number.", 1),  # second finding row
            FieldError("roles-score", "From 1 to 5."),
            FieldError("kpis", "Choose a KPI."),  # no such field: returned
        ]
    )
    loose = attach_errors(form, invalid)
    assert form.name.errors == ["Required."]
    assert form.findings.entries[1].form.occurrences.errors == ["A whole number."]
    assert not form.findings.entries[0].form.occurrences.errors
    assert form.roles.form.score.errors == ["From 1 to 5."]
    assert loose == ["Choose a KPI."]


def test_loose_renamed_and_first_field_placements():
    form = Session()
    invalid = Invalid([FieldError("password", "Shown on top."), FieldError("new", "Weak.")])
    loose = attach_errors(form, invalid, loose_fields=("password",), renamed={"new": "name"})
    assert loose == ["Shown on top."] and form.name.errors == ["Weak."]
    assert not form.password.errors
    form = Session()
    assert attach_errors(form, Invalid.on("", "Whole form."), on_first_field=True) == []
    assert form.name.errors == ["Whole form."]


def test_the_save_sequence_commits_or_rolls_back_once():
    session = Recorder()
    saved = save_or_conflict(lambda: 42, session=session)
    assert (saved.status, saved.result, session.calls) == (200, 42, ["commit"])

    def refused():
        raise Invalid.on("name", "Required.")

    form, session = Session(), Recorder()
    saved = save_or_conflict(refused, form, session=session)
    assert (saved.status, session.calls, form.name.errors) == (422, ["rollback"], ["Required."])

    for stale in (Conflict("now"), StaleDataError()):

        def save(error=stale):
            raise error

        session = Recorder()
        saved = save_or_conflict(save, session=session)
        assert saved.conflict and session.calls == ["rollback"]


def test_a_stale_version_is_refused_before_the_service_runs():
    ran, session = [], Recorder()
    saved = save_or_conflict(
        lambda: ran.append(1), sent_version="3", current_version=4, session=session
    )
    assert saved.status == 409 and ran == [] and session.calls == []
    saved = save_or_conflict(
        lambda: ran.append(1), sent_version="4", current_version=4, session=session
    )
    assert saved.ok and ran == [1]


def test_numbers_and_dates_typed_or_carried_in_links():
    assert parse_int(" 12 ") == 12 and parse_int("-3") == -3
    assert parse_int("2147483648") is None  # beyond the database's integer columns
    assert parse_int("12a") is None and parse_int(None) is None and parse_int("") is None
    assert parse_date(" 2026-03-02 ") == date(2026, 3, 2)
    assert parse_date("2026-13-01") is None and parse_date(None) is None
    assert parse_date("1999-12-31", years=(2000, 2100)) is None


def test_a_week_is_named_by_its_monday():
    assert week_start(date(2026, 3, 8)) == date(2026, 3, 2)  # a Sunday
    assert week_start(date(2026, 3, 2)) == date(2026, 3, 2)
    assert first_week_start(date(2026, 3, 3)) == date(2026, 3, 9)
    assert first_week_start(date(2026, 3, 2)) == date(2026, 3, 2)
