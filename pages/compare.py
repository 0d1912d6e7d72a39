"""Compare page: real vs synthetic patients of a run, side by side, with the evaluation scores."""

from __future__ import annotations

import streamlit as st
import torch

from hgym_core import plots
from hgym_core.errors import HGymError
from pages import _compare_work as comparison
from pages._figures import plain_figure
from pages._format import plain, table_height
from pages._run_picker import pick_run, trained_runs
from pages._session import Compare

VERDICT_COLOURS = {"good": "#d1fae5", "fair": "#fef3c7", "poor": "#fee2e2"}
# Pixels that fit a 1,400 px window's main column with "variables" whole ("3 (1 good, 1 fair, 1 poor)").
SCORE_WIDTHS = {"group": 95, "score": 230, "variable": 110, "value": 125, "reference": 165, "verdict": 65,
                "n_variables": 165}


def _scores_table(frame, **options) -> None:
    """Scores with their verdict cell coloured (green good, amber fair, red poor) and readable headers."""
    styled = frame.style.map(lambda verdict: f"background-color: {VERDICT_COLOURS.get(verdict, 'transparent')}",
                             subset=["verdict"])
    st.dataframe(styled, hide_index=True, width="stretch", **options,
                 column_config={column: st.column_config.Column(label, width=SCORE_WIDTHS.get(column)) for column, label
                                in comparison.SCORE_HEADERS.items() if column in frame.columns})


def _choices(runs):
    """The run and the comparison's settings; (run, patients, seed, model scores)."""
    run = pick_run(runs, Compare.run)
    size, seed_box, models_box = st.columns(3)
    Compare.patients.setdefault(1000)
    Compare.seed.setdefault(0)
    # The GRU-based scores take minutes on a CPU: on by default only where a GPU trains them.
    Compare.model_scores.setdefault(torch.cuda.is_available())
    n_patients = size.number_input("Synthetic patients", min_value=10, max_value=20_000, step=100,
                                   key=Compare.patients.key)
    seed = seed_box.number_input("Seed", min_value=0, max_value=2**31 - 1, step=1, key=Compare.seed.key)
    model_scores = models_box.toggle("Detection and utility scores", key=Compare.model_scores.key,
                                     help="Train small GRU models to tell real from synthetic patients and to "
                                          "predict the next step (train on synthetic, test on real). They take "
                                          "most of the time: minutes on a CPU, so they start switched off there.")
    st.caption(f"Scores compare up to {comparison.REAL_PATIENTS:,} of the patients the run trained on with the "
               "synthetic ones, next to the same scores for those patients vs the run's holdout, the patients it "
               "kept out of training (the reference a synthetic set cannot be expected to beat).")
    return run, int(n_patients), int(seed), bool(model_scores)


def _outline(result: dict) -> None:
    real_n, holdout_n, synthetic_n = result["sizes"]
    reference = f"reference: {holdout_n:,} held-out real patients" if holdout_n else "no holdout to compare with"
    st.success(f"Run '{plain(result['run'])}': {synthetic_n:,} synthetic patients vs {real_n:,} real patients it "
               f"trained on ({reference}). Real is blue, synthetic orange.")
    if result["collapsed"]:
        st.warning("Collapsed in the synthetic data — the generator puts (nearly) every row at one value: "
                   + "; ".join(plain(found) for found in result["collapsed"]) + ".")


def _variables(result: dict) -> None:
    main, others = comparison.panel_variables(result["schema"])
    st.header("Variables")
    for name in main:
        _variable_panel(result, name)
    if others:
        with st.expander(f"Other variables ({plain(', '.join(others))})"):
            for name in others:
                _variable_panel(result, name)


