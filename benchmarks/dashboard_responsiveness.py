"""Dashboard responsiveness while a training run uses the CPU (targets: a page switch renders
within 1 s; a live-panel update costs at most 100 ms of server time).

Starts the dashboard and a headless Chromium with the browser-test harness (tests/e2e), opens
the built-in cohort, starts a training run from the Train page (quick preset, device cpu,
enough epochs to outlast the measurement), then measures in the browser:

(a) page switch: click a page in the sidebar -> the new page's title is drawn (browser clock,
    checked every animation frame), over every page, several rounds; next to it the page's
    whole script run on the server (run request sent -> script_finished received). The same
    rounds before training starts give the baseline, so the cost of training shows apart
    from the machine's own speed;
(b) live-panel update: on the Train page, each timer rerun of the live-panel fragment, from
    the request leaving the browser to its script_finished arriving (the websocket frames'
    network timestamps, so time the browser spends drawing is not counted).

    .venv/bin/python benchmarks/dashboard_responsiveness.py [--rounds 3] [--live-seconds 20]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from playwright.sync_api import expect  # noqa: E402

from tests.e2e.server import VIEWPORT, chromium, missing_chromium_message, streamlit_server  # noqa: E402
from tests.e2e.ui import (  # noqa: E402
    Wire, WireEvent, choose, click, open_page, set_number, set_text, settle,
)

PAGE_SWITCH_TARGET_MS = 1000
LIVE_UPDATE_TARGET_MS = 100
PAGES = ("Compare", "Generate", "Runs", "Data", "Train")   # from Data (start) round to Train
RUN_NAME = "responsiveness"
PROGRESS = '[data-testid="stMain"] [data-testid="stProgress"]'
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


def page_run_ms(events: list[WireEvent]) -> float:
    """Whole-page run: its request -> the successful script_finished after it (network clock)."""
    request = next(e for e in events if e.kind == "request" and not e.fragment_id)
    finish = next(e for e in events if e.kind == "finish" and e.t >= request.t and e.status == "FINISHED_SUCCESSFULLY")
    return (finish.t - request.t) * 1000


def fragment_update_ms(events: list[WireEvent]) -> dict[str, list[float]]:
    """Per fragment: each timer request -> the next fragment run's script_finished (network clock)."""
    times = defaultdict(list)
    finishes = [e for e in events if e.kind == "finish" and e.status == "FINISHED_FRAGMENT_RUN_SUCCESSFULLY"]
    for request in (e for e in events if e.kind == "request" and e.fragment_id):
        finish = next((f for f in finishes if f.t >= request.t), None)
        if finish is not None:
            times[request.fragment_id].append((finish.t - request.t) * 1000)
    return times


def describe(values: list[float], target_ms: float) -> str:
    verdict = lambda value: "met" if value <= target_ms else "MISSED"  # noqa: E731
    median, worst = statistics.median(values), max(values)
    return (f"median {median:6.0f} ms  max {worst:6.0f} ms  (n={len(values)})   target <= {target_ms:.0f} ms: "
            f"median {verdict(median)}, max {verdict(worst)}")


def switch_pages(page, wire: Wire, rounds: int) -> dict[str, dict[str, list[float]]]:
    """Visit every page ``rounds`` times: per page, the browser's and the server's milliseconds."""
    drawn, server = defaultdict(list), defaultdict(list)
    for _ in range(rounds):
        for title in PAGES:
            shown: list[float] = []
            events = wire.settle(lambda: shown.append(page.evaluate(SWITCH_JS, title)))
            drawn[title].append(shown[0])
            server[title].append(page_run_ms(events))
    return {"drawn": drawn, "server": server}


def print_switches(label: str, switches: dict[str, dict[str, list[float]]]) -> None:
    drawn, server = switches["drawn"], switches["server"]
    print(f"(a) page switch {label}: click -> title drawn (browser) | page run, request -> finished (server)")
    print(f"    all pages  {describe([v for values in drawn.values() for v in values], PAGE_SWITCH_TARGET_MS)}")
    for title in PAGES:
        print(f"    {title:<10} {describe(drawn[title], PAGE_SWITCH_TARGET_MS)} | server median "
              f"{statistics.median(server[title]):.0f} ms, max {max(server[title]):.0f} ms")


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
    with tempfile.TemporaryDirectory(prefix="hgym-responsiveness-") as workdir, \
            streamlit_server(Path(workdir)) as url, chromium() as browser:
        page = browser.new_context(viewport=VIEWPORT).new_page()
        page.set_default_timeout(120_000)
        wire = Wire(page)
        settle(page, lambda: page.goto(url), timeout_s=300)   # the built-in cohort: 8,916 patients
        idle = switch_pages(page, wire, args.rounds)
        progress_at_start = start_training(page)
        device = page.get_by_text(re.compile(r"^Device: ")).inner_text()
        training = switch_pages(page, wire, args.rounds)   # ends on the Train page

        # On the Train page now: record the fragments' timer reruns while training goes on.
        wire.take()
        page.wait_for_timeout(args.live_seconds * 1000)
        fragments = fragment_update_ms(wire.take())
        progress_at_end = page.locator(PROGRESS).inner_text()
        click(page, "Stop")
        expect(page.locator(PROGRESS)).to_contain_text(" · stopped · ", timeout=120_000)

    # The live panel reruns every second, the sidebar's job status every 3 s: the most frequent is the panel.
    ranked = sorted(fragments.values(), key=len, reverse=True)
    print(f"Dashboard responsiveness while training on the CPU ({os.cpu_count()} cores; {device}; "
          "built-in cohort, quick preset, 1000 epochs)")
    print(f"  load average (1 min) before: {load_before:.1f}, after: {os.getloadavg()[0]:.1f} "
          "(wall-clock figures grow with other work on the machine)")
    print(f"  training at start of measurement: {progress_at_start}")
    print(f"  training at end of measurement:   {progress_at_end}")
    print_switches("with no training (baseline)", idle)
    print_switches("while training", training)
    if not ranked:
        print("(b) no live-panel update was recorded")
        return
    print(f"(b) live-panel update, fragment request -> script finished (server), {args.live_seconds:.0f} s on Train:")
    print(f"    live panel     {describe(ranked[0], LIVE_UPDATE_TARGET_MS)}")
    for other in ranked[1:]:
        print(f"    sidebar status {describe(other, LIVE_UPDATE_TARGET_MS)}")


if __name__ == "__main__":
    main()
