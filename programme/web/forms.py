"""Form helpers shared by every domain."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

# The first option of a list the user must choose from: nothing is chosen for them, so a
# form sent without a choice is refused with a message instead of saving the first value.
BLANK_LABEL = _l("— Choose —")


def optional_int(value):
    """`coerce` for a SelectField of numbers with a blank first choice: "" → None."""
    if value is None or value == "":
        return None
    return int(value)
