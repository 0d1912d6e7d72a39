"""Generate page: synthetic patients from a run, previewed, downloadable as a file with the schema's columns."""

from __future__ import annotations

import io

import pandas as pd

from hgym_core.data.schema import Schema
from hgym_core.synthesizer import Synthesizer
from pages._session import Generate
from tests._pages import TINY, copy_run, folders, generate_from, open_app, small_dataset, texts, tiny_run  # noqa: F401 - fixtures


def test_generate_a_csv_of_100_patients_and_the_schema(folders, tiny_run):
    models, _ = folders
    copy_run(tiny_run, models, "tiny")
    at = open_app("generate")
    at.number_input(key="generate.patients").set_value(100)
    at.number_input(key="generate.seed").set_value(3)
    at.button(key="btn.generate").click().run()
    assert not at.exception, [e.value for e in at.exception]

    labels = [button.label for button in at.get("download_button")]
    assert any(label.startswith("Download CSV") for label in labels) and "Download schema JSON" in labels
    result = at.session_state[Generate.result.key]
    table = pd.read_csv(io.BytesIO(result["data"]))
    schema = Schema.from_json(result["schema"])
    assert list(table.columns) == schema.columns
    assert table[schema.id_column].nunique() == 100
    for variable in schema.variables:
        if variable.categories:
            assert set(table[variable.name].dropna().astype(str)) <= {str(c) for c in variable.categories}
    assert len(at.dataframe[0].value) == min(200, len(table))   # the preview
    assert "100 patients" in texts(at.caption)
    [bar] = at.get("progress")                          # fed by sample(progress=...)
    assert bar.value == 100 and bar.proto.text.startswith("Sampled 100 of 100 patients (")
    assert bar.proto.text.endswith(" patients/s)")


def test_the_same_seed_gives_the_same_file_and_parquet_works(folders, tiny_run):
    at = generate_from(tiny_run, folders[0], 20)
    first = at.session_state[Generate.result.key]["data"]
    at.button(key="btn.generate").click().run()
    assert at.session_state[Generate.result.key]["data"] == first
    at.radio(key="generate.format").set_value("Parquet").run()
    at.button(key="btn.generate").click().run()
    parquet = pd.read_parquet(io.BytesIO(at.session_state[Generate.result.key]["data"]))
    pd.testing.assert_frame_equal(parquet, pd.read_csv(io.BytesIO(first)), check_dtype=False)


def test_csv_text_a_spreadsheet_would_run_is_quoted_unless_raw_csv_is_ticked(folders):
    models, uploads = folders
    cohort = small_dataset().frame.copy()
    cohort["Ethnic"] = cohort["Ethnic"].map({"Other": "=1+1", "Caucasian": "@SUM(A1)", "African": "+A2",
                                             "Asian": "-2+3"})
    Synthesizer(Schema.infer(cohort), TINY).fit(cohort, models / "formulas")
    at = open_app("generate")
    at.number_input(key="generate.patients").set_value(30)
    at.button(key="btn.generate").click().run()
    quoted = pd.read_csv(io.BytesIO(at.session_state[Generate.result.key]["data"]))["Ethnic"]
    at.checkbox(key="generate.raw_csv").check().run()
    at.button(key="btn.generate").click().run()
    raw = pd.read_csv(io.BytesIO(at.session_state[Generate.result.key]["data"]))["Ethnic"]
    assert set(raw) <= {"=1+1", "@SUM(A1)", "+A2", "-2+3"} and quoted.tolist() == ["'" + label for label in raw]
    assert not [p for p in uploads.iterdir() if p.name.startswith(".generating")]   # the work file is gone
    at.radio(key="generate.format").set_value("Parquet").run()
    assert at.checkbox(key="generate.raw_csv").disabled


def test_the_preview_shows_empty_cells_empty(folders, tiny_run):
    """Issue 24, item 16: Streamlit writes "None" in a missing cell unless told otherwise."""
    at = generate_from(tiny_run, folders[0], 5)
    [preview] = at.dataframe
    assert preview.proto.HasField("placeholder") and preview.proto.placeholder == ""
