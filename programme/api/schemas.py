"""The bodies and query strings of /api/v1, declared once as pydantic models.

The same declarations validate every request (programme/api/spec.py) and produce the
OpenAPI document (programme/api/openapi.py). Input models are strict: a number is a JSON
number, a date is a "YYYY-MM-DD" string, an id is a 64-bit integer. Output models
describe what the views serialise; they ignore unknown keys, so a field added to a
response (e.g. a pilot result's new statistics) is declared here and nowhere else."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

INT64_MAX = 2**63 - 1  # BIGINT columns (measurement ids)
INT32_MAX = 2**31 - 1  # INTEGER columns on PostgreSQL (other ids, sample sizes)
MAX_ITEMS = 10_000
PAGE_SIZE = 500
MAX_PAGE_SIZE = 5000

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_date(value: Any) -> Any:
    """Only "YYYY-MM-DD": "06/05/2019" is ambiguous (6 May or 5 June?) and refused."""
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
        raise PydanticCustomError("iso_date", "Use YYYY-MM-DD.")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise PydanticCustomError("iso_date", "Use YYYY-MM-DD.") from None


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _text(value: str) -> str:
    """No NUL character (PostgreSQL cannot store it) and no lone surrogate (not UTF-8)."""
    if _UNSTORABLE.search(value):
        raise PydanticCustomError("text_control", "NUL character or invalid Unicode.")
    return value


def _query_int(value: Any) -> Any:
    """A query-string integer: ASCII digits only (no sign, no blank, no "1.0")."""
    if isinstance(value, str):
        if value.isascii() and value.isdigit() and len(value) <= 30:
            return int(value)
        raise PydanticCustomError("int_parsing", "Not a whole number.")
    return value


IsoDate = Annotated[
    date, BeforeValidator(_iso_date), WithJsonSchema({"type": "string", "format": "date"})
]


def text(min_length: int | None = None, max_length: int | None = None, **field):
    """A string type: its length checked natively (constraints before the validator), then
    no unstorable character."""
    return Annotated[
        str, Field(min_length=min_length, max_length=max_length, **field), AfterValidator(_text)
    ]


Text = text()
Code = text(1, 40)
Id = Annotated[int, Field(ge=1, le=INT32_MAX)]
Number = Annotated[float, Field(allow_inf_nan=False)]
QueryText = text(1, 200)
QueryDate = IsoDate


def _query_int_type(minimum: int, maximum: int):
    return Annotated[int, BeforeValidator(_query_int), Field(ge=minimum, le=maximum)]


class In(BaseModel):
    """A request body: strict types; unknown keys are ignored."""

    model_config = ConfigDict(strict=True, extra="ignore")
    # field name -> a (lazy, translated) message replacing the generic one.
    api_messages: ClassVar[dict[str, Any]] = {}


class Query(BaseModel):
    """A query string: every value is text; an empty value is refused."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)
    api_messages: ClassVar[dict[str, Any]] = {}


class Out(BaseModel):
    """A response body (documentation only: views serialise with plain dicts)."""

    model_config = ConfigDict(extra="allow")


# --- errors -------------------------------------------------------------------------------------


class Error(Out):
    error: str


class ItemError(Out):
    index: int | None = Field(description="Position of the item in a list body, else null.")
    field: str
    message: str


class ValidationErrors(Out):
    errors: list[ItemError]


class Forbidden(Out):
    error: str
    errors: list[ItemError] | None = Field(
        None, description="For a batch: the items the token's user may not write."
    )


# --- KPIs, sites ----------------------------------------------------------------------------------


class KpiName(Out):
    en: str
    fr: str


class Kpi(Out):
    code: str
    name: KpiName
    unit: str
    kind: Literal["mean", "rate", "count"]
    better: Literal["lower", "higher"]
    min: float | None
    max: float | None
    period: Literal["day", "week"]
    active: bool


class Site(Out):
    code: str
    name: str
    region: str
    type: str
    country: str | None
    city: str | None
    operator: str | None
    provider: str | None


