"""The Compare page's work: sample, take the run's own split of the real data, score, build every figure once.

A comparison is kept in session state per (run, checkpoint, patients, seed), so switching pages
or picking another example variable redraws stored figures instead of recomputing them.
"""

from __future__ import annotations

import time

import pandas as pd
import streamlit as st

from hgym_core import plots
from hgym_core.runs.folder import RunFolder
from hgym_core.runs.listing import RunSummary
from hgym_core.runs.patients import NO_HOLDOUT, sample_patients, training_and_holdout
from hgym_core.runs.privacy_record import summary_rows
from hgym_core.evaluation import GROUPS, EvaluationSettings, Report, collapsed_variables, dose_lines, evaluate
from hgym_core.evaluation.collapse import NOTE_START as COLLAPSE_NOTE
from hgym_core.evaluation.privacy import RAISE_MAX_PATIENTS
from hgym_core.data.schema import Schema, check
from pages import _format as fmt
from pages._datasets import table_for_run
from pages._figures import fixed_log_axis, plain_figure
from pages._progress import ProgressBar
from pages._run_picker import synthesizer_for
from pages._session import Compare

KEEP_RESULTS = 3
# The run's training patients scored (a seeded sample when it trained on more): enough for stable
# scores, few enough that scoring takes seconds rather than minutes on a laptop CPU. The holdout
# side is the run's whole holdout; the distance scores sample it to this many too.
REAL_PATIENTS = 1000
# Detection and utility train small GRUs: most of a comparison's time. The page can skip them.
MODEL_GROUPS = ("detection", "utility")
HIV_DRUGS = ("Base Drug Combo", "Comp. INI", "Comp. NNRTI", "Extra PI", "Extra pk-En")
HIV_FIRST = ("CD4", "VL", "Rel CD4", *HIV_DRUGS)
# How one progress bar is split between sampling and scoring so that it moves about evenly in
# time: on a 2-core CPU sampling makes ~700 patients/s (benchmarks/sampling.py) and scoring
# REAL_PATIENTS real patients takes ~3 s, or ~30 s with the model scores (benchmarks/evaluation.py).
SAMPLED_PER_SECOND = 700
SCORING_SECONDS = {False: 3.0, True: 30.0}
# Readable headers for the score tables' columns (Report.summary() and overview()).
SCORE_HEADERS = {"group": "family", "score": "score", "variable": "variable", "value": "synthetic vs real",
                 "reference": "reference (real vs holdout)", "verdict": "verdict", "n_variables": "variables"}


def result_key(run: RunSummary, n_patients: int, seed: int, model_scores: bool) -> tuple:
    return str(run.path.resolve()), run.info.checkpoint_step, int(n_patients), int(seed), bool(model_scores)


def stored(key: tuple) -> dict | None:
    return Compare.results.get({}).get(key)


def panel_variables(schema: Schema) -> tuple[list[str], list[str]]:
    """(variables drawn at once, the rest): for the HIV schema CD4, VL, Rel CD4 and the drugs first;
    for any other schema every variable."""
    if set(HIV_FIRST) <= set(schema.names):
        return list(HIV_FIRST), [name for name in schema.names if name not in HIV_FIRST]
    return schema.names, []


def compare(run: RunSummary, n_patients: int, seed: int, model_scores: bool) -> dict:
    """Sample, score and draw, reporting each stage in an st.status box with one progress bar for
    sampling and scoring; returns the stored result."""
    with st.status(f"Comparing {n_patients:,} synthetic patients from '{fmt.plain(run.name)}' with the real "
                   "data…", expanded=True) as status:
        started = time.perf_counter()
        st.write("Loading the run and the data it was trained on…")
        synthesizer = synthesizer_for(run)
        schema = synthesizer.schema
        folder = RunFolder(run.path)
        real, holdout = training_and_holdout(folder, check(table_for_run(folder, run.info), schema))
        real = sample_patients(real, schema.id_column, REAL_PATIENTS, seed)
        bar = ProgressBar(f"Sampling {n_patients:,} synthetic patients (seed {seed})…")
        split = sampling_share(n_patients, model_scores)
        synthetic = synthesizer.sample(n_patients, seed=seed, progress=bar.sampling(0.0, split))
        groups = tuple(group for group in GROUPS if model_scores or group not in MODEL_GROUPS)
        report = evaluate(real, synthetic, schema, holdout=holdout, seed=seed, max_patients=REAL_PATIENTS,
                          settings=EvaluationSettings(groups=groups), progress=bar.scoring(split, 1.0))
        st.write("Drawing the figures…")
        privacy = report.details.get("privacy", {})
        result = {
            "run": run.name, "schema": schema, "real": real, "synthetic": synthetic,
            "figures": figures(real, synthetic, schema),
            "summary": scores_for_display(report.summary(), report, schema),
            "overview": scores_for_display(with_variable_verdicts(report.overview(), report), report, schema),
            "notes": page_notes(report.notes),
            "no_reference": sorted(set(report.overview().loc[lambda f: f["reference"].isna(), "score"])),
            "collapsed": [str(found) for found in collapsed_variables(real, synthetic, schema)],
            "dose_lines": dose_lines(report.details, points={v.name: v.points for v in schema.variables}),
            "dcr": plain_figure(plots.dcr_histogram_figure(privacy["dcr_train"], privacy.get("dcr_holdout")))
            if privacy.get("dcr_train") is not None else None,
            "dcr_share": next((score for score in report.scores if score.name == "DCR share"), None),
            "training_privacy": summary_rows(run.info.privacy, report),   # ε, δ, clip, σ, public, guard
            "holdout": holdout, "no_holdout": NO_HOLDOUT if holdout is None else None,
            "sizes": (real[schema.id_column].nunique(), 0 if holdout is None else holdout[schema.id_column].nunique(),
                      n_patients),
        }
        status.update(label=f"Compared in {time.perf_counter() - started:.0f} s", state="complete", expanded=False)
    return result


