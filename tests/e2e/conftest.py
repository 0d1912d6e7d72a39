"""Real-browser harness: a Streamlit server on a free port and Debian's Chromium via Playwright.

How the server and the browser start lives in tests/e2e/server.py, shared with
benchmarks/dashboard_responsiveness.py. The journey's screenshots go to a temporary folder, and
to HGYM_SCREENSHOT_DIR when it is set: `make screenshots` sets it to docs/screenshots/ (the
README's), so `make test` leaves the tracked images alone.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.server import VIEWPORT, chromium, missing_chromium_message, streamlit_server
from tests.e2e.ui import Wire

# Streamlit scrolls inside <main>, so a "full page" screenshot would stop at the window's
# height: the window grows to the main area's height for the shot (bounded, to keep PNGs small).
MAX_SCREENSHOT_HEIGHT = 12_000
# Shared 2-core CI machines are slow; these bound waits on conditions, they are not sleeps.
expect.set_options(timeout=30_000)


@pytest.fixture(scope="session")
def app_url(tmp_path_factory) -> str:
    with streamlit_server(tmp_path_factory.mktemp("e2e")) as url:
        yield url


@pytest.fixture(scope="session")
def browser():
    problem = missing_chromium_message()
    if problem:
        pytest.fail(problem)
    with chromium() as launched:
        yield launched


@pytest.fixture(scope="session")
def page(browser, app_url):
    """One tab for the whole journey: the steps build on each other, as a user's would."""
    context = browser.new_context(viewport=VIEWPORT, accept_downloads=True)
    tab = context.new_page()
    tab.set_default_timeout(60_000)
    Wire(tab)   # lets the steps wait for the script run each action caused (tests/e2e/ui.py)
    yield tab
    context.close()


@pytest.fixture(scope="session")
def screenshot(tmp_path_factory):
    folder = Path(os.environ.get("HGYM_SCREENSHOT_DIR") or tmp_path_factory.mktemp("screenshots"))
    folder.mkdir(parents=True, exist_ok=True)

    def take(tab, name: str) -> Path:
        path = folder / f"{name}.png"
        height = tab.evaluate("document.querySelector('[data-testid=\"stMain\"]')?.scrollHeight ?? 0")
        tab.set_viewport_size({"width": VIEWPORT["width"],
                               "height": min(max(height, VIEWPORT["height"]), MAX_SCREENSHOT_HEIGHT)})
        try:
            tab.evaluate("new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))")
            tab.screenshot(path=str(path), full_page=True)
        finally:
            tab.set_viewport_size(VIEWPORT)
        return path

    return take


# Journey steps build on each other: once one fails, the later ones would only fail confusingly.
_failed_step: dict[str, str] = {}   # module name -> the first journey step that failed in it


def pytest_runtest_setup(item: pytest.Item) -> None:
    failed = _failed_step.get(item.module.__name__)
    if item.get_closest_marker("journey") and failed:
        pytest.skip(f"an earlier journey step failed: {failed}")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call):
    report = yield
    if report.failed and item.get_closest_marker("journey"):
        _failed_step.setdefault(item.module.__name__, item.name)
    return report