class SiteInput(In):
    code: Code
    name: text(max_length=200)
    type: text(
        max_length=40, description="branch, shop, agency, call_centre, visa_centre, field_sales"
    )
    region: text(max_length=120, description="Created when new.")
    country: text(2, 2) | None = None
    operator: Literal["internal", "outsourced"] | None = None
    provider: text(max_length=200) | None = None
    city: text(max_length=120) | None = None


SiteBatch = Annotated[list[SiteInput], Field(max_length=MAX_ITEMS)]


class SiteCounts(Out):
    created: int
    updated: int
    unchanged: int


# --- measurements ---------------------------------------------------------------------------------


Source = text(1, 120, description="Defaults to the token's name.")
Reason = text(max_length=500, description="Why, when the item corrects an earlier value.")


class MeasurementInput(In):
    site: text(1, 40, description="Site code.")
    kpi: text(1, 40, description="KPI code.")
    date: Annotated[IsoDate, Field(description="Not in the future; a Monday for weekly KPIs.")]
    value: Annotated[Number, Field(description="Within the KPI's range; a rate is successes / n.")]
    n: Annotated[int, Field(ge=1, le=INT32_MAX, description="Sample size.")]
    source: Source | None = None
    reason: Reason | None = None


MeasurementBatch = Annotated[list[MeasurementInput], Field(max_length=MAX_ITEMS)]


class MeasurementCounts(Out):
    created: int
    unchanged: int
    corrected: int


class Measurement(Out):
    id: int
    site: str
    kpi: str
    date: Annotated[str, Field(json_schema_extra={"format": "date"})]
    value: float
    n: int | None
    source: str
    revision: int
    entered_at: str | None = Field(
        description="When it was entered: ISO 8601 in UTC, without offset "
        "(2026-11-16T08:30:00.123456)."
    )


class MeasurementPage(Out):
    items: list[Measurement]
    next: Annotated[str, Field(json_schema_extra={"format": "uri"})] | None = Field(
        description="The next page, or null on the last one."
    )


class MeasurementQuery(Query):
    site: QueryText | None = Field(None, description="Site code.")
    kpi: QueryText | None = Field(None, description="KPI code.")
    from_: QueryDate | None = Field(None, alias="from", description="First day (YYYY-MM-DD).")
    to: QueryDate | None = Field(None, description="Last day (YYYY-MM-DD).")
    limit: _query_int_type(1, MAX_PAGE_SIZE) = PAGE_SIZE  # type: ignore[valid-type]
    after: _query_int_type(0, INT64_MAX) = Field(  # type: ignore[valid-type]
        0, description="Cursor: the last id of the previous page (use the `next` link)."
    )


# --- pilots -----------------------------------------------------------------------------------


class PilotKpi(In):
    kpi: text(1, 40, description="KPI code.")
    target_relative: Number | None = Field(
        None, description="Relative change, e.g. -0.2 for −20 %."
    )


class PilotInput(In):
    name: text(max_length=200)
    kpis: list[PilotKpi]
    pilot_sites: list[Code] = Field(
        [], description="The pilot sites, unless `randomize` draws them."
    )
    control_sites: list[Code] = []
    randomize: bool = Field(
        False,
        description="Draw the arms from `candidate_sites` by matched pairs (type, region, "
        "baseline level): one site of each pair, drawn with `seed`, is the pilot.",
    )
    candidate_sites: list[Code] = Field([], description="With `randomize`: the sites to pair.")
    seed: Annotated[int, Field(ge=0, le=INT32_MAX)] | None = Field(
        None, description="With `randomize`: the draw's seed (recorded; random when left out)."
    )
    baseline_start: IsoDate
    baseline_end: IsoDate
    pilot_start: IsoDate
    pilot_end: IsoDate
    description: text(max_length=5000) | None = None


class PilotKpiOut(Out):
    kpi: str
    target_relative: float | None


class Improvement(Out):
    title: str
    description: str | None


class Decision(Out):
    decision: str
    reason: str | None
    decided_on: Annotated[str, Field(json_schema_extra={"format": "date"})]
    decided_by: str | None


