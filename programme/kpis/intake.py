"""The one intake pipeline for measurements: form cell, CSV/XLSX file and API alike.

    parse → validate every row → report every error with its row/index and field
          → write everything or nothing → update the weekly rollups → audit summary

Rows arrive as pandas DataFrames of text (`line`, `site`, `kpi`, `date`, `value`, `n`,
optional `source`, `reason`), in chunks, so a million-row file never sits in memory.
Validation is vectorised per chunk. Valid rows go to a temporary staging table (COPY on
PostgreSQL, executemany on SQLite), and their sums per site, KPI and week to a second one;
duplicates inside the batch are found across chunks with one sort of 64-bit keys. Only when
no row is wrong does the pipeline write, with a handful of set-based statements in the
caller's transaction:

1. superseded values → `measurement_revision` (their source, who entered them, who
   replaced them, why);
2. rollup deltas (new rows, and new − old for corrections) → `kpi_rollup_week` upsert;
   when none of the batch's rows exists yet, the deltas are the staged weekly sums;
3. corrections → `UPDATE measurement ... FROM staging`;
4. new rows → `INSERT INTO measurement SELECT ... FROM staging WHERE NOT EXISTS`;
5. one audit summary event.

A measurement is one site, KPI and date, whatever the source (grid, file, API). For each
incoming row:

- the same value and n as the current one: unchanged;
- exactly what the same source sent last for that key, even if another source has
  corrected it since (its newest entry in the history): unchanged, so re-sending a feed
  never flips a correction back;
- anything else: a correction. The new value counts; the previous one goes to the history
  with its source, who, when and why.
The caller owns the transaction (commit on success; on IntakeRejected, roll back).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd
from flask_babel import gettext as _
from sqlalchemy import DateTime, Integer, String, bindparam, select, text
from sqlalchemy.orm import Session

from programme.audit import _actor, acting_as, current_actor, record_event
from programme.database import utcnow
from programme.errors import FieldError, Invalid
from programme.kpis.models import Kpi

FIELDS = ("site", "kpi", "date", "value", "n", "source", "reason")
MAX_REPORTED_ERRORS = 1000  # every error is counted; the first thousand are listed
STAGING = "kpi_intake_staging"
# Concurrent writers lock sites in this many buckets (PostgreSQL advisory locks, one key
# space for the intake): enough for writers of different sites to run side by side, few
# enough to stay far below the server's lock table.
SITE_LOCK_BUCKETS = 64
SITE_LOCK_SPACE = 7341
# Each staged row's source and reason, as a number into this small table: a text column
# staged per row cost more than the validation of the row.
TAG_STAGING = "kpi_intake_tag"
# The staged rows' sums per site, KPI and ISO week, chunk by chunk: a batch of new rows
# updates the weekly rollups from these (a seventh of the rows) instead of grouping them all.
WEEK_STAGING = "kpi_intake_week"
# The same DDL on both databases (SQLite reads "double precision" as REAL).
_STAGING_COLUMNS = {
    STAGING: "site_id integer, kpi_id integer, day date, value double precision, n integer, "
    "tag integer",
    TAG_STAGING: "tag integer PRIMARY KEY, source varchar(120), reason varchar(500)",
    WEEK_STAGING: "site_id integer, kpi_id integer, week date, sum_vn double precision, "
    "sum_n bigint, count integer, sum_v double precision, sum_v2 double precision",
}
# SQLite page cache (KiB) for the connection while it imports: the default 2 MB makes every
# index insertion of a large import a page-cache miss (2-3x slower); restored afterwards.
SQLITE_IMPORT_CACHE_KIB = 65_536
_FORMULA = r"^\s*(?:[=@]|[+\-][^\d.\s])"


@dataclass
class IntakeError(FieldError):
    """A refused row; `row` is the file line (header = 1), list index (API) or cell."""

    permission: bool = False
    column: str | None = None  # the file's column, when it differs per row (wide layout)

    def as_dict(self, key: str = "row") -> dict[str, Any]:
        data = super().as_dict(key)
        if self.column:
            data["column"] = self.column
        return data


class IntakeRejected(Invalid):
    """Some rows are wrong: nothing was written (`errors` lists the first ones, `total`
    counts them all)."""

    def __init__(self, errors: list[IntakeError], total: int):
        super().__init__(errors)
        self.total = total

    def __str__(self) -> str:
        return f"{self.total} error(s)"

    @property
    def permission_only(self) -> bool:
        return any(e.permission for e in self.errors)


@dataclass
class IntakeResult:
    rows: int = 0
    created: int = 0
    corrected: int = 0
    unchanged: int = 0

    def as_dict(self) -> dict[str, int]:
        return {
            "rows": self.rows,
            "created": self.created,
            "corrected": self.corrected,
            "unchanged": self.unchanged,
        }


@dataclass
class KpiRule:
    id: int
    code: str
    kind: str
    min_value: float
    max_value: float
    period: str


@dataclass
class Catalogue:
    """What validation needs, loaded once per batch."""

    sites: dict[str, int]
    kpis: dict[str, KpiRule]
    writable: set[int] | None  # None: every site
    today: date

    @classmethod
    def load(cls, session: Session, user, today: date | None = None) -> Catalogue:
        from programme.kpis.access import writable_site_ids
        from programme.network.models import Site

        sites = dict(session.execute(select(Site.code, Site.id)).all())
        kpis = {
            k.code: KpiRule(k.id, k.code, k.kind, k.min_value, k.max_value, k.period)
            for k in session.scalars(select(Kpi).where(Kpi.active.is_(True)))
        }
        return cls(
            sites={code.upper(): ident for code, ident in sites.items()},
            kpis=kpis,
            writable=writable_site_ids(session, user),
            today=today or date.today(),
        )


@dataclass
class _Errors:
    listed: list[IntakeError] = field(default_factory=list)
    total: int = 0

    def add(
        self,
        row: int,
        field_name: str,
        message: str,
        permission: bool = False,
        column: str | None = None,
    ) -> None:
        self.total += 1
        if len(self.listed) < MAX_REPORTED_ERRORS:
            self.listed.append(IntakeError(field_name, message, int(row), permission, column))


def _text(series: pd.Series) -> pd.Series:
    return series.fillna("").astype(str).str.strip()


def _distinct(cells: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(position of each cell's value in `distinct`, distinct values)."""
    inverse, distinct = pd.factorize(cells.to_numpy(dtype=object))
    return inverse, np.asarray(distinct, dtype=object)


