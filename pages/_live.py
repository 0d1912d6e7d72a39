"""The Train page's live panel: progress, training curves and event log of a job, from its snapshot only.

While a job trains, the panel is a fragment that reruns every second by itself (the rest of the
page does not). It reads nothing but ``job.snapshot(history_from=...)`` — no files — and keeps
the history it already has in session state, so each update copies only the new steps. The
curves are small Vega-Lite charts: plotly's subplot machinery alone costs ~100 ms a figure,
more than the whole update may take. Each curve keeps at most 2,000 points
(``plots.downsample_indices`` keeps every bucket's extremes, so spikes and the curriculum
saw-tooth survive) and dotted rules mark each change of the curriculum length L. The charts'
specs never change while a job trains (the L marks are rows of the data, every axis range an
expression over the rows), so the browser keeps each Vega view and only swaps its rows.

While no job trains, ``watch_jobs`` looks at the registry every few seconds (memory only) and
reruns the page when a job starts or ends in another tab, so no tab keeps offering Start
beside a job it has not heard of.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import streamlit as st

from hgym_core.gan.events import LOSS_SERIES, METRIC_COLUMNS, privacy_words
from hgym_core.runs.jobs import ACTIVE, JobRegistry, JobSnapshot, TrainingJob
from hgym_core.plots import REAL_COLOUR, SYNTHETIC_COLOUR, curriculum_changes, downsample_indices
from pages import _format as fmt
from pages._session import Live

MAX_POINTS = 2000
MAX_MARKERS = 36   # beyond this many L changes the rules would hide the curves
MAX_LABELS = 8     # beyond this many the "L=…" labels run into each other: the rules' tooltips say it
# (title, series drawn together); D_real and D_fake share a panel so their gap (W) reads directly.
PANELS = (
    ("D_real and D_fake", ("d_real", "d_fake")),
    *((LOSS_SERIES[name].title, (name,)) for name in ("w", "gp", "d_loss", "g_loss", "corr")),
)
SERIES_NAMES = {name: series.short for name, series in LOSS_SERIES.items()}
COLOURS = {"d_real": REAL_COLOUR, "d_fake": SYNTHETIC_COLOUR}
WATCH_SECONDS = 2
ENDED_LINKS = ("finished", "stopped")   # a run with a checkpoint to compare and sample from
STARTING = "starting (reading the table, building the model)…"
# The event log: a run of like lines (the same words, other numbers) shows its first and last line;
# the log's first lines always show, and its last ones.
SIMILAR_RUN = 4           # this many like lines in a row are collapsed (2 or more hidden)
LOG_HEAD, LOG_TAIL = 10, 150
DIGITS = re.compile(r"\d[\d,.]*")


def job_history(job: TrainingJob):
    """The job's snapshot, with the full history kept in session state and extended by new steps."""
    owner, history = Live.history.get((None, None))
    if owner != id(job):
        history = {column: [] for column in METRIC_COLUMNS}
    snap = job.snapshot(history_from=len(history["step"]))
    for column, values in snap.history.items():
        history[column].extend(values)
    Live.history.set((id(job), history))
    return snap, history


def progress_text(snap: JobSnapshot) -> str:
    """The progress bar's line (Markdown). With a time budget it counts the budget, not the epochs the
    budget never reaches; an ended run says what ended it."""
    name = f"**{fmt.plain(snap.name)}**"
    if snap.starting:
        return f"{name} · {STARTING} · elapsed {fmt.duration(snap.elapsed_seconds)}"
    if snap.status == "finished" and snap.ended_by:
        return f"{name} · finished: {fmt.plain(snap.ended_by)} · elapsed {fmt.duration(snap.elapsed_seconds)}"
    state = {"stopping": "stopping: saving a checkpoint…"}.get(snap.status, snap.status)
    budget = snap.time_budget
    parts = [name, state]
    if budget:
        parts += [f"epoch {snap.epoch:,}", f"L={snap.length}", f"step {snap.step:,}"]
    else:
        parts += [f"epoch {snap.epoch:,}/{snap.epochs_target:,}", f"L={snap.length}",
                  f"step {snap.step:,}/{snap.steps_target:,}"]
    if budget and snap.budget_left is not None and snap.status in ACTIVE:
        parts.append(f"{fmt.duration(budget - snap.budget_left)} of its {fmt.duration(budget)} budget")
    else:
        parts.append(f"elapsed {fmt.duration(snap.elapsed_seconds)}")
    if snap.status in ACTIVE:
        parts.append(f"ETA {fmt.duration(snap.eta_seconds)}")
    parts.append(f"{snap.steps_per_second:.2f} steps/s" if snap.steps_per_second else "– steps/s")
    return " · ".join(parts)


