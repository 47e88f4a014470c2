"""Words applied when they are shown, not when they are computed.

Cached results (report sections, deployment impact; see `programme.reports.cache`) are
shared by every reader whatever their language, so they hold no finished sentence: they
hold `Words`, a message id with its parameters, worded in the reader's language when the
page is rendered (`str()` / Jinja's `{{ }}`), exactly as `gettext` / `ngettext` would have
worded it then. Numbers and dates in a message are formatted at that moment too
(`decimal`, `date`, `later`), so a French page reads "1 234,5" and an English one
"1,234.5" from the same cached entry.

Use it like the gettext functions (`words.lazy_gettext("…", name=value)`,
`words.ngettext("…", "…", n)`): the message extractor picks the ids up under those names.
A `Words` compares equal to the text it shows in the current language and offers the
`str` methods, so code and tests that read it as text keep working. It pickles as plain
data (message ids, parameters, numbers, dates)."""

from __future__ import annotations

from datetime import date as Date
from typing import Any

from markupsafe import escape

from programme.web.wording import french_subject, sentence_start


class Words:
    """A message worded on demand (see the module docstring)."""

    __slots__ = ("msgid", "plural", "num", "params")

    def __init__(
        self,
        msgid: str,
        plural: str | None = None,
        num: int | None = None,
        params: dict[str, Any] | None = None,
    ):
        self.msgid = msgid
        self.plural = plural
        self.num = num
        self.params = params or {}

    def __str__(self) -> str:
        from flask_babel import gettext, ngettext

        params = {k: _text(v) for k, v in self.params.items()}
        if self.plural is not None:
            return ngettext(self.msgid, self.plural, self.num, **params)
        return gettext(self.msgid, **params)

    def __html__(self) -> str:
        return str(escape(str(self)))

    def __reduce__(self):
        return (Words, (self.msgid, self.plural, self.num, self.params))

    def __repr__(self) -> str:
        return f"Words({self.msgid!r}, {self.params!r})"

    # --- read as the text it shows -------------------------------------------------------

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Later):
            return str(self) == str(other)
        if isinstance(other, Words):
            return (self.msgid, self.plural, self.num, self.params) == (
                other.msgid,
                other.plural,
                other.num,
                other.params,
            )
        if isinstance(other, str):
            return str(self) == other
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self.msgid, self.plural, self.num))

    def __lt__(self, other: Any) -> bool:
        return str(self) < str(other)

    def __len__(self) -> int:
        return len(str(self))

    def __bool__(self) -> bool:
        return bool(self.msgid)

    def __contains__(self, part: str) -> bool:
        return part in str(self)

    def __add__(self, other: Any) -> str:
        return str(self) + str(other)

    def __radd__(self, other: Any) -> str:
        return str(other) + str(self)

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(str(self), name)  # startswith, lower, split…


class Later(Words):
    """`function(*args)` called when shown: a number, a date or a list of words joined.
    `function` must be importable by name (a module-level function) to be cached."""

    __slots__ = ("function", "args")

    def __init__(self, function, *args):
        super().__init__("")
        self.function = function
        self.args = args

    def __str__(self) -> str:
        return str(self.function(*self.args))

    def __reduce__(self):
        return (_later, (self.function, self.args))

    def __repr__(self) -> str:
        return f"Later({getattr(self.function, '__name__', self.function)}, {self.args!r})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Later):
            return (self.function, self.args) == (other.function, other.args)
        if isinstance(other, (str, Words)):
            return str(self) == str(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.args)

    def __bool__(self) -> bool:
        return True


def _later(function, args) -> Later:
    return Later(function, *args)


def _text(value: Any) -> Any:
    return str(value) if isinstance(value, Words) else value


def lazy_gettext(msgid: str, **params: Any) -> Words:
    return Words(msgid, params=params)


def ngettext(singular: str, plural: str, num: int, **params: Any) -> Words:
    return Words(singular, plural, int(num), params)


def later(function, *args) -> Later:
    return Later(function, *args)


def _format_decimal(value, pattern):
    from flask_babel import format_decimal

    return format_decimal(value) if pattern is None else format_decimal(value, format=pattern)


def _format_date(value, pattern):
    from flask_babel import format_date

    return format_date(value) if pattern is None else format_date(value, pattern)


def _join(parts, separator):
    return separator.join(str(p) for p in parts)


def decimal(value: float | int, format: str | None = None) -> Later:  # noqa: A002
    """`flask_babel.format_decimal(value, format=format)`, in the reader's locale."""
    return Later(_format_decimal, value, format)


def date(value: Date, format: str | None = None) -> Later:  # noqa: A002
    """`flask_babel.format_date(value)`, in the reader's locale."""
    return Later(_format_date, value, format)


def join(parts: list, separator: str = " ") -> Later:
    """`separator.join(parts)`, each part worded when shown."""
    return Later(_join, tuple(parts), separator)


def text(value: Any) -> Any:
    """`value` as finished text when it is `Words` (for JSON, spreadsheets, charts)."""
    return _text(value)


def _in_language(french: str, english: str) -> str:
    from flask_babel import get_locale

    return french if str(get_locale() or "fr").startswith("fr") else english


def kpi_name(kpi) -> Later:
    """A KPI's name in the reader's language (as `Kpi.name`), chosen when shown."""
    return Later(_in_language, kpi.name_fr, kpi.name_en)


def _subject(code: str, name_fr: str, name_en: str, kind: str) -> str:
    return _in_language(sentence_start(french_subject(code, name_fr, kind)), name_en)


def kpi_subject(kpi) -> Later:
    """A KPI's name at the start of a sentence, chosen when shown: in French with its
    article ("Le temps d'attente", `programme.web.wording`), in English its name."""
    return Later(_subject, kpi.code, kpi.name_fr, kpi.name_en, kpi.kind)