def _csv_quote(value: str | None) -> str:
    """A text field for COPY ... (FORMAT csv, NULL '\\N'): None is the unquoted \\N."""
    if value is None:
        return "\\N"
    return '"' + value.replace('"', '""') + '"'


def _same(value: Any) -> Any:
    return value


def _parse_dates(raw: pd.Series) -> pd.Series:
    """ISO dates (2024-03-31, also with a time of 00:00:00 as spreadsheets write them),
    else day-first French dates (31/03/2024)."""
    cleaned = raw.str.replace(r"[ T]00:00(:00(\.0+)?)?$", "", regex=True)
    parsed = pd.to_datetime(cleaned, format="%Y-%m-%d", errors="coerce")
    missing = parsed.isna() & (cleaned != "")
    if missing.any():
        parsed[missing] = pd.to_datetime(cleaned[missing], format="%d/%m/%Y", errors="coerce")
    return parsed


def _parse_numbers(raw: pd.Series) -> pd.Series:
    """Numbers with a decimal point or a decimal comma (7,5); spaces as thousand separators."""
    cleaned = raw.str.replace("\u202f", "", regex=False).str.replace("\xa0", "", regex=False)
    cleaned = cleaned.str.replace(" ", "", regex=False)
    comma = cleaned.str.contains(",", regex=False) & ~cleaned.str.contains(".", regex=False)
    cleaned = cleaned.where(~comma, cleaned.str.replace(",", ".", regex=False))
    return pd.to_numeric(cleaned, errors="coerce")


