"""The whole user journey in a real browser, on the built-in HIV cohort, in one tab:
data → train (live plots, stop, resume) → compare → generate and download → a bad upload;
then a second user's tab: a table of their own, shorter than the quick preset's 60 steps and
with empty label cells → train it with the quick preset as it stands → train it with the default
auto preset for a short time budget, from Start to finished, and see it on the Runs page → its
privacy scores.

The steps run in file order and build on each other (the run trained in step 2 is compared
and sampled in steps 3 and 4); after a failed step the rest are skipped (marker "journey").
Each step takes a screenshot for the README (docs/screenshots/ under `make screenshots`). Every
wait is on a condition (a script run finished, an element shown, a number changed); timeouts only
bound it. The browser console must stay free of Vega's warnings throughout.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from playwright.sync_api import Page, expect

from hgym_core.data.demo import HIV_CATEGORIES, simulate_hiv_cohort
from hgym_core.data.schema import Schema
from tests.e2e.server import VIEWPORT
from tests.e2e.ui import (Wire, choose, click, number_after, number_input, open_page, set_number, set_text, settle,
                          sidebar, upload)

pytestmark = [pytest.mark.e2e, pytest.mark.journey]

# A small cohort keeps comparison and sampling quick on 2 cores; the Data page offers the size.
COHORT_PATIENTS = 300
COHORT_NAME = f"Built-in HIV cohort ({COHORT_PATIENTS} patients, seed 0)"
# The smallest model the form allows that still trains. Far more epochs than the test waits
# for, so the run is still going when the test stops it.
TINY_SETTINGS = {
    "Epochs": 5000, "Patients used for training (0 = all)": 40, "Batch size": 16,
    "Hidden size": 8, "Latent size": 8, "CPU threads (0 = torch's default)": 1,
}
TINY_CURRICULUM = "5, 10"
RUN_NAME = "e2e-tiny"
COMPARED_PATIENTS = 100
GENERATED_PATIENTS = 100
SLOW_RUN_S = 240   # comparing or sampling on a busy 2-core machine
# The live panel's progress text: "<run> · running · epoch 3/5,000 · L=10 · step 17/30,000 · ETA … · …"
# (with a time budget: "… · epoch 3 · L=10 · step 17 · 12 s of its 10 min 00 s budget · ETA … · …")
PROGRESS = '[data-testid="stMain"] [data-testid="stProgress"]'
LIVE_TIMEOUT_MS = 90_000
# What the live panel shows, read in the page: the step of the progress text (when it shows
# the given status) and the points plotted in the "D_real and D_fake" chart (Vega-Lite SVG:
# one path per series, one M/L command per point).
LIVE_STATE_JS = """([progress, status]) => {
    const bar = document.querySelector(progress);
    const step = bar && bar.innerText.includes(` · ${status} · `) ? bar.innerText.match(/step ([\\d,]+)/) : null;
    const chart = [...document.querySelectorAll('[data-testid="stMain"] [data-testid="stVegaLiteChart"]')]
        .find(c => c.textContent.includes("D_real and D_fake"));
    const paths = chart ? [...chart.querySelectorAll(".mark-line path")] : [];
    const points = paths.reduce((n, p) => n + ((p.getAttribute("d") || "").match(/[ML]/g) || []).length, 0);
    return {step: step ? Number(step[1].replaceAll(",", "")) : -1, points: points};
}"""


# The second user's table: 24 months (the quick preset's curriculum is 10, 30, 60) and an arm
# column with empty cells, which the model learns as a "missing" class.
SHORT_PATIENTS, SHORT_MONTHS = 120, 24
SHORT_RUN = "e2e-short"
BUDGET_RUN = "e2e-budget"
BUDGET_MINUTES = 0.3   # 18 s: the auto preset ends on its budget, long before its 1,000,000 epochs
BUDGET = "Time budget in minutes (0 = train every epoch)"
STARTING = "starting (reading the table, building the model)"
VEGA_WARNING = "Infinite extent"
# Text a label cut short with "…" (its text overflows its box), or a table wider than its frame.
CUT_LABELS_JS = """() => [...document.querySelectorAll('[data-testid="stMain"] [data-testid="stCheckbox"]')]
    .map(box => box.querySelector('[data-testid="stMarkdownContainer"]'))
    .filter(label => label && label.scrollWidth > label.clientWidth + 1).map(label => label.innerText)"""
TABLE_OVERFLOW_JS = """() => [...document.querySelectorAll('[data-testid="stMain"] [data-testid="stDataFrame"] .dvn-scroller')]
    .map(frame => frame.scrollWidth - frame.clientWidth)"""


def short_table() -> bytes:
    rng = np.random.default_rng(0)
    rows = SHORT_PATIENTS * SHORT_MONTHS
    arm = rng.choice(["control", "low dose", "high dose", None], rows, p=[0.4, 0.25, 0.25, 0.1])
    table = pd.DataFrame({"PatientID": np.repeat(np.arange(SHORT_PATIENTS), SHORT_MONTHS),
                          "Month": np.tile(np.arange(SHORT_MONTHS), SHORT_PATIENTS),
                          "HbA1c": rng.normal(7.5, 1.0, rows).round(1), "Arm": arm,
                          "Event": rng.integers(0, 2, rows)})
    return table.to_csv(index=False).encode()


@pytest.fixture(scope="module")
def console(page: Page) -> list[str]:
    """What the journey's tab writes to the browser console."""
    messages: list[str] = []
    page.on("console", lambda message: messages.append(f"{message.type}: {message.text}"))
    return messages


