"""The impact in words and charts, applied when shown: cached results (`result.py`) hold
numbers, codes and names; the reader's language is chosen here, at render time, so one
cached result serves every language. Sentences are `programme.web.words.Words`, worded by
`str()` or Jinja's `{{ }}`. Results are read by their attributes (`result.ImpactResult`).
"""

from __future__ import annotations

import unicodedata
from typing import Any

from flask_babel import gettext as _

from programme.kpis.charts import SCHEMA, value_axis
from programme.reports.impact import estimator as est
from programme.reports.impact.estimator import Note
from programme.statistics import amount as amount_text
from programme.web import words


def sort_key(name: str) -> str:
    """Alphabetical order that puts "Île-de-France" among the I's."""
    return unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().casefold()


def kpi_name(kpi) -> words.Later:
    """The KPI's name, both languages kept, the reader's chosen when shown."""
    return words.kpi_name(kpi)


def kpi_subject(kpi) -> words.Later:
    """The KPI's name at the start of a sentence ("Le temps d'attente"), chosen when shown."""
    return words.kpi_subject(kpi)


def amount(
    result,
    value: float,
    signed: bool = False,
    reference: float | None = None,
    width: float | None = None,
) -> str:
    """A change in the KPI's unit; rates in percentage points (as in pilot results). The
    number of decimals follows `reference` (default: the value) so that an estimate and
    its interval read alike, with more decimals when the interval (`width`) is narrow."""
    return amount_text(result.kind, result.unit, value, signed, reference, width)


def note_words(note: Note) -> words.Words:
    """Why a wave is left out (or a remark on it), or why an estimate is missing."""
    code = note.code
    if code == est.NOT_LIVE:
        return words.lazy_gettext("not live yet (go-live %(date)s)", date=words.date(note.day))
    if code == est.LIVE_UNDER_A_WEEK:
        return words.lazy_gettext("live for less than a week")
    if code == est.NO_TREATED:
        return words.lazy_gettext("no deployed site has data in both windows")
    if code == est.NO_TREATED_IN_REGION:
        return words.lazy_gettext("no deployed site of this region has data in both windows")
    if code == est.FEW_COMPARISON:
        return words.ngettext(
            "fewer than %(min)d comparison sites with data in both windows (%(num)d)",
            "fewer than %(min)d comparison sites with data in both windows (%(num)d)",
            note.num,
            min=est.MIN_COMPARISON_SITES,
        )
    if code == est.RUNNING:
        return words.ngettext(
            "post window still running: computed on the %(num)d week elapsed",
            "post window still running: computed on the %(num)d weeks elapsed",
            note.num,
        )
    if code == est.NO_WAVE:
        return words.lazy_gettext("the package has no deployment wave")
    if code == est.NONE_LIVE:
        return words.lazy_gettext("no wave of the package has been live for a whole week yet")
    if code == est.NO_WAVE_WITH_COMPARISON:
        return words.ngettext(
            "no wave has at least %(num)d comparison sites with data in both windows",
            "no wave has at least %(num)d comparison sites with data in both windows",
            note.num,
        )
    if code == est.NO_PACKAGE:
        return words.lazy_gettext("no package has deployment waves yet")
    return words.lazy_gettext("no wave could be compared")


def _not_computable(reason) -> words.Words:
    if isinstance(reason, Note):
        reason = note_words(reason)
    return words.lazy_gettext("Not computable: %(reason)s.", reason=reason)