def collapsed_log(lines: list[str]) -> list[str]:
    """The event log to show: each run of SIMILAR_RUN or more like lines (equal once their numbers and
    times are set aside: "checkpoint saved at step 3 …", "… step 6 …") as its first line, a count
    and its last line; then, when still long, the first LOG_HEAD lines and the last LOG_TAIL."""
    shown, index = [], 0
    while index < len(lines):
        end = index + 1
        while end < len(lines) and DIGITS.sub("#", lines[end]) == DIGITS.sub("#", lines[index]):
            end += 1
        if end - index >= SIMILAR_RUN:
            shown += [lines[index], f"         … {end - index - 2:,} more like these …", lines[end - 1]]
        else:
            shown += lines[index:end]
        index = end
    if len(shown) > LOG_HEAD + LOG_TAIL + 1:
        shown = [*shown[:LOG_HEAD], f"         … {len(shown) - LOG_HEAD - LOG_TAIL:,} lines …", *shown[-LOG_TAIL:]]
    return shown


def draw_panel(job: TrainingJob) -> None:
    snap, history = job_history(job)
    st.progress(snap.progress, text=progress_text(snap))
    if snap.error:
        st.error(fmt.plain(snap.error))
    if snap.status in ENDED_LINKS:
        compare, generate = st.columns(2)
        compare.page_link("pages/compare.py", label=f"Compare '{fmt.plain(snap.name)}' with the real data",
                          icon=":material/compare:")
        generate.page_link("pages/generate.py", label=f"Generate patients from '{fmt.plain(snap.name)}'",
                           icon=":material/download:")
    if snap.last:
        st.caption(f"Step {snap.step}: " + " · ".join(f"{SERIES_NAMES[name]} {fmt.number(snap.last[name])}"
                                                      for name in SERIES_NAMES))
    if snap.privacy:   # ε spent so far, the memorisation guard's latest DCR share (issue 21)
        st.caption(fmt.plain(f"Privacy: {privacy_words(snap.privacy)}"))
    draw_curves(history, id(job))
    with st.expander("Event log", expanded=snap.status not in ACTIVE):
        st.code("\n".join(collapsed_log(snap.log)) or "no events yet", language=None, wrap_lines=True)


def draw_curves(history: dict, owner: int) -> None:
    """Six small charts in a 3 x 2 grid: curves downsampled to MAX_POINTS, L changes as rules.

    Each column is one Vega-Lite chart of two panels: every chart element costs the server
    and the browser a fixed price per update, so three cost half what six did. The
    downsampled curves are kept until a new step arrives: a slow run (seconds per step)
    redraws from them instead of decimating the whole history again every second.
    """
    if not history["step"]:
        st.info("Waiting for the first training step…")
        return
    key = (owner, len(history["step"]))
    cached_key, charts = Live.charts.get((None, None))
    if cached_key != key:
        charts = _charts(history)
        Live.charts.set((key, charts))
    for box, (data, spec) in zip(st.columns(len(charts)), charts):
        box.vega_lite_chart(data, spec, width="stretch")


def _charts(history: dict) -> list[tuple[pd.DataFrame, dict]]:
    steps = np.asarray(history["step"], dtype=float)
    marks = _curriculum_marks(steps, history["length"])
    columns = [(PANELS[j], PANELS[j + 3]) for j in range(3)]   # the 3 x 2 grid in reading order
    return [(_chart_data(steps, history, [name for _, series in panels for name in series], marks),
             {"params": [STEPS_EXTENT, *(_extent_param(index, series) for index, (_, series) in enumerate(panels))],
              "vconcat": [_spec(index, title, series) for index, (title, series) in enumerate(panels)],
              "resolve": {"scale": {"color": "independent"}, "legend": {"color": "independent"}},
              # Streamlit pads a concat of layers instead (its axes would overflow the column).
              "autosize": {"type": "fit-x", "contains": "padding"}})
            for panels in columns]


