"""Form helpers shared by every domain: blank choices, service errors onto fields, and the
one save sequence (version check, service call, commit or rollback)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy.orm.exc import StaleDataError

from programme.errors import Conflict, FieldError, Invalid
from programme.extensions import db

# The first option of a list the user must choose from: nothing is chosen for them, so a
# form sent without a choice is refused with a message instead of saving the first value.
BLANK_LABEL = _l("— Choose —")


def optional_int(value):
    """`coerce` for a SelectField of numbers with a blank first choice: "" → None."""
    if value is None or value == "":
        return None
    return int(value)


def _field_of(form, error) -> Any:
    """The form field an error names: rows of a FieldList by index, "<row>-<sub>" for a
    field of a FormField; None when the form has no such field."""
    target = form
    if error.row is not None and hasattr(form, "findings"):
        try:
            target = form.findings.entries[error.row].form
        except IndexError:
            target = form
    fields = getattr(target, "_fields", {})
    found = fields.get(error.field) if error.field else None
    if found is None and error.field and "-" in error.field:
        key, sub = error.field.rsplit("-", 1)
        row = getattr(form, "_fields", {}).get(key)
        found = getattr(getattr(row, "form", None), "_fields", {}).get(sub)
    if found is None or not hasattr(found, "errors"):
        return None
    return found


def attach_errors(
    form,
    invalid: Invalid,
    *,
    loose_fields: tuple[str, ...] = (),
    on_first_field: bool = False,
    renamed: dict[str, str] | None = None,
) -> list[str]:
    """Put each of the service's errors next to its field (`renamed`: the service's field
    name → the form's); return the messages that have no field on this form (or name one of
    `loose_fields`), for the top of the form — or, with `on_first_field`, show them on the
    form's first field."""
    loose: list[str] = []
    first = next(iter(form._fields.values()), None) if on_first_field else None
    for error in invalid.errors:
        if renamed and error.field in renamed:
            error = FieldError(renamed[error.field], error.message, error.row)
        target = None if error.field in loose_fields else _field_of(form, error)
        target = target if target is not None else first
        if target is None:
            loose.append(error.message)
        else:
            target.errors = [*list(target.errors or []), error.message]
    return loose


@dataclass
class Saved:
    """What `save_or_conflict` did: 200 saved (`result` is the service's answer),
    422 refused (`loose`: the messages that have no field), 409 stale."""

    status: int
    result: Any = None
    loose: list[str] = field(default_factory=list)
    current: Any = None

    @property
    def ok(self) -> bool:
        return self.status == 200

    @property
    def conflict(self) -> bool:
        return self.status == 409


def save_or_conflict(
    save: Callable[[], Any],
    form=None,
    *,
    sent_version: Any = None,
    current_version: Any = None,
    loose_fields: tuple[str, ...] = (),
    on_first_field: bool = False,
    renamed: dict[str, str] | None = None,
    session=None,
) -> Saved:
    """Check the version the form was loaded with (when `current_version` is given), call
    `save` (the service), then commit; on `Invalid` or a stale write, roll back — errors go
    on `form`'s fields."""
    session = session if session is not None else db.session
    if current_version is not None and str(sent_version or "") != str(current_version):
        return Saved(409)
    try:
        result = save()
        session.commit()
    except Invalid as invalid:
        session.rollback()
        if form is None:
            return Saved(422, loose=invalid.messages)
        loose = attach_errors(
            form,
            invalid,
            loose_fields=loose_fields,
            on_first_field=on_first_field,
            renamed=renamed,
        )
        return Saved(422, loose=loose)
    except Conflict as conflict:
        session.rollback()
        return Saved(409, current=conflict.current)
    except StaleDataError:
        session.rollback()
        return Saved(409)
    return Saved(200, result)