def reading(result, problem=None) -> words.Words:
    """One paragraph a director can read aloud; it never claims more than the interval.
    `problem` (a Note or text; default: the result's) says why an estimate is missing."""
    if result.estimate is None or result.ci_low is None or result.ci_high is None:
        return _not_computable(problem or result.problem or Note(est.NONE_COMPARED))
    kpi = result.kpi_subject or result.kpi_name
    subject = (
        words.lazy_gettext("%(kpi)s, %(region)s", kpi=kpi, region=result.region_name)
        if result.region_name
        else kpi
    )
    same = (abs(result.estimate), result.ci_high - result.ci_low)

    def amount_words(value: float, signed: bool = True) -> words.Later:
        return words.later(amount_text, result.kind, result.unit, value, signed, *same)

    values = {
        "kpi": subject,
        "amount": amount_words(abs(result.estimate), signed=False),
        "change": amount_words(result.estimate),
        "low": amount_words(result.ci_low),
        "high": amount_words(result.ci_high),
    }
    if result.clear_effect and result.estimate < 0:
        text = words.lazy_gettext(
            "%(kpi)s: sites that deployed the package lowered it by %(amount)s "
            "(95%% interval %(low)s to %(high)s) relative to sites not yet deployed",
            **values,
        )
    elif result.clear_effect:
        text = words.lazy_gettext(
            "%(kpi)s: sites that deployed the package raised it by %(amount)s "
            "(95%% interval %(low)s to %(high)s) relative to sites not yet deployed",
            **values,
        )
    else:
        text = words.lazy_gettext(
            "%(kpi)s: no clear effect of the package; estimated change %(change)s relative "
            "to sites not yet deployed (95%% interval %(low)s to %(high)s, which includes "
            "zero)",
            **values,
        )
    text = words.lazy_gettext(
        "%(reading)s, over %(weeks)s, %(waves)s, %(sites)s",
        reading=text,
        weeks=words.ngettext("%(num)d week", "%(num)d weeks", result.window_weeks),
        waves=words.ngettext("%(num)d wave", "%(num)d waves", result.n_waves),
        sites=words.ngettext(
            "%(count)s site",
            "%(count)s sites",
            result.n_sites,
            count=words.decimal(result.n_sites),
        ),
    )
    if result.favourable is True:
        text = words.lazy_gettext("%(reading)s: an improvement.", reading=text)
    elif result.favourable is False:
        text = words.lazy_gettext("%(reading)s: a change in the wrong direction.", reading=text)
    else:
        text = words.join([text, "."], "")
    notes = [text]
    left_out = [w for w in result.waves if not w.included]
    running = [w for w in result.waves if w.included and w.post_weeks < result.window_weeks]
    if running:
        notes.append(
            words.ngettext(
                "%(num)d wave is still within its post window: computed on the weeks elapsed.",
                "%(num)d waves are still within their post window: computed on the weeks elapsed.",
                len(running),
            )
        )
    if left_out:
        notes.append(
            words.ngettext(
                "%(num)d wave left out (see the table of waves).",
                "%(num)d waves left out (see the table of waves).",
                len(left_out),
            )
        )
    missing = sum(w.n_treated_missing for w in result.waves if w.included)
    if missing:
        notes.append(
            words.ngettext(
                "%(num)d deployed site without data in both windows was left out.",
                "%(num)d deployed sites without data in both windows were left out.",
                missing,
            )
        )
    return words.join(notes, " ")


def arm_label(arm: str) -> str:
    """The name of an event-time line: the deployed sites or the sites not yet deployed."""
    return _("Deployed sites") if arm == est.DEPLOYED else _("Sites not yet deployed")


def impact_chart(result) -> dict[str, Any]:
    """Vega-Lite event-time chart: weeks since go-live on x, the pooled value of the deployed
    sites and of the sites not yet deployed on y, go-live marked by a rule. An empty dict
    when there is nothing to draw (no wave in the estimate)."""
    if not result.event_time:
        return {}
    y_title = f"{result.kpi_name} ({result.unit})" if result.unit else result.kpi_name
    drawn = [row.get("value") for row in result.event_time]
    y_axis, value_tip = value_axis(y_title, result.kind == "rate", drawn, zero=False)
    week_title = _("Weeks since go-live")
    return {
        "$schema": SCHEMA,
        "title": _("%(kpi)s by week since go-live", kpi=result.kpi_name),
        "width": "container",
        "height": 240,
        "autosize": {"type": "fit", "contains": "padding", "resize": True},
        "layer": [
            {
                "data": {"values": [{"week": 0, "label": _("Go-live")}]},
                "mark": {"type": "rule", "strokeDash": [4, 4], "color": "#6b7280"},
                "encoding": {
                    "x": {"field": "week", "type": "quantitative"},
                    "tooltip": [{"field": "label", "type": "nominal", "title": _("Event")}],
                },
            },
            {
                "data": {
                    "values": [{**row, "label": arm_label(row["arm"])} for row in result.event_time]
                },
                "mark": {"type": "line", "point": True},
                "encoding": {
                    "x": {
                        "field": "week",
                        "type": "quantitative",
                        "title": week_title,
                        "scale": {"domain": [-result.window_weeks, result.window_weeks - 1]},
                        "axis": {"tickMinStep": 1, "format": "d"},
                    },
                    "y": {
                        "field": "value",
                        "type": "quantitative",
                        "axis": y_axis,
                        "scale": {"zero": False},
                    },
                    "color": {
                        "field": "label",
                        "type": "nominal",
                        "title": _("Sites"),
                        "scale": {"range": ["#2563eb", "#6b7280"]},
                        "legend": {"orient": "bottom", "direction": "vertical"},
                    },
                    "strokeDash": {"field": "label", "type": "nominal", "title": _("Sites")},
                    "tooltip": [
                        {"field": "week", "type": "quantitative", "title": week_title},
                        {"field": "label", "type": "nominal", "title": _("Sites")},
                        value_tip,
                        {"field": "sites", "type": "quantitative", "title": _("Sites measured")},
                        {"field": "n", "type": "quantitative", "title": "n"},
                    ],
                },
            },
        ],
    }