@pytest.fixture(scope="module")
def second_tab(browser, app_url: str):
    """Another user's tab on the same server: its own data set and settings."""
    context = browser.new_context(viewport=VIEWPORT, accept_downloads=True)
    tab = context.new_page()
    tab.set_default_timeout(60_000)
    Wire(tab)
    settle(tab, lambda: tab.goto(app_url), SLOW_RUN_S)
    yield tab
    context.close()


def wait_for_live_update(page: Page, after: dict, status: str = "running") -> dict:
    """Wait until the live panel shows ``status`` with a later step and more plotted points
    than ``after`` (the fragment redraws itself: no reload, no click); returns what it shows."""
    handle = page.wait_for_function(
        f"""([progress, status, after]) => {{
            const now = ({LIVE_STATE_JS})([progress, status]);
            return now.step > after.step && now.points > after.points ? now : false;
        }}""",
        arg=[PROGRESS, status, after], timeout=LIVE_TIMEOUT_MS, polling=100)
    return handle.json_value()


def stop_and_wait(page: Page) -> int:
    """Press Stop; wait until the panel shows the run stopped; the step it stopped at."""
    click(page, "Stop")
    expect(page.locator(PROGRESS)).to_contain_text(" · stopped · ", timeout=LIVE_TIMEOUT_MS)
    step = number_after(r"step ([\d,]+)", page.locator(PROGRESS).inner_text())
    assert step is not None
    return step


def test_01_data_page_shows_the_inferred_schema(page: Page, app_url: str, screenshot, console) -> None:
    settle(page, lambda: page.goto(app_url), SLOW_RUN_S)   # first visit: simulates the 8,916-patient cohort
    expect(page.get_by_role("heading", name="Data", exact=True, level=1)).to_be_visible()
    # The page offers a smaller built-in cohort; take one so the later steps stay quick.
    set_number(page, "Patients", COHORT_PATIENTS)
    click(page, "Load built-in cohort")
    expect(page.get_by_text(f"Loaded the built-in HIV cohort: {COHORT_PATIENTS} patients")).to_be_visible()
    expect(sidebar(page).get_by_text(COHORT_NAME)).to_be_visible()

    schema_line = page.get_by_text(re.compile(r"^Patient id PatientID · time Timestep"))
    expect(schema_line).to_be_visible()
    for name, kind in [("VL", "numeric"), ("CD4", "numeric"), ("Rel CD4", "numeric"), ("Gender", "binary"),
                       ("Ethnic", "categorical"), ("Base Drug Combo", "categorical"), ("Comp. INI", "categorical"),
                       ("Extra pk-En", "binary")]:
        expect(schema_line).to_contain_text(f"{name} ({kind})")
    expect(page.get_by_text("The table fits the schema: ready to train.")).to_be_visible()
    expect(page.get_by_role("heading", name="Patient trajectories")).to_be_visible()
    screenshot(page, "01-data-schema")


