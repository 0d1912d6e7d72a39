"""Deep links in a real browser: every page opens from its own URL in a new tab, including as the
very first request a freshly started server gets (a bookmark opened after a restart).

Streamlit treats a folder named pages/ next to app.py as a legacy multipage app until some run
has called st.navigation: the first run of a fresh server resolves the URL against the files in
pages/ instead of app.py's url_paths, finds none and shows "Page not found" over the right page
(streamlit/runtime/pages_manager.py sets ``PagesManager.uses_pages_directory``;
streamlit/runtime/scriptrunner/script_runner.py runs ``_mpa_v1`` while it is true). The test of
that first request is an expected failure while the pages/ folder keeps its name, and strict: it
fails as soon as the cause is gone, so the marker (and `make run`'s warm-up run, which spares
users the dialog and is tested here too) cannot outlive the defect.
"""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect

from tests.e2e.server import REPO, VIEWPORT, streamlit_server
from tests.e2e.ui import Wire, page_heading, settle

pytestmark = pytest.mark.e2e

FIRST_PAGE = ("training", "Train")   # the sub-page a fresh server is asked for first
# The default page (Data) lives at the root: Streamlit ignores a default page's url_path.
PAGES = [("", "Data"), FIRST_PAGE, ("comparison", "Compare"), ("generation", "Generate"),
         ("models", "Runs")]
NOT_FOUND = "Page not found"
FIRST_RUN_S = 240   # the Data page simulates the built-in cohort on its first run (2 busy cores)
LEGACY_PAGES_FOLDER = (REPO / "pages").is_dir()


def shows_not_found(browser, url: str, title: str) -> bool:
    """Open ``url`` in a new tab, as a bookmark is, and wait until the run it starts has finished
    and the page ``title`` is shown; whether Streamlit's "Page not found" dialog is shown too."""
    context = browser.new_context(viewport=VIEWPORT)
    try:
        tab = context.new_page()
        Wire(tab)
        settle(tab, lambda: tab.goto(url), FIRST_RUN_S)
        expect(page_heading(tab, title)).to_be_visible()
        # "Page not found" is sent before the run ends; one more frame lets the dialog draw.
        tab.evaluate("new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))")
        return tab.get_by_text(NOT_FOUND).count() > 0
    finally:
        context.close()


@pytest.fixture(scope="module")
def fresh_server(tmp_path_factory, browser) -> tuple[str, bool]:
    """A server started for this file, and whether its very first request (a sub-page) showed
    "Page not found" (made here, so it is the first whichever tests run)."""
    with streamlit_server(tmp_path_factory.mktemp("deep-links")) as url:
        url_path, title = FIRST_PAGE
        yield url, shows_not_found(browser, f"{url}/{url_path}", title)


@pytest.mark.xfail(LEGACY_PAGES_FOLDER, strict=True,
                   reason="a pages/ folder next to app.py makes a fresh server's first run resolve the "
                          "URL as a legacy multipage app (see the module docstring)")
def test_the_first_request_to_a_fresh_server_opens_a_sub_page_without_page_not_found(fresh_server) -> None:
    _, not_found_first = fresh_server
    assert not not_found_first, f"{NOT_FOUND!r} shown on the first request to /{FIRST_PAGE[0]}"


def test_make_run_warms_up_the_server_so_a_first_visit_to_a_sub_page_shows_no_dialog(tmp_path, browser) -> None:
    """`make run` (the README's launch command) makes one run itself as the server starts."""
    log = tmp_path / "streamlit.log"
    with streamlit_server(tmp_path, via_make=True) as url:
        deadline = time.monotonic() + FIRST_RUN_S
        while "is ready" not in log.read_text():
            assert time.monotonic() < deadline, f"no warm-up within {FIRST_RUN_S} s:\n{log.read_text()[-2000:]}"
            time.sleep(0.2)
        url_path, title = FIRST_PAGE
        assert not shows_not_found(browser, f"{url}/{url_path}", title)


@pytest.mark.parametrize(("url_path", "title"), PAGES, ids=[title for _, title in PAGES])
def test_each_page_opens_from_its_url_in_a_new_tab(browser, fresh_server, url_path: str, title: str) -> None:
    url, _ = fresh_server
    assert not shows_not_found(browser, f"{url}/{url_path}", title), f"{NOT_FOUND!r} shown on /{url_path}"


def test_an_unknown_url_says_page_not_found_and_opens_the_default_page(browser, fresh_server) -> None:
    """The check above can see the dialog: a URL no page has gets it, over the Data page."""
    url, _ = fresh_server
    assert shows_not_found(browser, f"{url}/no-such-page", "Data")
