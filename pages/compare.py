"""Compare page: real vs synthetic patients of a run, side by side, with the evaluation scores."""

from __future__ import annotations

import streamlit as st
import torch

from hgym_core import plots
from hgym_core.errors import HGymError
from pages import _compare_work as comparison
from pages import _format as fmt
from pages import _state as state

VERDICT_COLOURS = {"good": "#d1fae5", "fair": "#fef3c7", "poor": "#fee2e2"}


def _scores_table(frame, **options) -> None:
    """Scores with their verdict cell coloured (green good, amber fair, red poor) and readable headers."""
    styled = frame.style.map(lambda verdict: f"background-color: {VERDICT_COLOURS.get(verdict, 'transparent')}",
                             subset=["verdict"])
    st.dataframe(styled, hide_index=True, width="stretch", **options,
                 column_config={column: st.column_config.Column(label) for column, label in
                                comparison.SCORE_HEADERS.items() if column in frame.columns})


def _variable_panel(result: dict, name: str) -> None:
    variable = result["schema"].variable(name)
    st.subheader(name + (f" ({variable.unit})" if variable.unit else ""))
    distribution, over_time = st.columns(2)
    distribution.plotly_chart(result["figures"][("distribution", name)], key=f"distribution.{name}")
    if ("over time", name) in result["figures"]:
        over_time.plotly_chart(result["figures"][("over time", name)], key=f"over_time.{name}")
    else:
        over_time.caption(f"{name} is static (one value per patient), so it does not change over time.")
    for line in result["dose_lines"].get(name, []):
        st.caption(line)


st.title("Compare")
runs = state.trained_runs()
if not runs:
    st.info("No trained run yet: train one on the Train page, then compare its synthetic patients here.")
else:
    run = state.pick_run(runs, "compare.run")
    size, seed_box, models_box = st.columns(3)
    st.session_state.setdefault("compare.patients", 1000)
    st.session_state.setdefault("compare.seed", 0)
    # The GRU-based scores take minutes on a CPU: on by default only where a GPU trains them.
    st.session_state.setdefault("compare.model_scores", torch.cuda.is_available())
    n_patients = size.number_input("Synthetic patients", min_value=10, max_value=20_000, step=100,
                                   key="compare.patients")
    seed = seed_box.number_input("Seed", min_value=0, max_value=2**31 - 1, step=1, key="compare.seed")
    model_scores = models_box.toggle("Detection and utility scores", key="compare.model_scores",
                                     help="Train small GRU models to tell real from synthetic patients and to "
                                          "predict the next step (train on synthetic, test on real). They take "
                                          "most of the time: minutes on a CPU, so they start switched off there.")
    st.caption(f"Scores compare up to {comparison.REAL_PATIENTS:,} of the patients the run trained on with the "
               "synthetic ones, next to the same scores for those patients vs the run's holdout, the patients it "
               "kept out of training (the reference a synthetic set cannot be expected to beat).")
    key = comparison.result_key(run, n_patients, seed, model_scores)
    if st.button("Compare", key="btn.compare", type="primary"):
        try:
            comparison.remember(key, comparison.compare(run, int(n_patients), int(seed), model_scores))
        except HGymError as problem:
            st.error(str(problem))

    result = comparison.stored(key)
    if result is None:
        st.info("Choose the number of synthetic patients and a seed, then press Compare.")
    else:
        real_n, holdout_n, synthetic_n = result["sizes"]
        reference = f"reference: {holdout_n:,} held-out real patients" if holdout_n else "no holdout to compare with"
        st.success(f"Run '{result['run']}': {synthetic_n:,} synthetic patients vs {real_n:,} real patients it "
                   f"trained on ({reference}). Real is blue, synthetic orange.")
        if result["collapsed"]:
            st.warning("Collapsed in the synthetic data — the generator puts (nearly) every row at one value: "
                       + "; ".join(result["collapsed"]) + ".")
        main, others = comparison.panel_variables(result["schema"])
        st.header("Variables")
        for name in main:
            _variable_panel(result, name)
        if others:
            with st.expander(f"Other variables ({', '.join(others)})"):
                for name in others:
                    _variable_panel(result, name)

        st.header("Correlations")
        st.plotly_chart(result["figures"]["correlations"], key="correlations")

        st.header("Example patients")
        schema = result["schema"]
        choices = [v.name for v in schema.variables if not v.static]
        if st.session_state.get("compare.trajectory_variable") not in choices:
            st.session_state["compare.trajectory_variable"] = choices[0]
        picked = st.selectbox("Variable", choices, key="compare.trajectory_variable")
        st.plotly_chart(plots.trajectories_comparison_figure(result["real"], result["synthetic"], schema, picked,
                                                             n_patients=5, seed=int(seed)), key="trajectories")

        st.header("Scores")
        st.caption("Each score next to its reference: the same score for the real patients vs held-out real "
                   "patients. The verdict reads the gap between the two.")
        _scores_table(result["overview"], height=fmt.table_height(len(result["overview"])))
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
            st.caption(note)
        if result["dcr"] is not None:
            st.subheader("Privacy")
            st.plotly_chart(result["dcr"], key="dcr")