def _curriculum_marks(steps: np.ndarray, lengths) -> pd.DataFrame:
    """One row per change of L (the start included): its step, "L=…" for the rule's tooltip, and the
    same as a label while few enough to read; no rows once they would hide the curves."""
    changes = curriculum_changes(pd.DataFrame({"step": steps, "length": lengths}))
    if len(changes) - 1 > MAX_MARKERS:
        return pd.DataFrame({"step": [], "rule": [], "label": []})
    rules = [f"L={length:g}" for length in changes["length"]]
    return pd.DataFrame({"step": changes["step"], "rule": rules,
                         "label": rules if len(changes) <= MAX_LABELS else [None] * len(rules)})


def _chart_data(steps: np.ndarray, history: dict, series: list[str], marks: pd.DataFrame) -> pd.DataFrame:
    """One chart's rows: each series' downsampled finite points in a column of its own, named as the
    legend names it (one value a row), then the curriculum marks. Each layer takes its rows."""
    parts = []
    for name in series:
        values = np.asarray(history[name], dtype=float)
        finite = np.flatnonzero(np.isfinite(values))
        keep = finite[downsample_indices(values[finite], MAX_POINTS)]
        parts.append(pd.DataFrame({"step": steps[keep], SERIES_NAMES[name]: values[keep]}))
    return pd.concat([*parts, marks], ignore_index=True)


# Every scale's domain comes from an expression over the chart's data, not from the data flow: a
# Vega view computes a data-driven domain before Streamlit inserts the rows, and warns ("Infinite
# extent for field ...") for each such scale of each view it makes. With no row yet an expression
# gives [0, 1].
DATA = "data('source')"   # the rows Streamlit gives the chart (st.vega_lite_chart's data)
STEPS_EXTENT = {"name": "steps", "expr": f"extent(pluck({DATA}, 'step'))"}


def _extent_param(index: int, series: tuple[str, ...]) -> dict:
    extents = [f"extent(pluck({DATA}, '{SERIES_NAMES[name]}'))" for name in series]
    low = f"min({', '.join(extent + '[0]' for extent in extents)})"
    high = f"max({', '.join(extent + '[1]' for extent in extents)})"
    return {"name": f"values{index}", "expr": f"[{low}, {high}]"}


def _domain(param: str) -> dict:
    return {"expr": f"isFinite({param}[0]) && isFinite({param}[1]) ? {param} : [0, 1]"}


def _spec(index: int, title: str, series: tuple[str, ...]) -> dict:
    names = [SERIES_NAMES[name] for name in series]
    colours = [COLOURS.get(name, "#555555") for name in series]
    x = {"field": "step", "type": "quantitative", "title": "generator step", "scale": {"domain": _domain("steps")}}
    line = {
        "transform": [{"fold": names, "as": ["series", "value"]}, {"filter": "isValid(datum.value)"}],
        "mark": {"type": "line", "strokeWidth": 1.2, "clip": True},
        "encoding": {
            "x": x,
            "y": {"field": "value", "type": "quantitative", "title": None,
                  "scale": {"domain": _domain(f"values{index}"), "nice": True}},
            "color": {"field": "series", "type": "nominal", "scale": {"domain": names, "range": colours},
                      # Above the plot, not over it: the curves fill the plot's corners too.
                      "legend": {"orient": "top", "direction": "horizontal", "title": None}
                      if len(series) > 1 else None},
        },
    }
    rule = {"transform": [{"filter": "isValid(datum.rule)"}],
            "mark": {"type": "rule", "strokeDash": [2, 3], "color": "#999999"},
            "encoding": {"x": x, "tooltip": {"field": "rule", "type": "nominal"}}}
    label = {"transform": [{"filter": "isValid(datum.label)"}],
             "mark": {"type": "text", "align": "left", "baseline": "top", "dx": 2, "y": 0, "fontSize": 9,
                      "color": "#666666"},
             "encoding": {"x": x, "text": {"field": "label"}}}
    return {"title": {"text": title, "fontSize": 13}, "height": 200, "layer": [line, rule, label]}


@st.fragment(run_every="1s")
def live_panel(job: TrainingJob) -> None:
    draw_panel(job)
    if job.status not in ACTIVE:
        st.rerun()   # the whole page: buttons, run lists and sidebar catch up with the ended job


def jobs_seen(registry: JobRegistry) -> tuple:
    """What a page knows of the registry when it draws: the latest job and whether it trains."""
    job = registry.latest()
    return (id(job), job.is_active()) if job is not None else (None, False)


@st.fragment(run_every=WATCH_SECONDS)
def watch_jobs(registry: JobRegistry, seen: tuple) -> None:
    """Rerun the page once the registry no longer matches what it drew (``seen``)."""
    if jobs_seen(registry) != seen:
        st.rerun()