class DrawnPair(Out):
    pilot: str
    control: str


class RandomizationRecord(Out):
    seed: int
    pairs: list[DrawnPair]


class Pilot(Out):
    id: int
    name: str
    stage: Literal["design", "running", "evaluating", "decided"]
    baseline_start: Annotated[str, Field(json_schema_extra={"format": "date"})]
    baseline_end: Annotated[str, Field(json_schema_extra={"format": "date"})]
    pilot_start: Annotated[str, Field(json_schema_extra={"format": "date"})]
    pilot_end: Annotated[str, Field(json_schema_extra={"format": "date"})]
    pilot_sites: list[str]
    control_sites: list[str]
    kpis: list[PilotKpiOut]
    improvements: list[Improvement]
    supporting_functions: list[str]
    decision: Decision | None
    package: int | None
    randomized: bool
    randomization: RandomizationRecord | None


class Randomization(Out):
    """Randomization inference adjusted on the baseline (docs/api.md has the formulas)."""

    effect: float | None
    theta: float | None
    p_value: float | None
    ci_low: float | None
    ci_high: float | None
    min_p: float | None
    n_assignments: int | None
    exact: bool | None
    randomized_design: bool


class SyntheticControl(Out):
    """Synthetic control for one to three pilot sites, the control sites as donors."""

    effect: float | None
    p_value: float | None
    weights: dict[str, dict[str, float]]
    pre_rmspe: float | None
    post_rmspe: float | None


class PilotResult(Out):
    """One KPI's result. Further statistics are added here as they are computed."""

    kpi: str
    baseline_mean: float | None
    pilot_mean: float | None
    effect: float | None
    relative_effect: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    n_pilot_sites: int
    n_control_sites: int
    completeness: float | None
    target_reached: bool | None
    reading: str
    leading_method: str | None
    randomization: Randomization | None
    synthetic_control: SyntheticControl | None


class PilotResults(Out):
    pilot: int
    results: list[PilotResult]


# --- deployment -------------------------------------------------------------------------------


class PackageElement(Out):
    id: int
    name: str
    kind: Literal["process", "tool", "indicator", "routine"]


class Package(Out):
    id: int
    name: str
    elements: list[PackageElement]


class WaveInput(In):
    name: text(max_length=200)
    package: Annotated[Id, Field(description="The package's id.")]
    start: IsoDate
    go_live: IsoDate
    sites: list[Code] = []


class Wave(Out):
    id: int
    name: str
    package: int
    start: Annotated[str, Field(json_schema_extra={"format": "date"})]
    go_live: Annotated[str, Field(json_schema_extra={"format": "date"})]
    status: Literal["planned", "preparing", "deploying", "stabilising", "closed"]
    sites: list[str]
    progress: Annotated[float, Field(ge=0, le=1)]


class ChecklistItem(Out):
    element: int
    name: str
    kind: str
    state: Literal["not_started", "in_progress", "in_place", "sustained"]
    state_on: Annotated[str, Field(json_schema_extra={"format": "date"})] | None
    updated_by: str | None
    evidence: str | None


class SiteProgress(Out):
    site: str
    wave: int | None
    progress: float | None
    items: list[ChecklistItem]


# --- deployment impact ------------------------------------------------------------------------


class WaveImpact(Out):
    wave: int
    go_live: Annotated[str, Field(json_schema_extra={"format": "date"})]
    att: float | None = Field(description="Null when the wave is left out.")
    n_treated: int = Field(description="Wave sites with data in both windows.")
    n_comparison: int = Field(description="Comparison sites with data in both windows.")


class Impact(Out):
    kpi: str
    window_weeks: int
    estimate: float | None
    ci_low: float | None
    ci_high: float | None
    n_sites: int
    waves: list[WaveImpact]
    reading: str
    as_of: str | None = Field(
        None,
        description="When these figures were computed, if newer data has arrived since: "
        "they are being recomputed in the background (null when they are up to date).",
    )