class Batch:
    """Validates chunks and stages the valid rows; `write()` applies them."""

    def __init__(
        self,
        session: Session,
        catalogue: Catalogue,
        *,
        default_source: str,
        reason: str | None = None,
    ):
        self.session = session
        self.catalogue = catalogue
        self.default_source = default_source[:120]
        self.reason = reason[:500] if reason else None
        self.errors = _Errors()
        self.rows = 0
        self._keys: list[np.ndarray] = []
        self._lines: list[np.ndarray] = []
        self._tags: dict[tuple[str, str | None], int] = {}
        self._tags_staged = False
        self._dialect = session.get_bind().dialect.name
        self._saved_cache: list[tuple[str, int]] = []
        self._create_staging()

    # --- staging ---------------------------------------------------------------------------

    def _create_staging(self) -> None:
        conn = self.session.connection()
        postgres = self._dialect == "postgresql"
        for table, columns in _STAGING_COLUMNS.items():
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS {self._temp(table)}")
            conn.exec_driver_sql(
                f"CREATE TEMP TABLE {table} ({columns}){' ON COMMIT DROP' if postgres else ''}"
            )
        if not postgres:
            for schema in ("main", "temp"):
                size = conn.exec_driver_sql(f"PRAGMA {schema}.cache_size").scalar()
                self._saved_cache.append((schema, int(size)))
                conn.exec_driver_sql(f"PRAGMA {schema}.cache_size = -{SQLITE_IMPORT_CACHE_KIB}")

    def _temp(self, table: str) -> str:
        """A temporary table's name as statements write it (SQLite: in the temp schema)."""
        return table if self._dialect == "postgresql" else f"temp.{table}"

    def drop_staging(self) -> None:
        conn = self.session.connection()
        for table in (STAGING, TAG_STAGING, WEEK_STAGING):
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS {self._temp(table)}")
        self.restore_settings()

    def restore_settings(self) -> None:
        """Give the pooled connection back with its usual page cache."""
        while self._saved_cache:
            schema, size = self._saved_cache.pop()
            self.session.connection().exec_driver_sql(f"PRAGMA {schema}.cache_size = {size}")

    def _stage(self, table: str, columns: dict[str, list]) -> None:
        """Columns as lists of Python values (text columns: shared str objects, already
        quoted for COPY on PostgreSQL; numbers: int or float)."""
        raw = self.session.connection().connection.driver_connection
        names = ", ".join(columns)
        if self._dialect == "postgresql":
            # CSV built with str.join: pandas' to_csv took longer than the COPY itself.
            text_columns = [
                values if values and isinstance(values[0], str) else list(map(repr, values))
                for values in columns.values()
            ]
            body = "\n".join(map(",".join, zip(*text_columns, strict=True))) + "\n"
            with (
                raw.cursor() as cursor,
                cursor.copy(
                    f"COPY {table} ({names}) FROM STDIN WITH (FORMAT csv, NULL '\\N')"
                ) as copy,
            ):
                copy.write(body)
        else:
            cursor = raw.cursor()
            cursor.executemany(
                f"INSERT INTO {self._temp(table)} ({names}) "
                f"VALUES ({', '.join('?' * len(columns))})",
                zip(*columns.values(), strict=True),
            )
            cursor.close()

    # --- validation ------------------------------------------------------------------------

    def add(self, chunk: pd.DataFrame) -> None:
        """Validate one chunk (columns: line + FIELDS as text) and stage its valid rows.

        Each column is parsed on a fast vectorised path first; only the cells that fail
        it get the slower clean-up (spaces, case, decimal commas, French dates) and, if
        still wrong, an error message. Every wrong field of every row is reported."""
        if chunk.empty:
            return
        cat = self.catalogue
        errors = self.errors
        size = len(chunk)
        self.rows += size
        chunk = chunk.reset_index(drop=True)
        lines = chunk["line"].to_numpy(dtype=np.int64)
        bad = np.zeros(size, dtype=bool)
        field_bad = {name: np.zeros(size, dtype=bool) for name in FIELDS}
        per_row_column = {
            name: chunk[f"{name}_column"].to_numpy()
            for name in ("value", "n")
            if f"{name}_column" in chunk
        }

        def column(name: str) -> pd.Series:
            if name not in chunk:
                return pd.Series([""] * size, dtype=object)
            return chunk[name].fillna("").astype(str)

        def report(mask, field_name, message, permission=False):
            mask = np.asarray(mask, dtype=bool) & ~field_bad[field_name]
            if not mask.any():
                return
            positions = np.flatnonzero(mask)
            for count, position in enumerate(positions):
                if len(errors.listed) >= MAX_REPORTED_ERRORS:
                    errors.total += len(positions) - count
                    break
                where = per_row_column.get(field_name)
                errors.add(
                    lines[position],
                    field_name,
                    message(position) if callable(message) else message,
                    permission,
                    str(where[position]) if where is not None else None,
                )
            field_bad[field_name] |= mask
            bad[mask] = True

        def formulas(raw: pd.Series, failed: np.ndarray, field_name: str) -> None:
            """Cells that failed to parse and look like a spreadsheet formula."""
            if failed.any():
                sub = raw[failed]
                hit = sub.str.contains(_FORMULA, regex=True).to_numpy()
                mask = np.zeros(size, dtype=bool)
                mask[np.flatnonzero(failed)[hit]] = True
                report(mask, field_name, _("Formulas are not accepted: enter the value itself."))

        def codes(name: str, table: dict) -> tuple[pd.Series, np.ndarray, np.ndarray, np.ndarray]:
            """(raw, cleaned codes, ids (NaN: unknown), empty) per row, looked up once per
            distinct cell: a file repeats the same few codes over and over."""
            raw = column(name)
            inverse, uniques = _distinct(raw)
            cleaned = np.empty(len(uniques), dtype=object)
            found = np.full(len(uniques), np.nan)
            for position, cell in enumerate(uniques):
                code = cell if cell in table else cell.strip().upper()
                cleaned[position] = code
                found[position] = table.get(code, np.nan)
            empty = np.array([code == "" for code in cleaned], dtype=bool)
            return raw, cleaned[inverse], found[inverse], empty[inverse]

        # site
        raw_site, site_codes, site_ids, empty = codes("site", cat.sites)
        report(empty, "site", _("This value is required."))
        missing = np.isnan(site_ids) & ~empty
        formulas(raw_site, missing, "site")
        report(
            missing,
            "site",
            lambda i: _("Unknown site code “%(code)s”.", code=site_codes[i]),
        )
        if cat.writable is not None:
            denied = ~np.isnan(site_ids) & ~np.isin(site_ids, list(cat.writable))
            report(
                denied,
                "site",
                lambda i: _(
                    "You may not enter measurements for site %(code)s.", code=site_codes[i]
                ),
                permission=True,
            )

        # KPI
        kpis = cat.kpis
        raw_kpi, kpi_codes, kpi_ids, empty = codes("kpi", {c: r.id for c, r in kpis.items()})
        report(empty, "kpi", _("This value is required."))
        unknown = np.isnan(kpi_ids) & ~empty
        formulas(raw_kpi, unknown, "kpi")
        report(
            unknown,
            "kpi",
            lambda i: _(
                "Unknown KPI code “%(code)s”; expected one of: %(codes)s.",
                code=kpi_codes[i],
                codes=", ".join(sorted(kpis)),
            ),
        )
        rules = sorted(kpis.values(), key=lambda r: r.id)
        rule_ids = np.array([r.id for r in rules], dtype=float)
        known = ~np.isnan(kpi_ids)
        which = np.searchsorted(rule_ids, np.where(known, kpi_ids, rule_ids[0]))
        low = np.where(known, np.array([r.min_value for r in rules], dtype=float)[which], np.nan)
        high = np.where(known, np.array([r.max_value for r in rules], dtype=float)[which], np.nan)
        is_rate = known & np.array([r.kind == "rate" for r in rules], dtype=bool)[which]
        is_count = known & np.array([r.kind == "count" for r in rules], dtype=bool)[which]
        weekly = known & np.array([r.period == "week" for r in rules], dtype=bool)[which]

        # date: parsed once per distinct cell (a file has a few hundred distinct dates)
        raw_date = column("date")
        date_inverse, date_cells = _distinct(raw_date)
        distinct_dates = pd.Series(
            pd.to_datetime(pd.Series(date_cells, dtype=object), format="%Y-%m-%d", errors="coerce")
        )
        failed = distinct_dates.isna().to_numpy()
        stripped = pd.Series(date_cells, dtype=object).str.strip()
        if failed.any():
            distinct_dates[failed] = _parse_dates(stripped[failed])
        empty = (failed & (stripped == "").to_numpy())[date_inverse]
        dates = pd.Series(distinct_dates.to_numpy()[date_inverse])
        report(empty, "date", _("This value is required."))
        unreadable = dates.isna().to_numpy() & ~empty
        formulas(raw_date, unreadable, "date")
        report(
            unreadable,
            "date",
            _("Unreadable date: use YYYY-MM-DD (e.g. 2025-03-31) or DD/MM/YYYY."),
        )
        day_numbers = dates.to_numpy().astype("datetime64[D]").astype(np.int64)
        valid_date = ~dates.isna().to_numpy()
        report(
            valid_date & (day_numbers > np.datetime64(cat.today, "D").astype(np.int64)),
            "date",
            _("This date is in the future."),
        )
        report(
            valid_date & (day_numbers < np.datetime64("2000-01-01", "D").astype(np.int64)),
            "date",
            _("This date is before 2000."),
        )
        weekday = (day_numbers + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
        report(
            valid_date & known & weekly & (weekday != 0),
            "date",
            _("This KPI is measured weekly: give the Monday of the week."),
        )

        # value and n
        def numbers(name: str) -> tuple[pd.Series, np.ndarray, np.ndarray]:
            raw = column(name)
            parsed = pd.to_numeric(raw, errors="coerce").astype(float)
            failed = parsed.isna().to_numpy()
            empty = np.zeros(size, dtype=bool)
            if failed.any():
                sub = raw[failed].str.strip()
                parsed[failed] = _parse_numbers(sub).to_numpy()
                empty[np.flatnonzero(failed)] = (sub == "").to_numpy()
            unreadable = parsed.isna().to_numpy() & ~empty
            formulas(raw, unreadable, name)
            return parsed.to_numpy(), empty, unreadable

        values, empty, unreadable = numbers("value")
        report(empty, "value", _("This value is required."))
        report(unreadable, "value", _("Not a number."))
        finite = ~np.isnan(values) & known
        report(
            finite & is_rate & ((values < 0) | (values > 1)),
            "value",
            _("A rate is between 0 and 1 (e.g. 0.42 for 42 %)."),
        )
        report(
            finite & is_count & ((values < 0) | (values != np.floor(values))),
            "value",
            _("A count is a whole number, 0 or more (e.g. 1250 contacts)."),
        )
        report(
            finite & ((values < low) | (values > high)),
            "value",
            lambda i: _(
                "Outside the valid range of %(code)s (%(low)s to %(high)s).",
                code=kpi_codes[i],
                low=f"{low[i]:g}",
                high=f"{high[i]:g}",
            ),
        )
        counts, empty, unreadable = numbers("n")
        # a count (volume) is its own sample: n defaults to 1 when left empty
        counts = np.where(empty & is_count, 1.0, counts)
        empty = empty & ~is_count
        report(empty, "n", _("The sample size n is required."))
        present = ~np.isnan(counts)
        report(
            unreadable | (present & (np.mod(counts, 1, where=present, out=np.zeros(size)) != 0)),
            "n",
            _("n must be a whole number (customers or contacts behind the value)."),
        )
        report(present & (counts <= 0), "n", _("n must be at least 1."))
        report(present & (counts > 2_000_000_000), "n", _("n is too large."))

        # source and reason (optional)
        # (checked once per distinct cell)
        if "source" in chunk:
            source_inverse, source_cells = _distinct(column("source"))
            distinct_sources = [cell.strip() or self.default_source for cell in source_cells]
            too_long = np.array([len(cell) > 120 for cell in distinct_sources], dtype=bool)
            report(too_long[source_inverse], "source", _("At most 120 characters."))
            formula = np.array(
                [re.search(_FORMULA, cell) is not None for cell in distinct_sources], dtype=bool
            )
            report(
                formula[source_inverse],
                "source",
                _("Formulas are not accepted: enter the value itself."),
            )
        else:
            source_inverse, distinct_sources = np.zeros(size, dtype=np.int64), [self.default_source]
        if "reason" in chunk:
            reason_inverse, reason_cells = _distinct(column("reason"))
            distinct_reasons = [cell.strip() or self.reason for cell in reason_cells]
            too_long = np.array([len(cell or "") > 500 for cell in distinct_reasons], dtype=bool)
            report(too_long[reason_inverse], "reason", _("At most 500 characters."))
        else:
            reason_inverse, distinct_reasons = np.zeros(size, dtype=np.int64), [self.reason]

        good = ~bad
        if not good.any():
            return
        days = day_numbers[good]
        site_column = site_ids[good].astype(np.int64)
        kpi_column = kpi_ids[good].astype(np.int64)
        # in-batch duplicates: site, KPI and day (whatever the source) in one 63-bit key
        key = ((kpi_column << 27) | site_column) << 20 | (
            days + 40_000
        )  # kpi < 2^16, site < 2^27, day < 2^20: fits in 63 bits
        self._keys.append(key)
        self._lines.append(lines[good])
        # Dates as shared str objects, one per distinct day.
        day_inverse, distinct_days = pd.factorize(days)
        day_text = distinct_days.astype("datetime64[D]").astype(str).astype(object)
        # (source, reason) pairs → tag numbers
        pairs = source_inverse[good] * len(distinct_reasons) + reason_inverse[good]
        pair_inverse, distinct_pairs = pd.factorize(pairs)
        pair_tags = np.array(
            [
                self._tag(
                    distinct_sources[pair // len(distinct_reasons)],
                    distinct_reasons[pair % len(distinct_reasons)] or None,
                )
                for pair in distinct_pairs
            ],
            dtype=np.int64,
        )
        good_values, good_counts = values[good], counts[good].astype(np.int64)
        self._stage(
            STAGING,
            {
                "site_id": site_column.tolist(),
                "kpi_id": kpi_column.tolist(),
                "day": day_text[day_inverse].tolist(),
                "value": good_values.tolist(),
                "n": good_counts.tolist(),
                "tag": pair_tags[pair_inverse].tolist(),
            },
        )
        self._stage_weeks(site_column, kpi_column, days, good_values, good_counts)

    def _stage_weeks(
        self,
        sites: np.ndarray,
        kpis: np.ndarray,
        days: np.ndarray,
        values: np.ndarray,
        counts: np.ndarray,
    ) -> None:
        """The chunk's sums per site, KPI and ISO week (Σ value·n, Σ n, count, Σ value,
        Σ value²): what its rows add to the weekly rollups if none of them exists yet."""
        weeks = days - (days + 3) % 7
        key = ((kpis << 27) | sites) << 20 | (weeks + 40_000)
        groups, inverse = np.unique(key, return_inverse=True)
        size = len(groups)

        def total(weights: np.ndarray) -> list[float]:
            return np.bincount(inverse, weights=weights, minlength=size).tolist()

        week_numbers = (groups & ((1 << 20) - 1)) - 40_000
        week_text = week_numbers.astype("datetime64[D]").astype(str).astype(object)
        self._stage(
            WEEK_STAGING,
            {
                "site_id": ((groups >> 20) & ((1 << 27) - 1)).tolist(),
                "kpi_id": (groups >> 47).tolist(),
                "week": week_text.tolist(),
                "sum_vn": total(values * counts),
                "sum_n": np.bincount(inverse, weights=counts, minlength=size)
                .astype(np.int64)
                .tolist(),
                "count": np.bincount(inverse, minlength=size).tolist(),
                "sum_v": total(values),
                "sum_v2": total(values * values),
            },
        )

    def _tag(self, source: str, reason: str | None) -> int:
        tag = self._tags.get((source, reason))
        if tag is None:
            tag = self._tags[(source, reason)] = len(self._tags)
        return tag

    def _stage_tags(self) -> None:
        if self._tags_staged or not self._tags:
            return
        self._tags_staged = True
        quote = _csv_quote if self._dialect == "postgresql" else _same
        pairs = sorted(self._tags.items(), key=lambda item: item[1])
        self._stage(
            TAG_STAGING,
            {
                "tag": [tag for _pair, tag in pairs],
                "source": [quote(source) for (source, _reason), _tag in pairs],
                "reason": [quote(reason) for (_source, reason), _tag in pairs],
            },
        )

    def _check_duplicates(self) -> None:
        if not self._keys:
            return
        keys = np.concatenate(self._keys)
        lines = np.concatenate(self._lines)
        order = np.lexsort((lines, keys))
        keys, lines = keys[order], lines[order]
        same = keys[1:] == keys[:-1]
        if not same.any():
            return
        # the first row of each run of equal keys
        starts = np.flatnonzero(np.r_[True, ~same])
        group_first = np.repeat(lines[starts], np.diff(np.r_[starts, len(lines)]))
        duplicated = np.flatnonzero(np.r_[False, same])
        for index in sorted(duplicated, key=lambda i: lines[i]):
            self.errors.add(
                lines[index],
                "date",
                _(
                    "Same site, KPI and date as row %(other)s: keep one of them.",
                    other=int(group_first[index]),
                ),
            )

    def check(self) -> None:
        """Raise IntakeRejected when any row was wrong (after duplicates are looked for)."""
        self._check_duplicates()
        if self.errors.total:
            listed = sorted(self.errors.listed, key=lambda e: (e.row, FIELDS.index(e.field)))
            raise IntakeRejected(listed, self.errors.total)

    # --- writing ---------------------------------------------------------------------------

    _KEY = "m.site_id = s.site_id AND m.kpi_id = s.kpi_id AND m.period_date = s.day"
    # A staged row changes its measurement when it differs from the current value, unless
    # another source gave the current value and the row is exactly what its own source sent
    # last: that source's newest entry in the history (a few rows per measurement, through
    # the revisions' measurement index). The history is only read for rows that differ
    # and come from another source than the current value, so re-sending a file costs
    # nothing more.
    _CHANGED = (
        "((m.value <> s.value OR m.n <> s.n) AND NOT (m.source <> s.source AND EXISTS ("
        "SELECT 1 FROM measurement_revision r WHERE r.measurement_id = m.id "
        "AND r.source = s.source AND r.value = s.value AND r.n = s.n AND NOT EXISTS ("
        "SELECT 1 FROM measurement_revision l WHERE l.measurement_id = m.id "
        "AND l.source = s.source AND l.revision > r.revision))))"
    )

    def _staged_rows(self) -> str:
        """The staged rows with their source, reason and ISO week: a derived table that the
        databases flatten into each statement's join. Stages the tag table on first use."""
        self._stage_tags()
        rows, tags = self._temp(STAGING), self._temp(TAG_STAGING)
        if self._dialect == "postgresql":
            week = "(r.day - (EXTRACT(ISODOW FROM r.day)::integer - 1))"
            join = f"{rows} r JOIN {tags} g ON g.tag = r.tag"
        else:
            week = (
                "date(r.day, '-' || ((CAST(strftime('%w', r.day) AS INTEGER) + 6) % 7) || ' days')"
            )
            # CROSS JOIN: SQLite keeps the staged rows as the outer loop, the tag a lookup.
            join = f"{rows} r CROSS JOIN {tags} g ON g.tag = r.tag"
        return (
            f"(SELECT r.site_id, r.kpi_id, r.day, {week} AS week, g.source, r.value, r.n, "
            f"g.reason FROM {join})"
        )

    def preview(self) -> IntakeResult:
        """What `write()` would do, without writing."""
        self.check()
        st = self._staged_rows()
        created, corrected = self.session.execute(
            text(
                f"SELECT COALESCE(SUM(CASE WHEN m.id IS NULL THEN 1 ELSE 0 END), 0), "
                f"COALESCE(SUM(CASE WHEN m.id IS NOT NULL AND {self._CHANGED} THEN 1 ELSE 0 END), 0) "
                f"FROM {st} s LEFT JOIN measurement m ON {self._KEY}"
            )
        ).one()
        created, corrected = int(created), int(corrected)
        return IntakeResult(
            rows=self.rows,
            created=created,
            corrected=corrected,
            unchanged=self.rows - created - corrected,
        )

    def _lock_sites(self) -> None:
        """PostgreSQL: writers of the same sites take turns (a transaction lock per bucket
        of sites, in order). Each statement below then sees what an earlier writer of the
        same key committed, so two batches carrying one key concurrently give a value and
        a correction instead of a unique-key error, and no deadlock. SQLite needs none:
        its write transactions already take turns (BEGIN IMMEDIATE)."""
        buckets = self.session.scalars(
            text(f"SELECT DISTINCT site_id % {SITE_LOCK_BUCKETS} FROM {STAGING} ORDER BY 1")
        ).all()
        for bucket in buckets:
            self.session.execute(
                text("SELECT pg_advisory_xact_lock(:space, :bucket)"),
                {"space": SITE_LOCK_SPACE, "bucket": int(bucket)},
            )

    def write(self, label: str) -> IntakeResult:
        self.check()
        session = self.session
        st = self._staged_rows()
        user_id, actor = current_actor()
        params = {"uid": user_id, "actor": actor[:200], "now": utcnow()}
        typed = [
            bindparam("uid", type_=Integer),
            bindparam("actor", type_=String),
            bindparam("now", type_=DateTime(timezone=True)),
        ]

        def run(sql: str, names=("uid", "actor", "now")):
            stmt = text(sql).bindparams(*[b for b in typed if b.key in names])
            return session.execute(stmt, {k: params[k] for k in names})

        if self._dialect == "postgresql":
            self._lock_sites()
            # A temporary table has no statistics until analysed: without them the joins
            # below are planned for a guess of its size.
            session.execute(text(f"ANALYZE {STAGING}, {TAG_STAGING}"))
        # One pass to learn which statements are needed: a first import has no existing
        # rows (no joins needed), a re-import has nothing to change.
        existing, changed = session.execute(
            text(
                f"SELECT COUNT(*), COALESCE(SUM(CASE WHEN {self._CHANGED} THEN 1 ELSE 0 END), 0) "
                f"FROM {st} s JOIN measurement m ON {self._KEY}"
            )
        ).one()
        existing, changed = int(existing), int(changed)
        new_rows = self.rows - existing
        if changed:
            run(
                "INSERT INTO measurement_revision (measurement_id, revision, source, value, n, "
                "entered_by_id, entered_by, entered_at, replaced_by_id, replaced_by, "
                "replaced_at, reason) "
                "SELECT m.id, m.revision, m.source, m.value, m.n, m.entered_by_id, m.entered_by, "
                f"m.entered_at, :uid, :actor, :now, s.reason FROM {st} s "
                f"JOIN measurement m ON {self._KEY} WHERE {self._CHANGED}"
            )
        if changed or new_rows:
            if existing:
                deltas = (
                    "SELECT s.site_id, s.kpi_id, s.week, "
                    "s.value * s.n - COALESCE(m.value * m.n, 0) AS dvn, "
                    "s.n - COALESCE(m.n, 0) AS dn, "
                    "CASE WHEN m.id IS NULL THEN 1 ELSE 0 END AS dc, "
                    "s.value - COALESCE(m.value, 0) AS dv, "
                    "s.value * s.value - COALESCE(m.value * m.value, 0) AS dv2 "
                    f"FROM {st} s LEFT JOIN measurement m ON {self._KEY} "
                    f"WHERE m.id IS NULL OR {self._CHANGED}"
                )
            else:
                deltas = (
                    "SELECT site_id, kpi_id, week, sum_vn AS dvn, sum_n AS dn, count AS dc, "
                    f"sum_v AS dv, sum_v2 AS dv2 FROM {self._temp(WEEK_STAGING)}"
                )
            session.execute(
                text(
                    "INSERT INTO kpi_rollup_week (site_id, kpi_id, week_start, sum_vn, sum_n, "
                    "count, sum_v, sum_v2) "
                    "SELECT site_id, kpi_id, week, SUM(dvn), SUM(dn), SUM(dc), SUM(dv), "
                    f"SUM(dv2) FROM ({deltas}) AS d "
                    "WHERE true GROUP BY site_id, kpi_id, week "
                    # Rows locked in key order: two batches touching the same weeks
                    # wait for each other instead of deadlocking (PostgreSQL).
                    "ORDER BY site_id, kpi_id, week "
                    "ON CONFLICT (site_id, kpi_id, week_start) DO UPDATE SET "
                    "sum_vn = kpi_rollup_week.sum_vn + excluded.sum_vn, "
                    "sum_n = kpi_rollup_week.sum_n + excluded.sum_n, "
                    "count = kpi_rollup_week.count + excluded.count, "
                    "sum_v = kpi_rollup_week.sum_v + excluded.sum_v, "
                    "sum_v2 = kpi_rollup_week.sum_v2 + excluded.sum_v2"
                )
            )
        corrected = created = 0
        if changed:
            key = self._KEY.replace("m.", "measurement.")
            changes = self._CHANGED.replace("m.", "measurement.")
            corrected = run(
                "UPDATE measurement SET value = s.value, n = s.n, source = s.source, "
                "revision = measurement.revision + 1, "
                "entered_by_id = :uid, entered_by = :actor, entered_at = :now "
                f"FROM {st} s WHERE {key} AND {changes}"
            ).rowcount
        if new_rows:
            missing = (
                f" WHERE NOT EXISTS (SELECT 1 FROM measurement m WHERE {self._KEY})"
                if existing
                else ""
            )
            created = run(
                "INSERT INTO measurement (site_id, kpi_id, period_date, source, value, n, "
                "revision, entered_by_id, entered_by, entered_at) "
                "SELECT s.site_id, s.kpi_id, s.day, s.source, s.value, s.n, 1, :uid, :actor, :now "
                f"FROM {st} s{missing}"
            ).rowcount
        result = IntakeResult(
            rows=self.rows,
            created=created,
            corrected=corrected,
            unchanged=self.rows - created - corrected,
        )
        self.drop_staging()
        if created or corrected:
            record_event(
                session,
                "measurement",
                "import",
                f"{label}: {created} created, {corrected} corrected, {result.unchanged} unchanged",
                changes=result.as_dict(),
            )
        return result


def ingest(
    session: Session,
    user,
    chunks: Iterable[pd.DataFrame],
    *,
    default_source: str,
    label: str | None = None,
    reason: str | None = None,
    dry_run: bool = False,
    today: date | None = None,
    progress: Callable[[int], None] | None = None,
) -> IntakeResult:
    """Validate every row of `chunks`, then write all of them (or, dry_run, count what
    would happen). Raises IntakeRejected with every error; nothing is written then."""
    catalogue = Catalogue.load(session, user, today)
    batch = Batch(session, catalogue, default_source=default_source, reason=reason)
    # Attribute the rows to `user` unless the caller named an actor (jobs, API, CLI).
    explicit = _actor.get() is not None or not getattr(user, "email", None)
    with nullcontext() if explicit else acting_as(user.email, user.id):
        try:
            for chunk in chunks:
                batch.add(chunk)
                if progress:
                    progress(batch.rows)
            if dry_run:
                return batch.preview()
            return batch.write(label or default_source)
        finally:
            if dry_run or batch.errors.total:
                batch.drop_staging()
            batch.restore_settings()


def records_frame(items: list[dict[str, Any]], start: int = 0) -> pd.DataFrame:
    """A chunk from a list of dicts (API items, form cells); `line` is the index."""
    frame = pd.DataFrame(
        {
            name: [_as_text(item.get(name)) if isinstance(item, dict) else "" for item in items]
            for name in FIELDS
        }
    )
    frame.insert(0, "line", np.arange(start, start + len(items), dtype=np.int64))
    return frame


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "not-a-number"
    if isinstance(value, float) and value.is_integer():
        return repr(value)
    return str(value)


def iter_frame(frame: pd.DataFrame, size: int = 50_000) -> Iterator[pd.DataFrame]:
    for start in range(0, len(frame), size):
        yield frame.iloc[start : start + size]


def as_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])