def test_02_train_page_runs_live_stops_and_resumes(page: Page, screenshot, console) -> None:
    open_page(page, "Train")
    expect(page.get_by_text(f"Training on {COHORT_NAME}")).to_be_visible()
    page.get_by_text("Advanced settings").click()
    expect(page.get_by_role("checkbox", name="Start at the marginals")).to_be_visible()
    assert page.evaluate(CUT_LABELS_JS) == [], "checkbox labels cut short"
    for label, value in TINY_SETTINGS.items():
        set_number(page, label, value)
    set_text(page, "Curriculum lengths (empty = automatic)", TINY_CURRICULUM)
    set_text(page, "Run name", RUN_NAME)
    expect(page.get_by_text(re.compile(rf"^Saved as .*{RUN_NAME}$"))).to_be_visible()
    for label, value in TINY_SETTINGS.items():   # no later run put an old value back
        expect(number_input(page, label)).to_have_value(str(value))

    page.evaluate("window.__sameDocument = true")   # gone if the page reloads
    click(page, "Start training")
    expect(page.get_by_text(f"Started '{RUN_NAME}'")).to_be_visible()
    first = wait_for_live_update(page, {"step": 0, "points": 0})
    second = wait_for_live_update(page, first)
    third = wait_for_live_update(page, second)
    assert page.evaluate("window.__sameDocument === true"), "the live panel reloaded the page"
    expect(page.get_by_text(re.compile(r"^Step \d+: D_real \S+ · D_fake \S+ · W"))).to_be_visible()
    screenshot(page, "02-train-live")

    stopped_at = stop_and_wait(page)
    assert stopped_at >= third["step"]
    # The panel says "stopped" first; the rest of the page catches up on its next full run.
    expect(page.get_by_role("combobox", name="Stopped run")).to_have_value(RUN_NAME, timeout=LIVE_TIMEOUT_MS)
    click(page, "Resume")
    expect(page.get_by_text(f"Resuming '{RUN_NAME}' from its last checkpoint.")).to_be_visible()
    # It goes on from the checkpoint: the counter passes the stop instead of starting again.
    resumed = wait_for_live_update(page, {"step": stopped_at, "points": 0})
    wait_for_live_update(page, resumed)
    assert page.evaluate("window.__sameDocument === true")
    screenshot(page, "03-train-resumed")

    assert stop_and_wait(page) > stopped_at
    expect(page.get_by_role("button", name="Start training")).to_be_enabled()
    expect(sidebar(page).get_by_text(RUN_NAME, exact=True)).to_be_visible()                     # current run
    expect(sidebar(page).get_by_text(re.compile(rf"stopped · {RUN_NAME} · epoch"))).to_be_visible()   # job
    assert not [line for line in console if VEGA_WARNING in line], "the live charts warned in the console"


def test_03_compare_page_shows_panels_and_scores(page: Page, screenshot) -> None:
    open_page(page, "Compare")
    expect(page.get_by_role("combobox", name="Run")).to_have_value(re.compile(rf"^{RUN_NAME} \(stopped"))
    set_number(page, "Synthetic patients", COMPARED_PATIENTS)
    model_scores = page.get_by_role("switch", name="Detection and utility scores")
    if model_scores.is_checked():   # they train classifiers: minutes on 2 cores
        settle(page, page.get_by_text("Detection and utility scores", exact=True).click)
    expect(model_scores).not_to_be_checked()
    click(page, "Compare", timeout_s=SLOW_RUN_S)
    expect(page.get_by_text(re.compile(rf"^Run '{RUN_NAME}': {COMPARED_PATIENTS} synthetic patients vs"))) \
        .to_be_visible()

    panels = ("CD4 (cells/µL)", "VL (copies/mL)", "Rel CD4 (%)", "Base Drug Combo", "Comp. INI", "Comp. NNRTI",
              "Extra PI", "Extra pk-En")
    for panel in panels:
        expect(page.get_by_role("heading", name=panel, exact=True)).to_be_visible()
    # Each panel is a pair of figures (distribution and over time), all drawn.
    expect(page.get_by_test_id("stPlotlyChart").nth(2 * len(panels) - 1)).to_be_visible()
    expect(page.get_by_role("heading", name="Scores", exact=True)).to_be_visible()
    scores = page.get_by_role("heading", name="Scores", exact=True).locator(
        "xpath=following::*[@data-testid='stDataFrame'][1]")
    expect(scores).to_be_visible()
    expect(scores).to_contain_text("reference (real vs holdout)")
    screenshot(page, "04-compare")


