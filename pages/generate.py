"""Generate page: sample synthetic patients from a trained run, preview them and download them."""

from __future__ import annotations

import time

import streamlit as st

from hgym_core.errors import HGymError
from hgym_core.data.io import table_bytes
from pages import _state as state
from pages._progress import ProgressBar

RESULT = "generated"   # the last generated table's file, preview and settings, kept across reruns
FORMATS = {"CSV": ".csv", "CSV.gz": ".csv.gz", "Parquet": ".parquet"}
MIME = {"CSV": "text/csv", "CSV.gz": "application/gzip", "Parquet": "application/vnd.apache.parquet"}
PREVIEW_ROWS = 200


def _generate(run, n_patients: int, seed: int, file_format: str) -> None:
    with st.status(f"Generating {n_patients:,} synthetic patients from '{run.name}'…", expanded=True) as status:
        started = time.perf_counter()
        st.write("Loading the trained generator…")
        synthesizer = state.synthesizer_for(run)
        bar = ProgressBar(f"Sampling {n_patients:,} patients (seed {seed})…")
        table = synthesizer.sample(n_patients, seed=seed, progress=bar.sampling())
        file_name = f"{run.name}-synthetic-{n_patients}-seed{seed}{FORMATS[file_format]}"
        st.write(f"Writing {len(table):,} rows as {file_format}…")
        data = table_bytes(table, file_name)
        status.update(label=f"Generated {n_patients:,} patients ({len(table):,} rows) in "
                            f"{time.perf_counter() - started:.1f} s", state="complete", expanded=False)
    st.session_state[RESULT] = {
        "run": run.name, "patients": n_patients, "seed": seed, "format": file_format, "file_name": file_name,
        "data": data, "preview": table.head(PREVIEW_ROWS), "rows": len(table),
        "schema": synthesizer.schema.to_json(),
    }


st.title("Generate")
runs = state.trained_runs()
if not runs:
    st.info("No trained run yet: train one on the Train page (a stopped run with a checkpoint works too).")
else:
    run = state.pick_run(runs, "generate.run")
    size, seed_box, format_box = st.columns(3)
    st.session_state.setdefault("generate.patients", 1000)
    st.session_state.setdefault("generate.seed", 0)
    n_patients = size.number_input("Patients", min_value=1, max_value=100_000, step=100, key="generate.patients")
    seed = seed_box.number_input("Seed", min_value=0, max_value=2**31 - 1, step=1, key="generate.seed",
                                 help="The same run, seed and number of patients give the same table.")
    file_format = format_box.radio("Format", list(FORMATS), horizontal=True, key="generate.format",
                                   help="Parquet is about 13 times smaller than CSV and keeps the column types: "
                                        "100,000 patients x 60 months are ~55 MB as Parquet, ~700 MB as CSV.")
    if st.button("Generate", key="btn.generate", type="primary"):
        try:
            _generate(run, int(n_patients), int(seed), file_format)
        except HGymError as problem:
            st.error(str(problem))

    result = st.session_state.get(RESULT)
    if result:
        st.header("Synthetic patients")
        st.caption(f"{result['patients']:,} patients, {result['rows']:,} rows from run '{result['run']}' "
                   f"(seed {result['seed']}). Simulated by a model: not real patients.")
        download, schema = st.columns(2)
        download.download_button(f"Download {result['format']} ({len(result['data']) / 1e6:.1f} MB)",
                                 result["data"], file_name=result["file_name"], mime=MIME[result["format"]],
                                 key="btn.download_table", type="primary", on_click="ignore")
        schema.download_button("Download schema JSON", result["schema"], file_name=f"{result['run']}.schema.json",
                               mime="application/json", key="btn.download_schema", on_click="ignore")
        st.dataframe(result["preview"], hide_index=True, width="stretch")
        st.caption(f"The first {min(PREVIEW_ROWS, result['rows'])} rows.")
