"""Dashboard responsiveness while a training run uses the CPU (targets: a page switch renders
within 1 s; a live-panel update costs at most 100 ms of server time).

Starts the dashboard and a headless Chromium with the browser-test harness (tests/e2e), opens
the built-in cohort, starts a training run from the Train page (quick preset, device cpu,
enough epochs to outlast the measurement), then measures:

(a) page switch: click a page in the sidebar -> the new page's title is drawn (browser clock,
    checked every animation frame), over every page, several rounds; next to it the page's
    whole script run on the server. The same rounds before training starts give the baseline,
    so the cost of training shows apart from the machine's own speed;
(b) live-panel update: on the Train page, each timer rerun of the live-panel fragment.

Server time is taken inside the server (benchmarks/server_timing/sitecustomize.py logs when a
run request arrives and when its script_finished is handed to the websocket). The browser's
view, request frame sent -> script_finished frame received, is printed beside it: it also
counts the browser drawing the run's earlier messages (Chromium stamps websocket frames when
its busy page thread takes them), so it is the longer of the two.

    .venv/bin/python benchmarks/dashboard_responsiveness.py [--rounds 3] [--live-seconds 20]
"""

from __future__ import annotations

import argparse
import math
import os
import re
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from playwright.sync_api import expect  # noqa: E402

from tests.e2e.server import VIEWPORT, chromium, missing_chromium_message, streamlit_server  # noqa: E402
from tests.e2e.ui import (  # noqa: E402
    FINISHED, Wire, WireEvent, choose, click, open_page, set_number, set_text, settle,
)

PAGE_SWITCH_TARGET_MS = 1000
LIVE_UPDATE_TARGET_MS = 100
PAGES = ("Compare", "Generate", "Runs", "Data", "Train")   # from Data (start) round to Train
RUN_NAME = "responsiveness"
PROGRESS = '[data-testid="stMain"] [data-testid="stProgress"]'
SERVER_TIMING = Path(__file__).resolve().parent / "server_timing"
# Clicks a sidebar entry and resolves with the milliseconds until the new page's title is drawn.
SWITCH_JS = """async (title) => {
    const link = [...document.querySelectorAll('[data-testid="stSidebarNav"] a')]
        .find(a => a.innerText.trim().split("\\n").pop().trim() === title);
    const drawn = () => [...document.querySelectorAll('[data-testid="stMain"] h1')]
        .some(h => h.textContent.trim() === title && h.getClientRects().length > 0);
    const start = performance.now();
    link.click();
    while (!drawn()) await new Promise(frame => requestAnimationFrame(frame));
    return performance.now() - start;
}"""


class ServerLog:
    """The run requests and finishes as the server saw them, on the shared monotonic clock."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def events(self, since: float, until: float = float("inf")) -> list[WireEvent]:
        if not self.path.exists():
            return []
        events = []
        for line in self.path.read_text().splitlines():
            t, kind, detail = line.split()
            if since <= float(t) <= until:
                events.append(WireEvent(float(t), "request", fragment_id=detail.strip("-")) if kind == "request"
                              else WireEvent(float(t), "finish", status=FINISHED.Name(int(detail))))
        return events


def page_run_ms(events: list[WireEvent]) -> float:
    """Whole-page run: its request -> the successful script_finished after it."""
    request = next(e for e in events if e.kind == "request" and not e.fragment_id)
    finish = next(e for e in events if e.kind == "finish" and e.t >= request.t and e.status == "FINISHED_SUCCESSFULLY")
    return (finish.t - request.t) * 1000


def fragment_update_ms(events: list[WireEvent]) -> dict[str, list[float]]:
    """Per fragment: each timer request -> the next fragment run's script_finished."""
    times = defaultdict(list)
    finishes = [e for e in events if e.kind == "finish" and e.status == "FINISHED_FRAGMENT_RUN_SUCCESSFULLY"]
    for request in (e for e in events if e.kind == "request" and e.fragment_id):
        finish = next((f for f in finishes if f.t >= request.t), None)
        if finish is not None:
            times[request.fragment_id].append((finish.t - request.t) * 1000)
    return times


def describe(values: list[float], target_ms: float) -> str:
    verdict = lambda value: "met" if value <= target_ms else "MISSED"  # noqa: E731
    ordered = sorted(values)
    median, p90, worst = statistics.median(ordered), ordered[math.ceil(0.9 * len(ordered)) - 1], ordered[-1]
    return (f"median {median:6.0f} ms  p90 {p90:6.0f} ms  max {worst:6.0f} ms  (n={len(values)})   "
            f"target <= {target_ms:.0f} ms: median {verdict(median)}, max {verdict(worst)}")


