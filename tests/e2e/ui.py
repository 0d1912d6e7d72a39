"""Driving the dashboard like a user, through Playwright: the few Streamlit habits a test must know.

Streamlit redraws a page by rerunning its script after every widget change, and a value typed
while an earlier run is still drawing can be overwritten by that run. So every action here
waits until the script run it caused has finished (``settle``). The page cannot tell by itself
(the "Running…" widget appears only after 0.5 s), so ``Wire`` listens to the websocket through
Chromium's DevTools protocol and decodes each frame with Streamlit's own protobuf classes: a
BackMsg ``rerun_script`` asks for a run (with ``fragment_id`` for a fragment), a ForwardMsg
``new_session`` starts one and ``script_finished`` ends it. The frames carry the network
layer's timestamps, which the responsiveness benchmark uses as its clock.

Every locator is a label, heading or text the user sees. Used by the journey test and
benchmarks/dashboard_responsiveness.py.
"""

from __future__ import annotations

import base64
import re
import time
import weakref
from dataclasses import dataclass

from playwright.sync_api import Locator, Page, expect
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

SETTLE_TIMEOUT_S = 120.0
POLL_MS = 25
BINARY_FRAME = 2   # WebSocket opcode
FINISHED = ForwardMsg.ScriptFinishedStatus


@dataclass(frozen=True)
class WireEvent:
    """A websocket message about script runs, at ``t`` seconds on the browser's network clock."""

    t: float
    kind: str               # "request", "start" or "finish"
    fragment_id: str = ""   # a request's fragment ("" = the whole page)
    status: str = ""        # a finish's ScriptFinishedStatus name


class Wire:
    """The run requests, starts and ends on a page's Streamlit websocket, in arrival order."""

    _of_page: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def __init__(self, page: Page) -> None:
        self.page = page
        self._events: list[WireEvent] = []
        session = page.context.new_cdp_session(page)
        session.on("Network.webSocketFrameSent", lambda frame: self._take(frame, BackMsg))
        session.on("Network.webSocketFrameReceived", lambda frame: self._take(frame, ForwardMsg))
        session.send("Network.enable")
        Wire._of_page[page] = self

    @classmethod
    def of(cls, page: Page) -> "Wire":
        if page not in cls._of_page:
            raise RuntimeError("call Wire(page) before the page opens the app, so its websocket is recorded")
        return cls._of_page[page]

    def _take(self, frame: dict, message_type) -> None:
        response = frame["response"]
        if response.get("opcode") != BINARY_FRAME:
            return
        message = message_type.FromString(base64.b64decode(response["payloadData"]))
        kind, t = message.WhichOneof("type"), float(frame["timestamp"])
        if kind == "rerun_script":
            self._events.append(WireEvent(t, "request", fragment_id=message.rerun_script.fragment_id))
        elif kind == "new_session":
            self._events.append(WireEvent(t, "start"))
        elif kind == "script_finished":
            self._events.append(WireEvent(t, "finish", status=FINISHED.Name(message.script_finished)))

    def take(self) -> list[WireEvent]:
        """The events recorded since the last call (Playwright delivers them while it waits)."""
        events, self._events = self._events, []
        return events

    def settle(self, action, timeout_s: float = SETTLE_TIMEOUT_S) -> list[WireEvent]:
        """Do ``action`` (a click, a key press) and wait until the page run it requested finished;
        returns the events seen meanwhile.

        Done means: after the last whole-page run request, a run started and then finished
        successfully. Fragment runs (the live panel's timer) do not count, and neither does a
        run that was already going when the action happened (it started before the request).
        """
        self.page.wait_for_timeout(0)   # deliver what is pending, then forget it
        self.take()
        action()
        seen: list[WireEvent] = []
        requested = started = finished = False
        deadline = time.monotonic() + timeout_s
        while not finished:
            if time.monotonic() > deadline:
                recent = ", ".join(f"{e.kind} {e.fragment_id or e.status}".strip() for e in seen[-12:])
                raise TimeoutError(f"the page run after the action did not finish within {timeout_s:.0f} s "
                                   f"(requested={requested}, started={started}; last events: {recent})")
            self.page.wait_for_timeout(POLL_MS)
            for event in self.take():
                seen.append(event)
                if event.kind == "request" and not event.fragment_id:
                    requested, started, finished = True, False, False
                elif event.kind == "start" and requested:
                    started = True
                elif event.kind == "finish" and started:
                    finished = event.status == "FINISHED_SUCCESSFULLY"
        return seen


def settle(page: Page, action, timeout_s: float = SETTLE_TIMEOUT_S) -> list[WireEvent]:
    """``Wire.settle`` on the page's recorded websocket."""
    return Wire.of(page).settle(action, timeout_s)


def nav_link(page: Page, title: str) -> Locator:
    """The sidebar's navigation entry for a page (its visible title; the icon is a separate glyph)."""
    return page.get_by_test_id("stSidebarNav").get_by_text(title, exact=True)


def page_heading(page: Page, title: str) -> Locator:
    return page.get_by_role("heading", name=title, exact=True, level=1)


def open_page(page: Page, title: str) -> None:
    """Click a page in the sidebar; wait until its run finished and its title is shown."""
    settle(page, nav_link(page, title).click)
    expect(page_heading(page, title)).to_be_visible()


def click(page: Page, button: str, timeout_s: float = SETTLE_TIMEOUT_S) -> None:
    """Press a button (its visible label) and wait for the run it causes."""
    settle(page, page.get_by_role("button", name=button, exact=True).click, timeout_s)


def number_input(page: Page, label: str) -> Locator:
    return page.get_by_role("spinbutton", name=label, exact=True)


def set_number(page: Page, label: str, value: int) -> None:
    """Type a number and commit it (Enter), as a user does."""
    _type_and_commit(number_input(page, label), str(value), page)


def set_text(page: Page, label: str, value: str) -> None:
    _type_and_commit(page.get_by_role("textbox", name=label, exact=True), value, page)


def _type_and_commit(field: Locator, value: str, page: Page) -> None:
    if field.input_value() == value:   # unchanged: Streamlit would not rerun
        return
    field.fill(value)
    settle(page, lambda: field.press("Enter"))
    expect(field).to_have_value(value)


def sidebar(page: Page) -> Locator:
    return page.get_by_test_id("stSidebar")


def number_after(pattern: str, text: str) -> int | None:
    """The integer captured by ``pattern`` in ``text`` (e.g. r"step ([\\d,]+)"; "1,234" reads 1234), or None."""
    found = re.search(pattern, text)
    return int(found.group(1).replace(",", "")) if found else None


def choose(page: Page, label: str, option: str) -> None:
    """Pick ``option`` in the select box labelled ``label``."""
    box = page.get_by_role("combobox", name=label, exact=True)
    if box.input_value() == option:
        return
    box.click()
    settle(page, page.get_by_role("option", name=option, exact=True).click)
    expect(box).to_have_value(option)


def upload(page: Page, file_name: str, content: bytes) -> None:
    """Drop a table file on the Data page's uploader and wait for the run it causes."""
    uploader = page.get_by_test_id("stFileUploader").filter(has_text="CSV, CSV.gz or Parquet")
    settle(page, lambda: uploader.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(
        files=[{"name": file_name, "mimeType": "text/csv", "buffer": content}]))
