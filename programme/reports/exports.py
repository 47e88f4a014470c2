"""Excel and PDF exports of the leadership report.

Both are built from one `ReportData`, gathered from the SAME service functions as the
screens: `screens.glance.overview` (funnel, waves and RAG, alerts, coaches, regions, pilot
results, `impact.headline_impacts`, headline figures), the deltas the at-a-glance page shows
(`dashboard.deltas_for` → `snapshots.compare`), and the pieces the region report is made of
(`sections.sites.site_rows`, `coaches_working`, `completeness`). No query of their own, so an
export never disagrees with the page it prints.

- Excel (XlsxWriter): one sheet per section, numbers written as numbers with number formats
  (0.00, percentages), dates as dates, frozen header row, column widths, an autofilter.
  Every text cell that starts with = + - − @ (or a tab / carriage return) is written as a
  string prefixed with an apostrophe: it can never become a formula, in Excel or in a CSV
  saved from it.
- PDF (WeasyPrint): `templates/reports/pdf/report.html`, charts inlined as SVG rendered by
  `render.svg` from the same Vega-Lite specs as the screens; CSS and fonts are local (no
  remote resource is ever fetched).
"""

from __future__ import annotations

import io
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, BinaryIO

import xlsxwriter
from flask import current_app, render_template
from flask_babel import format_date, get_locale, pgettext
from flask_babel import gettext as _
from markupsafe import Markup
from sqlalchemy.orm import Session

from programme.auth.permissions import can
from programme.feedback.queries import LoopSummary, loop_figures
from programme.network.access import Scope
from programme.reports import charts, render, value_screens
from programme.reports.dashboard import deltas_for
from programme.reports.impact import impact_chart
from programme.reports.screens.glance import overview
from programme.reports.sections.coaches import coaches_working
from programme.reports.sections.completeness import completeness as scope_completeness
from programme.reports.sections.sites import site_rows
from programme.reports.snapshots import figure_meta

# --- Excel: one table per sheet ----------------------------------------------------------------

FORMULA_TRIGGERS = ("=", "+", "-", "−", "@", "\t", "\r")
SHEET_NAME_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")


def neutralise(text: str) -> str:
    """A text that a spreadsheet could read as a formula, made inert with a leading
    apostrophe (OWASP's advice for CSV/formula injection)."""
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


@dataclass(frozen=True)
class Column:
    """One column of a sheet. `kind`: text, int, float (0.00), pct (a 0–1 fraction shown as
    a percentage), pct100 (a 0–100 figure, stored as a fraction), date, datetime."""

    header: str
    kind: str = "text"
    width: float | None = None  # characters; None = from the content


@dataclass(frozen=True)
class Cell:
    """A value whose format differs from its column's (e.g. a percentage in a column of
    figures)."""

    value: Any
    kind: str


@dataclass
class Sheet:
    name: str
    columns: Sequence[Column]
    rows: Iterable[Sequence[Any]]
    note: str | None = None  # one line under the table's title, e.g. the scope and date
    empty_message: str | None = None


def _sheet_name(name: str, taken: set[str]) -> str:
    base = SHEET_NAME_FORBIDDEN.sub(" ", name).strip("'")[:31] or "Sheet"
    candidate, n = base, 2
    while candidate.lower() in taken:
        suffix = f" ({n})"
        candidate, n = base[: 31 - len(suffix)] + suffix, n + 1
    taken.add(candidate.lower())
    return candidate


def _display_length(value: Any, kind: str) -> int:
    if isinstance(value, Cell):
        value, kind = value.value, value.kind
    if value is None:
        return 1
    if kind in ("date",):
        return 10
    if kind == "datetime":
        return 16
    if kind in ("pct", "pct100"):
        return 7
    if kind in ("float", "eur"):
        return (
            len(f"{value:,.2f}") + (2 if kind == "eur" else 0)
            if isinstance(value, int | float)
            else len(str(value))
        )
    return max((len(line) for line in str(value).splitlines()), default=1)