def switch_pages(page, wire: Wire, server: ServerLog, rounds: int) -> dict[str, dict[str, list[float]]]:
    """Visit every page ``rounds`` times: per page, the browser's and the server's milliseconds."""
    drawn, on_server = defaultdict(list), defaultdict(list)
    for _ in range(rounds):
        for title in PAGES:
            shown: list[float] = []
            started = time.monotonic()
            wire.settle(lambda: shown.append(page.evaluate(SWITCH_JS, title)))
            drawn[title].append(shown[0])
            on_server[title].append(page_run_ms(server.events(started, time.monotonic())))
    return {"drawn": drawn, "server": on_server}


def print_switches(label: str, switches: dict[str, dict[str, list[float]]]) -> None:
    drawn, server = switches["drawn"], switches["server"]
    print(f"(a) page switch {label}: click -> title drawn (browser) | page run, request -> finished (server)")
    print(f"    all pages  {describe([v for values in drawn.values() for v in values], PAGE_SWITCH_TARGET_MS)}")
    for title in PAGES:
        print(f"    {title:<10} {describe(drawn[title], PAGE_SWITCH_TARGET_MS)} | server median "
              f"{statistics.median(server[title]):.0f} ms, max {max(server[title]):.0f} ms")


def print_fragments(label: str, fragments: dict[str, list[float]]) -> None:
    # The live panel reruns every second, the sidebar's job status every 3 s: the most frequent is the panel.
    ranked = sorted(fragments.values(), key=len, reverse=True)
    if not ranked:
        print(f"    {label}: no live-panel update was recorded")
        return
    print(f"    {label}")
    print(f"      live panel     {describe(ranked[0], LIVE_UPDATE_TARGET_MS)}")
    for other in ranked[1:]:
        print(f"      sidebar status {describe(other, LIVE_UPDATE_TARGET_MS)}")


def start_training(page) -> str:
    open_page(page, "Train")
    page.get_by_text("Advanced settings").click()
    choose(page, "Device", "cpu")
    set_number(page, "Epochs", 1000)   # outlasts the measurement; stopped at the end
    set_text(page, "Run name", RUN_NAME)
    click(page, "Start training")
    expect(page.locator(PROGRESS)).to_contain_text(re.compile(r" · running · .* · step [1-9]\d*/"), timeout=180_000)
    return page.locator(PROGRESS).inner_text()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="rounds over every page for the page switches")
    parser.add_argument("--live-seconds", type=float, default=20, help="how long to record live-panel updates")
    args = parser.parse_args()
    problem = missing_chromium_message()
    if problem:
        sys.exit(problem)

    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="hgym-responsiveness-") as workdir:
        server = ServerLog(Path(workdir) / "server-timing.log")
        timing = {"PYTHONPATH": os.pathsep.join(filter(None, [str(SERVER_TIMING), os.environ.get("PYTHONPATH")])),
                  "HGYM_SERVER_TIMING_LOG": str(server.path)}
        with streamlit_server(Path(workdir), extra_env=timing) as url, chromium() as browser:
            page = browser.new_context(viewport=VIEWPORT).new_page()
            page.set_default_timeout(120_000)
            wire = Wire(page)
            settle(page, lambda: page.goto(url), timeout_s=300)   # the built-in cohort: 8,916 patients
            idle = switch_pages(page, wire, server, args.rounds)
            progress_at_start = start_training(page)
            device = page.get_by_text(re.compile(r"^Device: ")).inner_text()
            training = switch_pages(page, wire, server, args.rounds)   # ends on the Train page

            # On the Train page now: record the fragments' timer reruns while training goes on.
            wire.take()
            started = time.monotonic()
            page.wait_for_timeout(args.live_seconds * 1000)
            in_browser = fragment_update_ms(wire.take())
            on_server = fragment_update_ms(server.events(started, time.monotonic()))
            progress_at_end = page.locator(PROGRESS).inner_text()
            click(page, "Stop")
            expect(page.locator(PROGRESS)).to_contain_text(" · stopped · ", timeout=120_000)

    print(f"Dashboard responsiveness while training on the CPU ({os.cpu_count()} cores; {device}; "
          "built-in cohort, quick preset, 1000 epochs)")
    print(f"  load average (1 min) before: {load_before:.1f}, after: {os.getloadavg()[0]:.1f} "
          "(wall-clock figures grow with other work on the machine)")
    print(f"  training at start of measurement: {progress_at_start}")
    print(f"  training at end of measurement:   {progress_at_end}")
    print_switches("with no training (baseline)", idle)
    print_switches("while training", training)
    print(f"(b) live-panel update while training, {args.live_seconds:.0f} s on Train:")
    print_fragments("server: request received -> script_finished handed to the websocket", on_server)
    print_fragments("browser: request sent -> script_finished received (includes drawing)", in_browser)


if __name__ == "__main__":
    main()