def _window_message():
    from flask_babel import gettext as _

    from programme.reports.impact import MAX_WINDOW_WEEKS

    return _("The window must be a whole number of weeks from 1 to %(max)d.", max=MAX_WINDOW_WEEKS)


def _kpi_message():
    from flask_babel import gettext as _

    return _("Give the KPI code, e.g. ?kpi=WAIT.")


def _package_message():
    from flask_babel import gettext as _

    return _("The package's id (an integer).")


class ImpactQuery(Query):
    kpi: QueryText = Field(description="KPI code, e.g. WAIT.")
    package: _query_int_type(1, INT32_MAX) | None = Field(  # type: ignore[valid-type]
        None, description="Package id; may be left out when only one package has waves."
    )
    window_weeks: _query_int_type(1, 52) = 8  # type: ignore[valid-type]

    api_messages: ClassVar[dict[str, Any]] = {
        "kpi": _kpi_message,
        "package": _package_message,
        "window_weeks": _window_message,
    }


# --- customer feedback and cases --------------------------------------------------------------


def _date_time_with_offset(value: Any) -> Any:
    """ "YYYY-MM-DDTHH:MM:SS±HH:MM" (or Z): a time without its offset is ambiguous."""
    from datetime import datetime

    if not isinstance(value, str) or len(value) > 40:
        raise PydanticCustomError("date_time_offset", "A date and time with offset.")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise PydanticCustomError("date_time_offset", "A date and time with offset.") from None
    if "T" not in value.upper() or moment.utcoffset() is None:
        raise PydanticCustomError("date_time_offset", "A date and time with offset.")
    return value


DateTimeWithOffset = Annotated[
    str,
    AfterValidator(_date_time_with_offset),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]


def _received_at_message():
    from flask_babel import gettext as _

    return _("Give the date and time with its offset, like 2026-03-02T14:30:00+01:00.")


class FeedbackInput(In):
    source: Annotated[
        Text,
        Field(
            min_length=1,
            max_length=60,
            description="Where it comes from: survey tool, complaints, call centre…",
        ),
    ]
    external_id: Annotated[
        Text, Field(min_length=1, max_length=120, description="The source's own id.")
    ]
    site: Annotated[Code, Field(description="Site code.")]
    received_at: Annotated[
        DateTimeWithOffset,
        Field(description="With its offset, e.g. 2026-03-02T14:30:00+01:00; not in the future."),
    ]
    channel: Literal["in_person", "phone", "digital"]
    journey_step: Annotated[Text, Field(max_length=60)] | None = None
    score: Annotated[int, Field(ge=0, le=10, description="0–10 on the nps scale, 1–5 on csat5.")]
    scale: Literal["nps", "csat5"]
    comment: Annotated[Text, Field(max_length=5000)] | None = None
    language: Annotated[Text, Field(max_length=5, description="Defaults to fr.")] | None = None
    complaint: bool = False
    contact_consent: bool
    contact: (
        Annotated[
            Text,
            Field(max_length=200, description="Only when the customer agreed to be contacted."),
        ]
        | None
    ) = None

    api_messages: ClassVar[dict[str, Any]] = {"received_at": _received_at_message}


FeedbackBatch = Annotated[list[FeedbackInput], Field(max_length=MAX_ITEMS)]


class FeedbackCounts(Out):
    created: int
    unchanged: int = Field(description="Already received (same source and external_id).")
    cases_opened: int


class Case(Out):
    id: int
    site: str
    opened_at: str = Field(description="ISO 8601 with offset (UTC).")
    due_at: str = Field(description="ISO 8601 with offset (UTC).")
    status: Literal["open", "contacted", "closed"]
    overdue: bool = Field(description="Still to contact after its deadline.")
    escalated: bool = Field(description="Still to contact a working day after its deadline.")
    score: int
    scale: Literal["nps", "csat5"]
    source: str
    external_id: str