def build_workbook(sheets: Sequence[Sheet], properties: dict[str, str] | None = None) -> bytes:
    """Write the sheets to an .xlsx file in memory and return its bytes."""
    output = io.BytesIO()
    write_workbook(sheets, output, properties)
    return output.getvalue()


def write_workbook(
    sheets: Sequence[Sheet], output: BinaryIO, properties: dict[str, str] | None = None
) -> None:
    """Write the sheets as an .xlsx file into `output` (a binary file: a temporary file
    for a download, so that the workbook is never held in memory whole)."""
    workbook = xlsxwriter.Workbook(
        output,
        {
            "constant_memory": True,  # rows streamed to disk: flat memory at 2,000 sites
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
            "default_date_format": "yyyy-mm-dd",
            "remove_timezone": True,
        },
    )
    if properties:
        workbook.set_properties(properties)
    formats = {
        "header": workbook.add_format(
            {"bold": True, "bg_color": "#E5E7EB", "bottom": 1, "text_wrap": True, "valign": "top"}
        ),
        "text": workbook.add_format({"valign": "top"}),
        "int": workbook.add_format({"num_format": "#,##0"}),
        "float": workbook.add_format({"num_format": "#,##0.00"}),
        "pct": workbook.add_format({"num_format": "0.0%"}),
        "pct100": workbook.add_format({"num_format": "0.0%"}),
        "eur": workbook.add_format({"num_format": '#,##0.00 "€";-#,##0.00 "€"'}),
        "date": workbook.add_format({"num_format": "yyyy-mm-dd"}),
        "datetime": workbook.add_format({"num_format": "yyyy-mm-dd hh:mm"}),
        "note": workbook.add_format({"italic": True, "font_color": "#4B5563"}),
    }
    taken: set[str] = set()
    for sheet in sheets:
        rows = [list(row) for row in sheet.rows]
        worksheet = workbook.add_worksheet(_sheet_name(sheet.name, taken))
        widths = []
        for index, column in enumerate(sheet.columns):
            if column.width is not None:
                widths.append(column.width)
                continue
            longest = max(
                [len(column.header)]
                + [_display_length(row[index], column.kind) for row in rows[:2000]],
                default=8,
            )
            widths.append(min(max(longest + 2, 8), 60))
        for index, width in enumerate(widths):
            worksheet.set_column(index, index, width)
        first = 0
        if sheet.note:
            worksheet.write_string(0, 0, neutralise(sheet.note), formats["note"])
            first = 2
        for index, column in enumerate(sheet.columns):
            worksheet.write_string(first, index, neutralise(column.header), formats["header"])
        worksheet.freeze_panes(first + 1, 0)
        for offset, row in enumerate(rows, start=first + 1):
            for index, column in enumerate(sheet.columns):
                _write_cell(worksheet, offset, index, row[index], column.kind, formats)
        if rows:
            worksheet.autofilter(first, 0, first + len(rows), len(sheet.columns) - 1)
        elif sheet.empty_message:
            worksheet.write_string(first + 1, 0, neutralise(sheet.empty_message), formats["note"])
    workbook.close()


def _write_cell(worksheet, row: int, col: int, value: Any, kind: str, formats) -> None:
    if isinstance(value, Cell):
        value, kind = value.value, value.kind
    if isinstance(value, bool):
        value = _yes_no(value)
    if value is None or value == "":
        worksheet.write_blank(row, col, None)
        return
    if kind in ("int", "float", "pct", "pct100", "eur") and isinstance(value, int | float):
        number = float(value) / 100 if kind == "pct100" else value
        if isinstance(number, float) and number != number:  # NaN
            worksheet.write_blank(row, col, None)
            return
        worksheet.write_number(row, col, number, formats[kind])
        return
    if kind in ("date", "datetime") and isinstance(value, date | datetime):
        if isinstance(value, datetime) and value.tzinfo is not None:
            value = value.replace(tzinfo=None)
        worksheet.write_datetime(row, col, value, formats[kind])
        return
    worksheet.write_string(row, col, neutralise(str(value)), formats["text"])


