"""Two tabs on the Train page in a real browser: the idle one hears of the other's job by itself.

The idle tab is never touched: its only way to learn that a job started (Start turns off) or ended
(Start turns on again) is the page's own timer over the job registry (pages/_live.py, watch_jobs).
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.server import VIEWPORT
from tests.e2e.ui import Wire, click, page_heading, set_number, set_text, settle

pytestmark = pytest.mark.e2e

TINY = {"Epochs": 5000, "Patients used for training (0 = all)": 40, "Batch size": 16, "Hidden size": 8,
        "Latent size": 8, "CPU threads (0 = torch's default)": 1}
HEARD_WITHIN_MS = 10_000   # the timer looks every 2 s; a busy 2-core machine may take a few more
FIRST_RUN_S = 240


def train_tab(browser, app_url: str):
    context = browser.new_context(viewport=VIEWPORT)
    tab = context.new_page()
    tab.set_default_timeout(60_000)
    Wire(tab)
    settle(tab, lambda: tab.goto(f"{app_url}/training"), FIRST_RUN_S)
    expect(page_heading(tab, "Train")).to_be_visible()
    return context, tab


def test_an_idle_train_tab_follows_a_job_another_tab_starts_and_stops(browser, app_url) -> None:
    idle_context, idle = train_tab(browser, app_url)
    busy_context, busy = train_tab(browser, app_url)
    try:
        start = idle.get_by_role("button", name="Start training", exact=True)
        expect(start).to_be_enabled()
        busy.get_by_text("Advanced settings").click()
        for label, value in TINY.items():
            set_number(busy, label, value)
        set_text(busy, "Curriculum lengths (empty = automatic)", "5, 10")
        set_text(busy, "Run name", "e2e-two-tabs")
        click(busy, "Start training")
        expect(busy.get_by_text("Started 'e2e-two-tabs'")).to_be_visible()

        expect(start).to_be_disabled(timeout=HEARD_WITHIN_MS)
        click(busy, "Stop")
        expect(start).to_be_enabled(timeout=HEARD_WITHIN_MS + 60_000)   # after the stop's checkpoint
    finally:
        busy_context.close()
        idle_context.close()