def sampling_share(n_patients: int, model_scores: bool) -> float:
    """The part of the progress bar that sampling ``n_patients`` fills; scoring fills the rest."""
    sampling = n_patients / SAMPLED_PER_SECOND
    return sampling / (sampling + SCORING_SECONDS[model_scores])


def remember(key: tuple, result: dict) -> None:
    results = Compare.results.setdefault({})
    results[key] = result
    for old in list(results)[:-KEEP_RESULTS]:
        del results[old]


def page_notes(notes: list[str]) -> list[str]:
    """The report's notes as the page shows them: the collapse note is the warning at the top already,
    and the advice to raise max_patients names a setting the page does not have (it scores at most
    REAL_PATIENTS patients of each table)."""
    advice = f"compare {REAL_PATIENTS:,} synthetic patients or fewer to use them all"
    return [note.replace(RAISE_MAX_PATIENTS, advice) for note in notes if not note.startswith(COLLAPSE_NOTE)]


def with_variable_verdicts(overview: pd.DataFrame, report: Report) -> pd.DataFrame:
    """The overview's "variables" as '3 (2 good, 1 fair)': a family's row reads the mean over its
    variables by the one verdict rule, and the count says how each variable reads by the same rule."""
    counts = pd.DataFrame([(s.name, s.verdict) for s in report.scores], columns=["score", "verdict"])
    shown = overview.copy()
    words = []
    for name, total in zip(overview["score"], overview["n_variables"]):
        verdicts = counts.loc[counts["score"] == name, "verdict"].value_counts()
        spread = ", ".join(f"{verdicts[v]} {v}" for v in ("good", "fair", "poor", "n/a") if v in verdicts)
        words.append(f"{total}" if len(verdicts) <= 1 else f"{total} ({spread})")
    shown["n_variables"] = words
    return shown


def scores_for_display(frame: pd.DataFrame, report: Report, schema: Schema) -> pd.DataFrame:
    """A score table as the page shows it: numbers as text with '–' where there is none, and scores in
    units (the TSTR MAE) named with their variable and its unit. Column names stay (SCORE_HEADERS)."""
    shown = frame.copy()
    for name, spec in report.specs.items():
        if not spec.relative:
            continue
        for variable in {s.variable for s in report.scores if s.name == name}:
            unit = schema.variable(variable).unit if variable in schema.names else None
            rows = (shown["score"] == name) & (shown["variable"] == variable if "variable" in shown else True)
            shown.loc[rows, "score"] = f"{name} of {variable}" + (f" ({unit})" if unit else "")
    for column in ("value", "reference"):
        shown[column] = [fmt.number(x) for x in frame[column]]
    return shown


def figures(real: pd.DataFrame, synthetic: pd.DataFrame, schema: Schema) -> dict:
    """Every variable's distribution (one value per patient for a static variable) and over-time
    figure (none for a static one; on/off bands for dose-like numeric variables), and the correlation
    heatmaps; names and labels from the data drawn as typed."""
    drawn = {"correlations": plots.correlation_heatmaps_figure(real, synthetic, schema)}
    doses = plots.dose_like_variables(real, schema)
    for variable in schema.variables:
        name = variable.name
        log = fixed_log_axis(name)
        drawn[("distribution", name)] = plots.distribution_figure(real, synthetic, schema, name, log_x=log)
        if name in doses:
            drawn[("over time", name)] = plots.dose_bands_figure(real, synthetic, schema, name)
        elif variable.kind == "numeric" and not variable.static:   # a static value is flat over time
            drawn[("over time", name)] = plots.time_band_figure(real, synthetic, schema, name, log_y=log)
        elif not variable.static:   # a static variable's shares are flat over time
            drawn[("over time", name)] = plots.category_share_over_time_figure(real, synthetic, schema, name)
    return {key: plain_figure(figure) for key, figure in drawn.items()}