def _yes_no(value: bool) -> str:
    return _("Yes") if value else _("No")


# --- the report's data, from the screens' services ----------------------------------------------


@dataclass
class SiteLine:
    region: str
    row: Any  # sections.sites.SiteRow


@dataclass
class ReportData:
    """Everything both exports show, gathered once from the screens' services."""

    scope: Any  # network.access.Scope
    today: date
    locale: str
    overview: (
        Any  # screens.glance.Overview (funnel, waves, alerts, coaches, regions, impacts, headline)
    )
    deltas: list  # snapshots.Delta: this month against the last monthly snapshot
    sites: list[SiteLine]
    coaches: list  # sections.coaches.CoachRow
    completeness: list[tuple[str, Any]]  # (scope label, kpis.completeness.Completeness)
    site_codes: dict[int, str] = field(default_factory=dict)
    loop: Any = None  # feedback.queries.LoopSummary of the scope (counts only)
    value: dict | None = None  # reports.value_screens.report, for the readers of the value

    @property
    def impacts(self) -> list:
        return list(self.overview.impacts or [])


def export_filename(scope, today: date, extension: str) -> str:
    """programme-report_network_2026-11-23.xlsx, programme-report_region-3_2026-11-23.pdf;
    in the reader's language (programme-rapport_reseau_2026-11-23.xlsx), ASCII only."""
    kind, _sep, ident = scope.key.partition(":")
    words = {"network": pgettext("file name", "network"), "region": pgettext("file name", "region")}
    key = f"{words.get(kind, kind)}-{ident}" if ident else words.get(kind, kind)
    slug = _file_word(key) or "report"
    base = _file_word(pgettext("file name", "programme-report")) or "programme-report"
    return f"{base}_{slug}_{today.isoformat()}.{extension}"


