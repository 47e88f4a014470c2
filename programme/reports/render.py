"""Static rendering of the charts for the PDF report: the same Vega-Lite spec dicts that
vega-embed draws on screen, rendered to SVG server-side by vl-convert (one charting approach
for the whole app).

vl-convert embeds Vega and Vega-Lite; `VL_VERSION` matches the vendored vega-lite 6.4.x so a
spec draws the same on screen and on paper. No network access: `allowed_base_urls=[]`
refuses any remote data or image, and every spec carries its data inline. Output is
deterministic for a given spec (no timestamps, no random ids)."""

from __future__ import annotations

import copy
import json
from functools import lru_cache
from typing import Any

import vl_convert

VL_VERSION = "6.4"
# Plot width used on paper for specs sized to their container on screen; with axes and
# labels the SVG is about 700 px wide and is scaled to the page (A4 portrait, 15 mm margins).
PRINT_WIDTH = 560

_LOCALES = {"fr": "fr-FR", "en": "en-US"}
# Paper is narrower than a desktop screen: legends go under the chart so they never push
# the plot (or get cut) at the right margin; fonts match the PDF's.
PRINT_CONFIG = {
    "font": "DejaVu Sans",
    "legend": {"orient": "bottom", "titleLimit": 400, "labelLimit": 300},
    "axis": {"labelLimit": 220},
}


def _for_print(spec: dict[str, Any], width: int) -> dict[str, Any]:
    """A copy of `spec` with "container" sizes fixed: there is no container on paper."""
    printable = copy.deepcopy(spec)

    def fix(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("width") == "container":
                node["width"] = width
            if node.get("height") == "container":
                node["height"] = 240
            for value in node.values():
                fix(value)
        elif isinstance(node, list):
            for value in node:
                fix(value)

    fix(printable)
    # On screen, "fit" squeezes title, axes and legend into the container; on paper the
    # figure scales to the page width, so let the plot keep its size and the SVG grow.
    printable["autosize"] = {"type": "pad"}
    return printable


@lru_cache(maxsize=256)
def _svg_cached(spec_json: str, locale: str) -> str:
    return vl_convert.vegalite_to_svg(
        json.loads(spec_json),
        vl_version=VL_VERSION,
        config=PRINT_CONFIG,
        allowed_base_urls=[],
        format_locale=locale,
        time_format_locale=locale,
    )


def svg(spec: dict[str, Any], locale: str = "en", width: int = PRINT_WIDTH) -> str:
    """Render a Vega-Lite spec dict to an SVG document (a string starting with `<svg`).

    `locale` ("fr"/"en") sets the number and date formats of axes and labels. The XML
    declaration, if any, is dropped so the result can be inlined in HTML."""
    printable = _for_print(spec, width)
    code = _LOCALES.get((locale or "en")[:2], "en-US")
    text = _svg_cached(json.dumps(printable, sort_keys=True, default=str), code)
    start = text.find("<svg")
    return text[start:] if start > 0 else text
