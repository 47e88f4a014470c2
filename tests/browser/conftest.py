"""Browser tests: Playwright (sync API) driving Debian's Chromium against a live server.

- `live_server`: the shared `app` served on a free loopback port for the whole session.
- `browser`: one Chromium for the whole session; `open_page` opens one context per call
  and fails the test if the page logged a console error or threw (CSP violations included).
- Helpers in `support.py`: `check_accessibility(page)` (axe-core, shipped inside the
  axe-playwright-python wheel from PyPI, never a CDN; serious and critical violations fail
  the test), `save_screenshot(page, name)` (tests/browser/screenshots/, git-ignored) and
  `assert_no_horizontal_overflow(page)`.

Every test here is marked `browser`. CSRF protection is on for every browser test."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

HERE = Path(__file__).parent
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORTS = {
    "mobile": {"width": 375, "height": 812},
    "desktop": {"width": 1280, "height": 900},
}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(autouse=True)
def _csrf_enabled(csrf_on):
    """The real thing: forms and htmx requests must carry their CSRF token."""
    yield


@pytest.fixture(scope="session")
def live_server(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()


@pytest.fixture(scope="session")
def browser():
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        pytest.fail(
            f"Chromium not found at {CHROMIUM}: the browser tests need Debian's chromium "
            "package (`make browser-deps`, or `apt-get install chromium`), or set CHROMIUM_PATH.",
            pytrace=False,
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def open_page(browser, live_server):
    """`open_page("mobile"|"desktop", locale="en-US", expected_statuses=())` -> a Page in a
    fresh context (`expected_statuses`: HTTP errors the page expects, e.g. 422).

    URLs are relative to the live server. Console errors and uncaught exceptions on any
    page opened here fail the test at teardown."""
    contexts = []
    problems: list[str] = []

    def _console_handler(expected_statuses: tuple[int, ...]):
        # Chromium logs every 4xx answer as a console error; a page that expects one (an
        # htmx form answered 422 with its errors) names it.
        expected = tuple(f"status of {code} " for code in expected_statuses)

        def _on_console(message):
            if message.type == "error":
                if (
                    expected
                    and message.text.startswith("Failed to load resource")
                    and any(status in message.text for status in expected)
                ):
                    return
                location = message.location or {}
                problems.append(f"console error: {message.text} ({location.get('url', '')})")

        return _on_console

    def _open(viewport: str = "mobile", locale: str = "en-US", expected_statuses=()):
        context = browser.new_context(
            viewport=VIEWPORTS[viewport], locale=locale, base_url=live_server
        )
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        page.on("console", _console_handler(tuple(expected_statuses)))
        page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
        return page

    yield _open
    for context in contexts:
        context.close()
    if problems:
        report = "\n".join(problems)
        print(report)
        pytest.fail(f"The browser reported errors:\n{report}", pytrace=False)