def test_04_generate_page_downloads_100_patients(page: Page, screenshot) -> None:
    open_page(page, "Generate")
    expect(page.get_by_role("combobox", name="Run")).to_have_value(re.compile(rf"^{RUN_NAME} \(stopped"))
    set_number(page, "Patients", GENERATED_PATIENTS)
    expect(page.get_by_role("radio", name="CSV", exact=True)).to_be_checked()
    click(page, "Generate", timeout_s=SLOW_RUN_S)
    download_table = page.get_by_role("button", name=re.compile(r"^Download CSV \("))
    expect(download_table).to_be_visible()
    expect(page.get_by_text(re.compile(rf"^{GENERATED_PATIENTS} patients, [\d,]+ rows from run '{RUN_NAME}'"))) \
        .to_be_visible()

    with page.expect_download() as table_download:
        download_table.click()
    with page.expect_download() as schema_download:
        page.get_by_role("button", name="Download schema JSON").click()
    assert table_download.value.suggested_filename.endswith(".csv")
    table = pd.read_csv(table_download.value.path())
    schema = Schema.from_json(schema_download.value.path().read_text())

    assert list(table.columns) == schema.columns == list(simulate_hiv_cohort(n_patients=2, seed=0).columns)
    assert table[schema.id_column].nunique() == GENERATED_PATIENTS
    assert not table.duplicated([schema.id_column, schema.time_column]).any()
    for name, labels in HIV_CATEGORIES.items():
        unknown = set(table[name].dropna().astype(str)) - {str(label) for label in labels}
        assert not unknown, f"{name} has labels outside the schema: {unknown}"
    screenshot(page, "05-generate")


def test_05_malformed_upload_is_refused_and_the_data_stays(page: Page, screenshot) -> None:
    open_page(page, "Data")
    no_id_column = b"Month,CD4,VL\n0,500,100\n1,abc,90\n"
    upload(page, "no-patient-id.csv", no_id_column)
    error = page.get_by_test_id("stAlert").filter(has_text="no-patient-id.csv was not loaded")
    expect(error).to_be_visible()
    expect(error).to_contain_text("Could not find the patient id column")
    expect(error).to_contain_text(f"The previous data ({COHORT_NAME}) is still in place.")

    expect(sidebar(page).get_by_text(COHORT_NAME)).to_be_visible()
    expect(page.get_by_text(f"Working on {COHORT_NAME}")).to_be_visible()
    expect(page.get_by_text("The table fits the schema: ready to train.")).to_be_visible()
    screenshot(page, "06-upload-error")


def test_06_a_short_table_with_empty_label_cells_trains_with_the_quick_preset(second_tab: Page, screenshot) -> None:
    tab = second_tab
    expect(tab.get_by_role("heading", name="Data", exact=True, level=1)).to_be_visible()
    upload(tab, "short.csv", short_table())
    expect(tab.get_by_text(f"Loaded short.csv: {SHORT_PATIENTS} patients")).to_be_visible()
    expect(tab.get_by_text("The table fits the schema: ready to train.")).to_be_visible()

    open_page(tab, "Train")
    expect(tab.get_by_role("combobox", name="Preset")).to_have_value("auto")   # the default for one's own data
    choose(tab, "Preset", "quick")
    tab.get_by_text("Advanced settings").click()
    curriculum = tab.get_by_role("textbox", name="Curriculum lengths (empty = automatic)", exact=True)
    expect(curriculum).to_have_value(f"4, 12, {SHORT_MONTHS}")   # the preset's 10, 30, 60 scaled to 24 months
    expect(tab.get_by_text(re.compile(rf"^Trains on 96 of {SHORT_PATIENTS} patients"))).to_be_visible()
    set_text(tab, "Run name", SHORT_RUN)
    click(tab, "Start training")
    expect(tab.get_by_text(f"Started '{SHORT_RUN}'")).to_be_visible()
    expect(tab.locator(PROGRESS)).to_contain_text(" · finished: all 10 epochs are trained", timeout=SLOW_RUN_S * 1000)
    expect(tab.get_by_role("link", name=f"Compare '{SHORT_RUN}' with the real data")).to_be_visible()
    screenshot(tab, "07-train-short-table")