def _variable_panel(result: dict, name: str) -> None:
    variable = result["schema"].variable(name)
    st.subheader(plain(name + (f" ({variable.unit})" if variable.unit else "")), anchor=False)
    distribution, over_time = st.columns(2)
    distribution.plotly_chart(result["figures"][("distribution", name)], key=Compare.chart("distribution", name).key)
    if ("over time", name) in result["figures"]:
        over_time.plotly_chart(result["figures"][("over time", name)], key=Compare.chart("over_time", name).key)
    else:
        over_time.caption(f"{plain(name)} is static (one value per patient), so it does not change over time: "
                          "its distribution counts each patient once.")
    for line in result["dose_lines"].get(name, []):
        st.caption(plain(line))


def _examples(result: dict, seed: int) -> None:
    st.header("Example patients")
    schema = result["schema"]
    choices = [v.name for v in schema.variables if not v.static]
    if Compare.trajectory_variable.get() not in choices:
        Compare.trajectory_variable.set(choices[0])
    picked = st.selectbox("Variable", choices, key=Compare.trajectory_variable.key)
    figure = plots.trajectories_comparison_figure(result["real"], result["synthetic"], schema, picked, n_patients=5,
                                                  seed=seed)
    st.plotly_chart(plain_figure(figure), key=Compare.chart("examples").key)


def _scores(result: dict) -> None:
    st.header("Scores")
    st.caption("Each score next to its reference: the same score for the real patients vs held-out real "
               "patients. The verdict reads the gap between the two, by one rule for every row: a family's row "
               "reads the mean over its variables, so one variable can read worse than it; 'variables' counts "
               "how each of them reads (per variable below).")
    _scores_table(result["overview"], height=table_height(len(result["overview"])))
    if result["no_reference"]:
        st.caption(f"– in the reference column: {', '.join(result['no_reference'])} "
                   f"{'has' if len(result['no_reference']) == 1 else 'have'} no real-vs-real reference: "
                   "defined against the holdout itself (a synthetic patient's distance to training vs "
                   "holdout patients), there is no second holdout to compute them for real data.")
    with st.expander("Every score, per variable"):
        _scores_table(result["summary"])
    if result["no_holdout"]:
        st.warning(result["no_holdout"], icon=":material/lock_open:")
    for note in result["notes"]:
        st.caption(plain(note))


def _privacy(result: dict) -> None:
    """How the run was trained (differential privacy, the memorisation guard) beside the distances to
    the closest real patient, training vs holdout, and the DCR share they give."""
    st.subheader("Privacy", anchor=False)
    rows = result.get("training_privacy") or []
    st.dataframe({"": [item for item, _ in rows], "this run": [value for _, value in rows]}, hide_index=True,
                 width="stretch")
    if result["dcr"] is None:
        return
    share = result["dcr_share"]
    if share is not None:
        st.metric("DCR share", f"{share.value:.0%}", help=share.definition.capitalize() + ".")
        st.caption(f"{share.value:.0%} of the synthetic patients are closer to a training patient than to a "
                   "holdout patient: about 50% means the generator did not memorise its training patients; well "
                   f"above 50% means it copies them (verdict: {share.verdict}).")
    st.plotly_chart(result["dcr"], key=Compare.chart("dcr").key)


def render() -> None:
    st.title("Compare")
    runs = trained_runs()
    if not runs:
        st.info("No trained run yet: train one on the Train page, then compare its synthetic patients here.")
        return
    run, n_patients, seed, model_scores = _choices(runs)
    key = comparison.result_key(run, n_patients, seed, model_scores)
    if st.button("Compare", key=Compare.compare_button.key, type="primary"):
        try:
            comparison.remember(key, comparison.compare(run, n_patients, seed, model_scores))
        except HGymError as problem:
            st.error(plain(problem))
    result = comparison.stored(key)
    if result is None:
        st.info("Choose the number of synthetic patients and a seed, then press Compare.")
        return
    _outline(result)
    _variables(result)
    st.header("Correlations")
    st.plotly_chart(result["figures"]["correlations"], key=Compare.chart("correlations").key)
    _examples(result, seed)
    _scores(result)
    _privacy(result)


render()
