"""Helpers for the browser journeys: accessibility, screenshots, layout at 375 px."""

from __future__ import annotations

from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe

_AXE = Axe()  # axe-core's axe.min.js as shipped in the wheel (PyPI), injected per page

SCREENSHOTS = Path(__file__).parent / "screenshots"
BLOCKING_IMPACTS = ("serious", "critical")


def check_accessibility(page) -> None:
    """Run axe-core on the page; fail on any serious or critical violation."""
    results = _AXE.run(page)
    blocking = [v for v in results.response["violations"] if v["impact"] in BLOCKING_IMPACTS]
    if blocking:
        lines = [f"Accessibility violations on {page.url}:"]
        for violation in blocking:
            lines.append(f"- {violation['id']} ({violation['impact']}): {violation['help']}")
            for node in violation["nodes"]:
                lines.append(f"    {', '.join(map(str, node['target']))}: {node['html'][:200]}")
        pytest.fail("\n".join(lines), pytrace=False)


def save_screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def assert_no_horizontal_overflow(page, width: int = 375) -> None:
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, f"{page.url} is {scroll_width}px wide at a {width}px viewport"


def check_page(page, viewport: str) -> None:
    """The checks every journey runs on each page it visits: axe (no serious or critical
    violation) and, on a phone, nothing wider than the screen."""
    check_accessibility(page)
    if viewport == "mobile":
        assert_no_horizontal_overflow(page)