def test_07_a_time_budget_run_shows_its_budget_from_start_to_finished(second_tab: Page) -> None:
    """The auto preset trains for its budget: the progress starts with what it is doing, counts the
    budget (not the 1,000,000 epochs it never reaches), fills when the budget ends the run and says
    so; the name field shows the run training; the log stays short; the Runs table fits the window."""
    tab = second_tab
    open_page(tab, "Train")
    choose(tab, "Preset", "auto")
    field = tab.get_by_role("spinbutton", name=BUDGET, exact=True)
    field.fill(str(BUDGET_MINUTES))
    settle(tab, lambda: field.press("Enter"))
    expect(tab.get_by_text(re.compile(r"^Trains on 96 of 120 patients \(holdout 0\.2: 24 patients\) for its time "
                                      r"budget of 18 s: as many generator steps as fit, at most [\d,]+ generator "
                                      r"steps \(1,000,000 epochs × 1 length × \d batch(es)?\)"))).to_be_visible()
    set_text(tab, "Run name", BUDGET_RUN)
    click(tab, "Start training")
    progress = tab.locator(PROGRESS)
    expect(progress).to_contain_text(STARTING)
    name = tab.get_by_role("textbox", name="Run name", exact=True)
    expect(name).to_be_disabled()
    expect(name).to_have_value(BUDGET_RUN)
    expect(tab.get_by_text(re.compile(rf"^Saved as .*{BUDGET_RUN}$"))).to_be_visible()
    expect(progress).to_contain_text(re.compile(r" · running · epoch [\d,]+ · L=24 · step [\d,]+ · \d+ s of its 18 s "
                                                r"budget · ETA \d+ s · "), timeout=LIVE_TIMEOUT_MS)
    assert "1,000,000" not in progress.inner_text() and "1000000" not in progress.inner_text()
    expect(progress).to_contain_text(re.compile(r" · finished: its time budget of 18 s is spent after [\d,]+ steps "
                                                r"\(epoch [\d,]+"), timeout=SLOW_RUN_S * 1000)
    expect(progress.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "100")
    log = tab.get_by_test_id("stExpander").filter(has_text="Event log").get_by_test_id("stCode")
    lines = log.inner_text().strip().splitlines()
    assert lines[0].endswith(" started") and lines[-1].endswith(" finished") and len(lines) < 30, lines
    assert any("training ends: its time budget of 18 s is spent" in line for line in lines)
    expect(name).to_be_enabled()
    expect(name).not_to_have_value(BUDGET_RUN)   # a fresh name for the next run
    expect(tab.get_by_role("link", name=f"Compare '{BUDGET_RUN}' with the real data")).to_be_visible()

    open_page(tab, "Runs")
    table = tab.get_by_test_id("stDataFrame").first
    expect(table).to_be_visible()
    assert all(overflow <= 1 for overflow in tab.evaluate(TABLE_OVERFLOW_JS)), "the runs table is cut"


def test_08_compare_shows_the_privacy_of_a_run_with_a_holdout(second_tab: Page, screenshot) -> None:
    tab = second_tab
    open_page(tab, "Compare")
    expect(tab.get_by_role("combobox", name="Run")).to_have_value(re.compile(rf"^{BUDGET_RUN} \(finished"))
    set_number(tab, "Synthetic patients", COMPARED_PATIENTS)
    model_scores = tab.get_by_role("switch", name="Detection and utility scores")
    if model_scores.is_checked():
        settle(tab, tab.get_by_text("Detection and utility scores", exact=True).click)
    click(tab, "Compare", timeout_s=SLOW_RUN_S)
    expect(tab.get_by_text(re.compile(r"reference: 24 held-out real patients"))).to_be_visible()
    for panel in ("HbA1c", "Arm", "Event"):
        expect(tab.get_by_role("heading", name=panel, exact=True)).to_be_visible()
    expect(tab.get_by_role("heading", name="Privacy", exact=True)).to_be_visible()
    share = tab.get_by_test_id("stMetric").filter(has_text="DCR share")
    expect(share).to_contain_text(re.compile(r"\d+%"))
    expect(tab.get_by_text(re.compile(r"^\d+% of the synthetic patients are closer to a training patient"))) \
        .to_be_visible()
    dcr = tab.get_by_test_id("stPlotlyChart").filter(has_text="Distance to closest record (DCR)")
    expect(dcr).to_be_visible()
    expect(dcr).to_contain_text("to nearest holdout patient")   # both distances: training and holdout
    assert all(overflow <= 1 for overflow in tab.evaluate(TABLE_OVERFLOW_JS)), "a score table is cut"
    screenshot(tab, "08-compare-privacy")
