"""The one error shape every service raises; views and the API translate it once.

- `FieldError(field, message, row=None)`: one refusal, tied to a field (and a row of a file
  or a list when there is one). `field` may be empty when the refusal is about the whole.
- `Invalid(errors)`: nothing was written; the errors say why.
- `Conflict(current)`: a stale save (someone changed the record since it was loaded);
  `current` is the record as it is now.

`web/forms.py` puts them on forms (`attach_errors`, `save_or_conflict`); the API answers
`Invalid` with its 422 shape in `api/base.py` (its `Invalid` error handler).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


@dataclass
class FieldError:
    field: str
    message: str
    row: int | None = None  # file line number (header = 1) or list index

    def as_dict(self, row_key: str = "row") -> dict[str, Any]:
        return {row_key: self.row, "field": self.field, "message": self.message}


class Invalid(ValueError):
    """Nothing was written: `errors` says what is wrong, field by field."""

    def __init__(self, errors: Iterable[FieldError]):
        self.errors = list(errors)
        super().__init__("; ".join(e.message for e in self.errors))

    @classmethod
    def on(cls, field: str, message: str, row: int | None = None) -> Invalid:
        """One refusal about one field."""
        return cls([FieldError(field, message, row)])

    @classmethod
    def from_fields(cls, errors: dict[str, list[str]]) -> Invalid:
        """From a field → messages mapping (the order of the mapping is kept)."""
        return cls(FieldError(k, m) for k, ms in errors.items() for m in ms)

    @property
    def by_field(self) -> dict[str, list[str]]:
        """Messages grouped by field, in the order they were found."""
        found: dict[str, list[str]] = {}
        for error in self.errors:
            found.setdefault(error.field, []).append(error.message)
        return found

    @property
    def messages(self) -> list[str]:
        return [e.message for e in self.errors]


class Conflict(Exception):
    """A stale save: someone changed the record since the form was loaded."""

    def __init__(self, current: Any = None):
        super().__init__("stale")
        self.current = current