def _file_word(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode()
    return re.sub(r"[^A-Za-z0-9-]+", "-", ascii_text).strip("-")


def gather(session: Session, scope, user, today: date) -> ReportData:
    """Collect the report from the services the screens use: the at-a-glance overview, the
    deltas since the last snapshot, the region reports' site tables and coaches."""
    # The deployment impact as last computed (computed here only when nothing is cached):
    # after a write, the file says "as of" instead of waiting for a network-scale bootstrap.
    ov = overview(session, scope, user, today, fresh_impacts="if_missing")
    deltas = deltas_for(session, scope, ov.headline, today)
    sites: list[SiteLine] = []
    completeness = [(scope.label, ov.completeness)]
    if scope.key.startswith("site:"):
        # A site manager's one site: its row, as the region report shows it.
        region = ov.regions[0].name if len(ov.regions) == 1 else ""
        sites = [SiteLine(region, row) for row in site_rows(session, scope, ov.alerts)]
    else:
        for region in ov.regions:
            region_scope = Scope(f"region:{region.region_id}", region.name, region.region_id, None)
            if scope.region_id is not None and region.region_id != scope.region_id:
                continue
            sites += [
                SiteLine(region.name, row) for row in site_rows(session, region_scope, ov.alerts)
            ]
            if scope.whole_network:
                completeness.append((region.name, scope_completeness(session, region_scope, today)))
    return ReportData(
        scope=scope,
        today=today,
        locale=str(get_locale() or "en"),
        overview=ov,
        deltas=deltas,
        sites=sites,
        coaches=coaches_working(session, today, scope),
        completeness=completeness,
        site_codes={line.row.site_id: line.row.code for line in sites},
        loop=loop_for_scope(session, scope, user),
        value=_value(session, scope, user, today),
    )


def loop_for_scope(session: Session, scope, user):
    """The close-the-loop figures of the report's scope: its total, then per
    region (whole network) or per site. Counts and durations only: no case, no customer,
    never a contact reference."""
    restrict = {"region_id": scope.region_id, "site_ids": scope.site_ids}
    total = loop_figures(session, user, by="network", **restrict)
    by = "region" if scope.whole_network else "site"
    rows = loop_figures(session, user, by=by, **restrict) if total else []
    return LoopSummary(total[0] if total else None, rows, by)


def _value(session: Session, scope, user, today: date) -> dict | None:
    """The value report of the scope (network or region) over the value page's default
    period, for the people who read the value, once a value driver exists."""
    if not can(user, "view_value") or scope.key.startswith("site:"):
        return None
    if not value_screens.has_drivers(session):
        return None
    first, last = value_screens.default_range(today, session)
    body = value_screens.report(
        session, region_id=scope.region_id, first=first, last=last, today=today
    )
    for month in body["months"]:
        month["month_label"] = value_screens.month_label(month["month"])
    body["first"], body["last"] = first, last
    return body


def _figure_cell(value: Any, unit: str) -> Cell:
    return Cell(value, {"pct": "pct100", "rate": "pct", "count": "int"}.get(unit, "float"))


def _change_cell(delta, unit: str) -> Cell:
    """The change since the snapshot; percentages and rates change in points."""
    if delta.change is None:
        return Cell(None, "float")
    return Cell(delta.change * (100 if unit == "rate" else 1), "float")


def workbook_sheets(session: Session, data: ReportData) -> list[Sheet]:
    """The workbook's sheets, one per section of the report."""
    ov = data.overview
    note = _("%(scope)s · %(date)s", scope=data.scope.label, date=format_date(data.today, "long"))
    compared = {d.key: d for d in data.deltas}
    glance_rows = []
    for key, value in ov.headline.items():
        label, _better, unit = figure_meta(session, key)
        delta = compared.get(key)
        glance_rows.append(
            [
                label,
                _figure_cell(value, unit),
                delta.since if delta else None,
                _figure_cell(delta.previous, unit) if delta else None,
                _change_cell(delta, unit) if delta else None,
                delta.judgement_label if delta else None,
            ]
        )
    sheets = [
        Sheet(
            _("At a glance"),
            [
                Column(_("Figure")),
                Column(_("Value"), "float"),
                Column(_("Snapshot compared with (month)"), "date"),
                Column(_("Value then"), "float"),
                Column(_("Change (points for percentages)"), "float"),
                Column(_("Better or worse")),
            ],
            glance_rows,
            note=note,
        ),
        Sheet(
            _("Funnel"),
            [
                Column(_("Stage")),
                Column(_("Sites"), "int"),
                Column(_("Share of the sites"), "pct"),
                Column(_("Definition"), width=70),
            ],
            [[s.label, s.count, s.share, s.definition] for s in ov.funnel],
            note=note,
        ),
    ]
    sheets.append(_pilot_sheet(data, note))
    if data.value is not None:
        sheets.append(_value_sheet(data.value, note))
    if ov.impacts is not None:
        # Deployment impact compares deployed with not-yet-deployed sites network-wide.
        network_note = _(
            "%(scope)s · %(date)s", scope=_("Whole network"), date=format_date(data.today, "long")
        )
        sheets += _impact_sheets(data, network_note)
    sheets += [
        Sheet(
            _("Waves"),
            [
                Column(_("Wave")),
                Column(_("Status")),
                Column(_("Start"), "date"),
                Column(_("Go-live"), "date"),
                Column(_("End of stabilisation"), "date"),
                Column(_("Sites"), "int"),
                Column(_("Planned progress"), "pct"),
                Column(_("Actual progress"), "pct"),
                Column(_("Points behind plan"), "float"),
                Column(_("Late sites"), "int"),
                Column(_("Open alerts"), "int"),
                Column(_("RAG status")),
                Column(_("Why"), width=50),
            ],
            [
                [
                    w.name,
                    w.status_label,
                    w.start,
                    w.go_live,
                    w.end,
                    w.n_sites,
                    w.planned,
                    w.actual,
                    w.behind_points,
                    w.late_sites,
                    w.alerts,
                    w.rag_label,
                    w.reason,
                ]
                for w in ov.waves
            ],
            note=note,
            empty_message=_("No wave in this scope yet."),
        ),
        Sheet(
            _("Alerts"),
            [Column(_("Wave")), Column(_("Site")), Column(_("Alert"), width=90)],
            [
                [a.wave_name, data.site_codes.get(a.site_id) if a.site_id else None, a.message]
                for a in ov.alerts
            ],
            note=note,
            empty_message=_("No open alert."),
        ),
        Sheet(
            _("Regions"),
            [
                Column(_("Region")),
                Column(_("Sites"), "int"),
                Column(_("In a wave"), "int"),
                Column(_("Live"), "int"),
                Column(_("Progress in active waves"), "pct"),
            ],
            [[r.name, r.sites, r.in_wave, r.live, r.progress] for r in ov.regions],
            note=note,
        ),
        Sheet(
            _("Sites"),
            [
                Column(_("Region")),
                Column(_("Code")),
                Column(_("Site")),
                Column(_("Latest wave")),
                Column(_("Go-live"), "date"),
                Column(_("Progress"), "pct"),
                Column(_("Engagement (1–5)"), "int"),
                Column(_("Asked to start earlier")),
                Column(_("Open alerts"), "int"),
            ],
            [
                [
                    line.region,
                    line.row.code,
                    line.row.name,
                    line.row.wave_name,
                    line.row.go_live,
                    line.row.progress,
                    line.row.engagement,
                    line.row.asked_earlier if line.row.engagement is not None else None,
                    line.row.alerts,
                ]
                for line in data.sites
            ],
            note=note,
        ),
        Sheet(
            _("Coaches"),
            [
                Column(_("Coach")),
                Column(_("Capacity (sites)"), "int"),
                Column(_("Sites today, all waves"), "int"),
                Column(_("Sites today in this scope"), "int"),
                Column(_("Load"), "pct"),
            ],
            [
                [
                    c.name,
                    c.capacity,
                    c.load_today,
                    c.sites_here,
                    c.load_today / c.capacity if c.capacity else None,
                ]
                for c in data.coaches
            ],
            note=_(
                "%(note)s · seconded: %(coaches)d, sites assigned today: %(sites)d, "
                "capacity: %(capacity)d, over capacity: %(over)d",
                note=note,
                coaches=ov.coaches.coaches,
                sites=ov.coaches.sites_assigned,
                capacity=ov.coaches.capacity,
                over=ov.coaches.over_capacity,
            ),
            empty_message=_("No coach working in this scope today."),
        ),
        Sheet(
            _("Data completeness"),
            [
                Column(_("Scope")),
                Column(_("From"), "date"),
                Column(_("To"), "date"),
                Column(_("Periods measured"), "int"),
                Column(_("Periods expected"), "int"),
                Column(_("Completeness"), "pct"),
            ],
            [
                [label, c.start, c.end, c.present, c.expected, c.share]
                for label, c in data.completeness
            ],
            note=note,
        ),
    ]
    sheets.append(_loop_sheet(data, note))
    return sheets


def _loop_sheet(data: ReportData, note: str) -> Sheet:
    """Close the loop: the scope's total, then its regions or sites."""
    loop = data.loop
    rows = []
    if loop is not None and loop.total is not None:
        for label, row in [(data.scope.label, loop.total), *[(r.label, r) for r in loop.rows]]:
            rows.append(
                [
                    label,
                    row.cases,
                    row.decided,
                    row.in_time,
                    row.share_in_time,
                    row.median_hours,
                    row.past_due,
                ]
            )
    return Sheet(
        _("Close the loop"),
        [
            Column(_("Region") if loop is not None and loop.by == "region" else _("Site")),
            Column(_("Cases"), "int"),
            Column(_("Contacted or past their deadline"), "int"),
            Column(_("Contacted within the deadline"), "int"),
            Column(_("Share contacted within the deadline"), "pct"),
            Column(_("Median time to first contact (hours)"), "float"),
            Column(_("Open past due"), "int"),
        ],
        rows,
        note=note,
        empty_message=_("No customer case yet."),
    )


def _pilot_sheet(data: ReportData, note: str) -> Sheet:
    """The pilot results that led to the package(s): the pilots decided "go"."""
    return Sheet(
        _("Pilot results"),
        [
            Column(_("Pilot")),
            Column(_("Decided on"), "date"),
            Column(_("Package(s)")),
            Column(_("KPI")),
            Column(_("Unit")),
            Column(_("Effect"), "float"),
            Column(_("Interval low (95 %)"), "float"),
            Column(_("Interval high (95 %)"), "float"),
            Column(_("Relative effect"), "pct"),
            Column(_("Target reached")),
            Column(_("Reading"), width=80),
        ],
        [
            [
                p.pilot_name,
                p.decided_on,
                ", ".join(p.package_names),
                r.kpi_code,
                _change_unit(r.kind, r.unit),
                _in_change_unit(r.effect, r.kind),
                _in_change_unit(r.ci_low, r.kind),
                _in_change_unit(r.ci_high, r.kind),
                r.relative_effect,
                bool(r.target_reached),
                r.reading,
            ]
            for p in data.overview.pilots
            for r in p.results
        ],
        note=note,
        empty_message=_("No pilot has been decided “go” yet."),
    )


def _value_sheet(value: dict, note: str) -> Sheet:
    """Value per month, then the total: money in euros, unrounded; P10–P90 from
    seeded draws, the actual's interval from the effect's 95 % interval."""
    figures = ("planned", "forecast", "actual", "actual_low", "actual_high", "estimate",
               "p10", "p50", "p90")  # fmt: skip
    rows = [[m["month_label"], *[m[f] for f in figures], m["volume"]] for m in value["months"]]
    rows.append([_("Total"), *[value["total"][f] for f in figures], value["total"]["volume"]])
    return Sheet(
        pgettext("sheet", "Value"),
        [
            Column(_("Month")),
            Column(_("Planned (€)"), "eur"),
            Column(_("Forecast (€)"), "eur"),
            Column(_("Actual (€)"), "eur"),
            Column(_("Actual, interval low (95 %) (€)"), "eur"),
            Column(_("Actual, interval high (95 %) (€)"), "eur"),
            Column(_("Estimate (€)"), "eur"),
            Column(_("P10 (€)"), "eur"),
            Column(_("P50 (€)"), "eur"),
            Column(_("P90 (€)"), "eur"),
            Column(_("Volume"), "int"),
        ],
        rows,
        note=_("%(note)s · %(reading)s", note=note, reading=value["reading"]),
    )


def _change_unit(kind: str, unit: str) -> str:
    """The unit of a change: a rate (a 0–1 fraction) changes in percentage points."""
    return _("pts") if kind == "rate" else unit


def _in_change_unit(value: float | None, kind: str) -> float | None:
    """A change of a rate in percentage points (0.0011 → 0.11), as the screens and the PDF
    print it; any other KPI in its own unit."""
    if value is None or kind != "rate":
        return value
    return value * 100


def _impact_sheets(data: ReportData, note: str) -> list[Sheet]:
    results = data.impacts
    if getattr(data.overview.impacts, "stale", False):
        as_of = _("As of %(time)s, updating…", time=data.overview.impacts.as_of())
        note = f"{note} {as_of}" if note else as_of
    return [
        Sheet(
            _("Impact per KPI"),
            [
                Column(_("KPI")),
                Column(_("Unit")),
                Column(_("Window (weeks)"), "int"),
                Column(_("Estimate"), "float"),
                Column(_("Interval low (95 %)"), "float"),
                Column(_("Interval high (95 %)"), "float"),
                Column(_("Sites used"), "int"),
                Column(_("Reading"), width=80),
            ],
            [
                [
                    r.kpi_code,
                    _change_unit(r.kind, r.unit),
                    r.window_weeks,
                    _in_change_unit(r.estimate, r.kind),
                    _in_change_unit(r.ci_low, r.kind),
                    _in_change_unit(r.ci_high, r.kind),
                    r.n_sites,
                    r.reading,
                ]
                for r in results
            ],
            note=note,
            empty_message=_("No deployment impact can be computed yet (no wave has gone live)."),
        ),
        Sheet(
            _("Impact per wave"),
            [
                Column(_("KPI")),
                Column(_("Unit")),
                Column(_("Wave")),
                Column(_("Go-live"), "date"),
                Column(_("Effect (ATT)"), "float"),
                Column(_("Wave sites used"), "int"),
                Column(_("Comparison sites used"), "int"),
                Column(_("Wave sites without data"), "int"),
                Column(_("Comparison sites without data"), "int"),
                Column(_("In the estimate")),
                Column(_("Why not"), width=60),
            ],
            [
                [
                    r.kpi_code,
                    _change_unit(r.kind, r.unit),
                    w.wave_name,
                    w.go_live,
                    _in_change_unit(w.att, r.kind),
                    w.n_treated,
                    w.n_comparison,
                    w.n_treated_missing,
                    w.n_comparison_missing,
                    bool(w.included),
                    w.reason,
                ]
                for r in results
                for w in r.waves
            ],
            note=note,
        ),
    ]


def build_xlsx(session: Session, data: ReportData) -> bytes:
    output = io.BytesIO()
    write_xlsx(session, data, output)
    return output.getvalue()


def write_xlsx(session: Session, data: ReportData, output: BinaryIO) -> None:
    write_workbook(
        workbook_sheets(session, data),
        output,
        {
            "title": _("Programme leadership report"),
            "subject": data.scope.label,
            "comments": data.today.isoformat(),
        },
    )


# --- PDF ---------------------------------------------------------------------------------------

PDF_ALERT_LIMIT = 40


def pdf_charts(data: ReportData) -> dict[str, Any]:
    """The report's charts as inline SVG: the same specs the screens hand to vega-embed
    (`charts.funnel_spec`, `charts.waves_timeline_spec`, `impact.impact_chart`)."""
    ov = data.overview
    rendered: dict[str, Any] = {"impact": {}}
    rendered["funnel"] = Markup(render.svg(charts.funnel_spec(ov.funnel), data.locale))
    if ov.waves:
        spec = charts.waves_timeline_spec(ov.waves, data.today)
        rendered["waves"] = Markup(render.svg(spec, data.locale))
    if data.value is not None:
        spec = value_screens.chart_spec(data.value)
        if spec:
            rendered["value"] = Markup(render.svg(spec, data.locale))
    for result in data.impacts:
        spec = impact_chart(result)
        if spec:
            rendered["impact"][result.kpi_code] = Markup(render.svg(spec, data.locale))
    return rendered


def build_pdf(data: ReportData) -> bytes:
    output = io.BytesIO()
    write_pdf(data, output)
    return output.getvalue()


def write_pdf(data: ReportData, output: BinaryIO) -> None:
    """The leadership report as a PDF, written into `output`. WeasyPrint may fetch nothing but data: URLs: the CSS
    is inline, the charts are inline SVG and the fonts are the system's (DejaVu)."""
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    html = render_template(
        "reports/pdf/report.html",
        data=data,
        charts=pdf_charts(data),
        alert_limit=PDF_ALERT_LIMIT,
    )
    document = HTML(
        string=html,
        base_url=current_app.static_folder,
        url_fetcher=URLFetcher(allowed_protocols={"data"}),
    )
    # Tagged PDF: headings, tables and the document language reach screen readers.
    document.write_pdf(output, pdf_tags=True)
