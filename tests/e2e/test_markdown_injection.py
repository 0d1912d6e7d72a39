"""A table whose column names and labels are Markdown makes the browser fetch nothing and shows no link.

A column named ``![p](http://127.0.0.1:<port>/x.png)`` once made the Data page's browser request that
address, and a label rendered as a link "Session expired - click to log in". Here a small HTTP
server on its own port records every request; the pages that show the upload's names must send
it none and hold no link or image to it.
"""

from __future__ import annotations

import http.server
import threading

import pytest
from playwright.sync_api import Page, expect

from pages._format import REWRITTEN_WORDS, WORD_JOINER
from tests.e2e.server import VIEWPORT, free_port
from tests.e2e.ui import Wire, open_page, settle, upload

pytestmark = pytest.mark.e2e

FIRST_RUN_S = 240


@pytest.fixture
def listener():
    """(port, the paths requested from it) of an HTTP server that answers 404 to everything."""
    hits: list[str] = []

    class Recorder(http.server.BaseHTTPRequestHandler):
        def do_GET(self):   # noqa: N802 - the http.server API
            hits.append(self.path)
            self.send_error(404)

        def log_message(self, *args):   # quiet
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], hits
    server.shutdown()
    thread.join()


def hostile_csv(port: int) -> tuple[str, bytes]:
    image, link = f"![p](http://127.0.0.1:{port}/x.png)", f"[Session expired - click to log in](http://127.0.0.1:{port}/login)"
    rows = [f"PatientID,Month,\"{image}\",Status"]
    for patient in range(12):
        for month in range(6):
            rows.append(f"{patient},{month},{100 + 7 * patient + month},\"{link if (patient + month) % 2 else 'ok'}\"")
    return f"[table](http://127.0.0.1:{port}/file).csv", "\n".join(rows).encode()


def as_shown(text: str) -> str:
    """The text as the page shows it: with the invisible word joiner that keeps an address from
    turning into a link (pages/_format.py)."""
    return REWRITTEN_WORDS.sub(WORD_JOINER, text)


def links_to(tab: Page, port: int) -> list[str]:
    return tab.evaluate(f"""() => [...document.querySelectorAll('a[href*=":{port}"], img[src*=":{port}"]')]
                            .map(element => element.outerHTML)""")


def test_markdown_in_column_names_and_labels_is_shown_as_text_and_fetches_nothing(browser, app_url, listener):
    port, hits = listener
    context = browser.new_context(viewport=VIEWPORT)
    try:
        tab = context.new_page()
        tab.set_default_timeout(60_000)
        Wire(tab)
        settle(tab, lambda: tab.goto(app_url), FIRST_RUN_S)
        name, content = hostile_csv(port)
        upload(tab, name, content)
        expect(tab.get_by_text(as_shown(f"Working on {name}"))).to_be_visible()   # the names, as typed
        expect(tab.get_by_text(as_shown(f"![p](http://127.0.0.1:{port}/x.png) (numeric)"))).to_be_visible()
        tab.wait_for_load_state("networkidle")
        assert links_to(tab, port) == [] and hits == []
        for page in ("Train", "Runs", "Data"):   # the sidebar and the Train page name the data too
            open_page(tab, page)
            tab.wait_for_load_state("networkidle")
            assert links_to(tab, port) == [], page
        assert hits == [], f"the browser requested {hits} from the address in the file"
    finally:
        context.close()
