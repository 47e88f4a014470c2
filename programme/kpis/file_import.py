"""The steps every file import screen shares (measurements, customer feedback): receive the
file, say which status a refused one gets, and map its columns — chosen on the mapping form,
else remembered for the source when they fit the file, else guessed from its headers — before
the domain previews and confirms (a background job for measurements, a dry run for feedback).

A domain describes its columns once (`ColumnRules`); the steps are the same for both."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from programme.kpis.importing import ALLOWED_EXTENSIONS, FileRejected


@dataclass(frozen=True)
class Mapping:
    """Which column of the file holds which field (`layout`: the file's shape, when the
    domain has several)."""

    columns: dict[str, Any] = field(default_factory=dict)
    layout: str | None = None


@dataclass(frozen=True)
class ColumnRules:
    """A domain's columns: guessed from the headers (None: a person must map them), what is
    wrong with a mapping for a file (messages), and the mapping remembered per source."""

    guess: Callable[[Session, list[str]], Mapping | None]
    problems: Callable[[Mapping, list[str]], list[str]]
    remembered: Callable[[Session, str], Mapping | None]
    remember: Callable[[Session, str, Mapping], None]


def read_upload(storage, limit: int) -> tuple[str, bytes]:
    """The uploaded file's name and bytes, read up to one byte past `limit` (so the caller
    tells a file over the limit without reading all of it)."""
    return storage.filename or "", storage.read(limit + 1)


def refused_status(rejected: FileRejected, filename: str) -> int:
    """413 for a file too large to read, 415 for a kind of file we do not read, else 422."""
    if rejected.status:
        return rejected.status
    return 415 if not filename.lower().endswith(ALLOWED_EXTENSIONS) else 422


def find_mapping(rules: ColumnRules, session: Session, source: str, names: list[str]):
    """The source's remembered mapping when it fits the file, else the guess (or None)."""
    remembered = rules.remembered(session, source)
    if remembered is not None and not rules.problems(remembered, names):
        return remembered
    return rules.guess(session, names)


def chosen_columns(values, keys: Iterable[str], names: list[str], prefix: str = "col_") -> dict:
    """key → the file's column chosen on the mapping form (`<prefix><key>`); a choice that is
    not a column of the file counts as none."""
    chosen = {key: values.get(f"{prefix}{key}", "") for key in keys}
    return {key: name for key, name in chosen.items() if name and name in names}


def mapped_on_form(values, keys: Iterable[str], prefix: str = "col_") -> bool:
    """Whether the request comes from the mapping form (any of its choices sent)."""
    return any(f"{prefix}{key}" in values for key in keys)