class CaseQuery(Query):
    site: QueryText | None = Field(None, description="Site code.")
    status: Literal["open", "contacted", "closed", "overdue", "escalated"] | None = None
    from_: QueryDate | None = Field(
        None, alias="from", description="Opened on or after (YYYY-MM-DD, UTC)."
    )
    to: QueryDate | None = Field(None, description="Opened on or before (YYYY-MM-DD, UTC).")


class CaseCloseInput(In):
    outcome: Literal["resolved", "explained", "unreachable"]
    cause: Literal["technical", "ergonomic", "relational", "commercial"]
    journey_step: Annotated[Text, Field(max_length=60)]
    irritant: Annotated[Id, Field(description="An existing irritant's id.")] | None = None
    proposed_irritant: (
        Annotated[
            Text,
            Field(max_length=200, description="A new irritant proposed to the programme office."),
        ]
        | None
    ) = None
    note: Annotated[Text, Field(max_length=5000)]


# --- value ----------------------------------------------------------------------------------


class UnitValue(In):
    low: Annotated[Number, Field(description="Euros per unit of KPI per unit of volume, low.")]
    most_likely: Number
    high: Number


class ValueDriverInput(In):
    package: Annotated[Id, Field(description="The package's id.")]
    kpi: Annotated[Code, Field(description="The KPI whose effect is valued.")]
    volume_kpi: Annotated[Code, Field(description="A count KPI (e.g. CONTACTS, VISITS).")]
    lever: Literal["cost", "revenue"]
    unit_value: Annotated[UnitValue, Field(description="low ≤ most_likely ≤ high, in euros.")]
    source: Annotated[Text, Field(min_length=1, max_length=300)]
    owner: Annotated[Text, Field(max_length=200)] | None = None
    explanation: Annotated[Text, Field(max_length=5000)] | None = None
    attribution: (
        Annotated[
            Number,
            Field(
                gt=0,
                le=1,
                description=(
                    "The package's share of the value at sites another package also claims "
                    "for this KPI; the shares of a site sum to at most 1. Default 1."
                ),
            ),
        ]
        | None
    ) = None


class CreatedId(Out):
    id: int


class GateInput(In):
    to: Literal["L0", "L1", "L2", "L3", "L4", "L5"]
    comment: Annotated[Text, Field(min_length=1, max_length=2000)]
    reason: Annotated[Text, Field(max_length=2000)] | None = None
    evidence: Annotated[Text, Field(max_length=500)] | None = None


class GateMoved(Out):
    package: int
    from_gate: Literal["L0", "L1", "L2", "L3", "L4", "L5"]
    gate: Literal["L0", "L1", "L2", "L3", "L4", "L5"]


QueryMonth = Annotated[str, Field(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$", description="YYYY-MM")]


class ValueQuery(Query):
    package: _query_int_type(1, INT32_MAX) = Field(description="Package id.")  # type: ignore[valid-type]
    kpi: QueryText = Field(description="KPI code, e.g. FCR.")
    from_: QueryMonth = Field(alias="from", description="First month (YYYY-MM).")
    to: QueryMonth = Field(description="Last month (YYYY-MM).")
    window_weeks: _query_int_type(1, 52) = 8  # type: ignore[valid-type]
    region: _query_int_type(1, INT32_MAX) | None = Field(  # type: ignore[valid-type]
        default=None, description="Region id: the package's sites in that region only."
    )


class ValueFigures(Out):
    planned: float | None
    forecast: float | None
    actual: float | None
    actual_low: float | None
    actual_high: float | None
    estimate: float | None
    volume: float | None
    p10: float | None
    p50: float | None
    p90: float | None


class ValueMonth(ValueFigures):
    month: str


class ValueEffect(Out):
    estimate: float | None = Field(description="Δ of the forecast, in the KPI's unit.")
    ci_low: float | None
    ci_high: float | None
    source: Literal["deployment", "pilot"] = Field(
        description="deployment: the deployment impact (at least one wave has a result); "
        "pilot: the pilot's effect."
    )


class Value(Out):
    currency: Literal["EUR"]
    months: list[ValueMonth]
    total: ValueFigures
    effect: ValueEffect
    reading: str
