"""Generate page: sample synthetic patients from a trained run, preview them and download them."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import streamlit as st

from hgym_core.errors import HGymError
from pages import _state as state
from pages._progress import ProgressBar

RESULT = "generated"   # the last generated table's file, preview and settings, kept across reruns
FORMATS = {"CSV": ".csv", "CSV.gz": ".csv.gz", "Parquet": ".parquet"}
MIME = {"CSV": "text/csv", "CSV.gz": "application/gzip", "Parquet": "application/vnd.apache.parquet"}
PREVIEW_ROWS = 200


def _generate(run, n_patients: int, seed: int, file_format: str, raw_csv: bool) -> None:
    st.session_state.pop(RESULT, None)   # one file per session: the last one goes before the next is made
    with st.status(f"Generating {n_patients:,} synthetic patients from '{run.name}'…", expanded=True) as status:
        started = time.perf_counter()
        st.write("Loading the trained generator…")
        synthesizer = state.synthesizer_for(run)
        bar = ProgressBar(f"Sampling {n_patients:,} patients (seed {seed})…")
        file_name = f"{run.name}-synthetic-{n_patients}-seed{seed}{FORMATS[file_format]}"
        # Written batch by batch into a folder on the uploads' disk (not a /tmp that may live in
        # memory), read once for the download button, and deleted with its folder, error or not.
        folder = state.data_dir()
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=".generating-", dir=folder) as work:
            written = synthesizer.sample_to_file(Path(work) / file_name, n_patients, seed=seed,
                                                 progress=bar.sampling(), raw_csv=raw_csv, preview_rows=PREVIEW_ROWS)
            data = written.path.read_bytes()
        status.update(label=f"Generated {n_patients:,} patients ({written.rows:,} rows) in "
                            f"{time.perf_counter() - started:.1f} s", state="complete", expanded=False)
    st.session_state[RESULT] = {
        "run": run.name, "patients": n_patients, "seed": seed, "format": file_format, "file_name": file_name,
        "data": data, "preview": written.preview, "rows": written.rows, "schema": synthesizer.schema.to_json(),
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
    raw_csv = st.checkbox("Raw CSV", key="generate.raw_csv", disabled=file_format == "Parquet",
                          help="Write text cells exactly as generated. By default a CSV text cell that starts with "
                               "=, +, -, @, a tab or a carriage return gets a leading ' so that a spreadsheet shows "
                               "it instead of running it as a formula (a label learnt from an uploaded table could "
                               "be one); numbers are never changed, and Parquet is never changed.")
    if st.button("Generate", key="btn.generate", type="primary"):
        try:
            _generate(run, int(n_patients), int(seed), file_format, raw_csv)
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
