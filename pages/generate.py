"""Generate page: sample synthetic patients from a trained run, preview them and download them."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import streamlit as st

from hgym_core.errors import HGymError
from hgym_core.runs.privacy_record import side_car
from pages._format import plain
from pages._paths import data_dir
from pages._progress import ProgressBar
from pages._run_picker import pick_run, synthesizer_for, trained_runs
from pages._session import Generate

FORMATS = {"CSV": ".csv", "CSV.gz": ".csv.gz", "Parquet": ".parquet"}
MIME = {"CSV": "text/csv", "CSV.gz": "application/gzip", "Parquet": "application/vnd.apache.parquet"}
PREVIEW_ROWS = 200


def _generate(run, n_patients: int, seed: int, file_format: str, raw_csv: bool) -> None:
    Generate.result.pop()   # one file per session: the last one goes before the next is made
    with st.status(f"Generating {n_patients:,} synthetic patients from '{plain(run.name)}'…",
                   expanded=True) as status:
        started = time.perf_counter()
        st.write("Loading the trained generator…")
        synthesizer = synthesizer_for(run)
        bar = ProgressBar(f"Sampling {n_patients:,} patients (seed {seed})…")
        file_name = f"{run.name}-synthetic-{n_patients}-seed{seed}{FORMATS[file_format]}"
        # Written batch by batch into a folder on the uploads' disk (not a /tmp that may live in
        # memory), read once for the download button, and deleted with its folder, error or not.
        folder = data_dir()
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=".generating-", dir=folder) as work:
            written = synthesizer.sample_to_file(Path(work) / file_name, n_patients, seed=seed,
                                                 progress=bar.sampling(), raw_csv=raw_csv, preview_rows=PREVIEW_ROWS)
            data = written.path.read_bytes()
        status.update(label=f"Generated {n_patients:,} patients ({written.rows:,} rows) in "
                            f"{time.perf_counter() - started:.1f} s", state="complete", expanded=False)
    Generate.result.set({
        "run": run.name, "patients": n_patients, "seed": seed, "format": file_format, "file_name": file_name,
        "data": data, "preview": written.preview, "rows": written.rows, "schema": side_car(synthesizer.schema, run.info.privacy),
    })


def _choices(runs):
    """The run and the file's settings: (run, patients, seed, format, raw CSV)."""
    run = pick_run(runs, Generate.run)
    size, seed_box, format_box = st.columns(3)
    Generate.patients.setdefault(1000)
    Generate.seed.setdefault(0)
    n_patients = size.number_input("Patients", min_value=1, max_value=100_000, step=100, key=Generate.patients.key)
    seed = seed_box.number_input("Seed", min_value=0, max_value=2**31 - 1, step=1, key=Generate.seed.key,
                                 help="The same run, seed and number of patients give the same table.")
    file_format = format_box.radio("Format", list(FORMATS), horizontal=True, key=Generate.file_format.key,
                                   help="Parquet is about 13 times smaller than CSV and keeps the column types: "
                                        "100,000 patients x 60 months are ~55 MB as Parquet, ~700 MB as CSV.")
    raw_csv = st.checkbox("Raw CSV", key=Generate.raw_csv.key, disabled=file_format == "Parquet",
                          help="Write text cells exactly as generated. By default a CSV text cell that starts with "
                               "=, +, -, @, a tab or a carriage return gets a leading ' so that a spreadsheet shows "
                               "it instead of running it as a formula (a label learnt from an uploaded table could "
                               "be one); numbers are never changed, and Parquet is never changed.")
    return run, int(n_patients), int(seed), file_format, raw_csv


def _result(result: dict) -> None:
    st.header("Synthetic patients")
    st.caption(f"{result['patients']:,} patients, {result['rows']:,} rows from run '{plain(result['run'])}' "
               f"(seed {result['seed']}). Simulated by a model: not real patients.")
    download, schema = st.columns(2)
    download.download_button(f"Download {result['format']} ({len(result['data']) / 1e6:.1f} MB)", result["data"],
                             file_name=result["file_name"], mime=MIME[result["format"]],
                             key=Generate.download_table_button.key, type="primary", on_click="ignore")
    schema.download_button("Download schema JSON", result["schema"], file_name=f"{result['run']}.schema.json",
                           mime="application/json", key=Generate.download_schema_button.key, on_click="ignore")
    st.dataframe(result["preview"], hide_index=True, width="stretch", placeholder="")   # empty cells empty
    st.caption(f"The first {min(PREVIEW_ROWS, result['rows'])} rows.")


def render() -> None:
    st.title("Generate")
    runs = trained_runs()
    if not runs:
        st.info("No trained run yet: train one on the Train page (a stopped run with a checkpoint works too).")
        return
    run, n_patients, seed, file_format, raw_csv = _choices(runs)
    if st.button("Generate", key=Generate.generate_button.key, type="primary"):
        try:
            _generate(run, n_patients, seed, file_format, raw_csv)
        except HGymError as problem:
            st.error(plain(problem))
    result = Generate.result.get()
    if result:
        _result(result)


render()
