"""Data page: the inferred schema, uploads (kept on disk; malformed ones rejected), schema edits."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import pytest

from hgym_core.data.io import table_bytes
from hgym_core.data.schema import Schema
from hgym_core.errors import HGymError
from hgym_core.runs import service
from hgym_core.synthesizer import Synthesizer
from pages import _datasets as state
from pages._format import plain
from pages._session import App, Data
from pages._schema_table import schema_to_table, table_to_schema
from tests._pages import TINY, folders, open_app, small_dataset, texts  # noqa: F401 - fixture

MALFORMED = b"PatientID,Timestep,CD4\n1,0,500\n1,0,510\n2,0,300\n2,1,x\n"   # patient 1 has month 0 twice


def with_stray_cd4(cohort: pd.DataFrame, row: int = 3) -> bytes:
    """The cohort as a CSV whose CD4 column holds one typo ('abc') among its numbers."""
    typo = cohort.assign(CD4=cohort["CD4"].round(1).astype(str))
    typo.loc[row, "CD4"] = "abc"
    return table_bytes(typo, "typo.csv")


def test_data_page_shows_the_inferred_schema(folders):
    at = open_app()
    assert "Schema" in [h.value for h in at.header]
    shown = texts(at.markdown)
    for name in small_dataset().schema.names:
        assert f"**{plain(name)}**" in shown
    assert "ready to train" in texts(at.success)
    assert f"{small_dataset().n_patients:,} patients" in texts(at.sidebar.caption)


def test_an_accepted_upload_is_kept_with_its_schema(folders, hiv_cohort):
    _, uploads = folders
    dataset = state.accept_upload(table_bytes(hiv_cohort, "cohort.csv"), "cohort.csv")
    saved = state.saved_uploads()
    assert [p.parent for p in saved] == [uploads] and state.schema_path(saved[0]).is_file()
    again = state.load_saved_upload(saved[0])   # what a later session (or a restart) loads
    assert again.schema == dataset.schema
    pd.testing.assert_frame_equal(again.frame, dataset.frame)
    assert dataset.source == {"kind": "upload", "path": str(saved[0]), "name": "cohort.csv"}
    assert dataset.n_patients == hiv_cohort["PatientID"].nunique()


def test_a_schema_edit_of_an_upload_is_kept_for_the_next_session(folders, hiv_cohort):
    at = open_app()
    at.file_uploader(key=Data.upload.key).set_value(("cohort.csv", table_bytes(hiv_cohort, "cohort.csv"),
                                                   "text/csv")).run()
    editor = at.data_editor[0]
    cd4 = list(editor.value["variable"]).index("CD4")
    at.session_state[editor.key] = {"edited_rows": {cd4: {"unit": "cells/mm3"}}, "added_rows": [],
                                    "deleted_rows": []}
    at.run()
    assert at.session_state[App.dataset.key].schema.variable("CD4").unit == "cells/mm3"
    [saved] = state.saved_uploads()
    assert state.load_saved_upload(saved).schema.variable("CD4").unit == "cells/mm3"   # after a restart too


@pytest.mark.parametrize("content, name, words", [
    (b"a,b\n1,2\n", "two-columns.csv", "needs a patient id column"),
    (MALFORMED, "duplicates.csv", "repeat the same patient and time"),
    (b"\x00\x01 not parquet", "broken.parquet", "Could not read"),
    (b"PatientID,Timestep,CD4,CD4\n1,0,500,510\n1,1,520,530\n", "twice.csv", "'CD4' twice, as columns 3 and 4"),
    ("PatientID,Timestep,Ethnic\n1,0,caf\xe9\n1,1,caf\xe9\n".encode("latin-1"), "excel.csv", "save it as UTF-8"),
])
def test_a_malformed_upload_raises_a_readable_error_and_saves_nothing(folders, content, name, words):
    with pytest.raises(HGymError, match=words):
        state.accept_upload(content, name)
    assert state.saved_uploads() == []


def test_an_upload_expanding_past_the_byte_limit_is_refused_and_saves_nothing(folders, hiv_cohort, monkeypatch):
    monkeypatch.setenv("HGYM_MAX_TABLE_BYTES", "100000")
    data = table_bytes(hiv_cohort, "cohort.csv.gz")   # 1.1 MB of text
    assert len(data) < 300_000
    with pytest.raises(HGymError, match=r"^'cohort.csv.gz' expands past 100 kB of data \(limit HGYM_MAX_TABLE_BYTES\)"):
        state.accept_upload(data, "cohort.csv.gz")
    assert state.saved_uploads() == []


def test_an_upload_named_in_any_script_keeps_its_name(folders, hiv_cohort):
    dataset = state.accept_upload(table_bytes(hiv_cohort, "名前.csv"), "名前.csv")
    [saved] = state.saved_uploads()
    assert saved.name.startswith("名前-") and state.upload_label(saved) == "名前"
    assert dataset.source["name"] == "名前.csv"


def test_an_upload_with_text_in_a_numeric_column_is_kept_and_its_problem_blocks_training(folders, hiv_cohort):
    cohort = hiv_cohort[hiv_cohort["PatientID"] < hiv_cohort["PatientID"].unique()[20]]   # small: fast page runs
    dataset = state.accept_upload(with_stray_cd4(cohort), "typo.csv")
    assert dataset.schema.variable("CD4").kind == "numeric" and len(state.saved_uploads()) == 1
    [problem] = [p for p in state.problems(dataset) if p.severity == "error"]
    assert problem.column == "CD4" and problem.rows == [5]   # spreadsheet row: header = row 1
    assert "replace 'abc' with a number or leave it empty" in problem.message

    at = open_app()
    at.file_uploader(key=Data.upload.key).set_value(("typo.csv", with_stray_cd4(cohort), "text/csv")).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.session_state[App.dataset.key].name == "typo.csv"
    assert "block training" in texts(at.error) and "'CD4' is numeric in the schema but holds text" in texts(at.error)
    at.switch_page("pages/train.py").run()
    assert at.button(key="btn.start").disabled


def test_the_page_rejects_a_malformed_upload_and_keeps_the_previous_data(folders, hiv_cohort):
    at = open_app()
    before = at.session_state[App.dataset.key]
    at.file_uploader(key=Data.upload.key).set_value(("duplicates.csv", MALFORMED, "text/csv")).run()
    message = texts(at.error)
    assert f"{plain('duplicates.csv')} was not loaded" in message and "repeat the same patient and time" in message
    assert at.session_state[App.dataset.key] is before
    assert f"Working on **{plain(before.name)}**" in texts(at.markdown)

    at.file_uploader(key=Data.upload.key).set_value(("cohort.csv", table_bytes(hiv_cohort, "cohort.csv"),
                                                   "text/csv")).run()
    assert at.session_state[App.dataset.key].name == "cohort.csv"
    assert "Working on **cohort.csv**" in texts(at.markdown)


def test_an_edit_in_the_schema_editor_becomes_the_schema_and_can_block_training(folders):
    at = open_app()
    editor = at.data_editor[0]
    rows = list(editor.value["variable"])
    edits = {rows.index("CD4"): {"unit": "cells/mm3"}, rows.index("Gender"): {"categories": "Male, Unknown"}}
    at.session_state[editor.key] = {"edited_rows": edits, "added_rows": [], "deleted_rows": []}
    at.run()
    schema = at.session_state[App.dataset.key].schema
    assert schema.variable("CD4").unit == "cells/mm3"
    assert schema.variable("Gender").categories == ["Male", "Unknown"]
    assert "block training" in texts(at.error) and "labels not in the schema" in texts(at.error)

    at.switch_page("pages/train.py").run()
    assert at.button(key="btn.start").disabled


def test_an_impossible_edit_is_refused_with_its_reason(folders):
    at = open_app()
    before = at.session_state[App.dataset.key].schema
    editor = at.data_editor[0]
    gender = list(editor.value["variable"]).index("Gender")
    at.session_state[editor.key] = {"edited_rows": {gender: {"categories": "Male"}}, "added_rows": [],
                                    "deleted_rows": []}
    at.run()
    assert "must hold exactly 2 labels for a binary variable" in texts(at.error)
    assert at.session_state[App.dataset.key].schema == before
    assert list(at.data_editor[0].value["categories"]) == list(schema_to_table(before)["categories"])


def test_editor_text_reads_back_as_the_tables_own_label_types():
    dataset = small_dataset()
    table = schema_to_table(dataset.schema)
    row = {name: i for i, name in enumerate(table["variable"])}
    table.loc[row["VL (M)"], "categories"] = "1, 0"            # reorder 0/1 flags: stay ints
    table.loc[row["Extra pk-En"], "categories"] = "True, False"  # stay booleans
    table.loc[row["Ethnic"], "categories"] = ""                  # empty: the table's labels
    table.loc[row["CD4"], "kind"] = "categorical"                # numeric -> labels from the data
    schema = table_to_schema(table, dataset.schema, dataset.frame)
    assert schema.variable("VL (M)").categories == [1, 0]
    assert schema.variable("Extra pk-En").categories == [True, False]
    assert sorted(schema.variable("Ethnic").categories) == sorted(dataset.frame["Ethnic"].unique())
    assert len(schema.variable("CD4").categories) == dataset.frame["CD4"].nunique()


def test_the_editor_shows_a_transform_for_numeric_variables_only(folders):
    at = open_app()
    shown = at.data_editor[0].value.set_index("variable")["transform"]
    assert shown["CD4"] == "boxcox" and shown[["Gender", "Ethnic"]].isna().all()


def test_a_kind_switched_in_the_editor_gains_or_drops_the_transform():
    dataset = small_dataset()
    chosen = {"VL": "minmax", "CD4": "log"}
    schema = replace(dataset.schema, variables=[replace(v, transform=chosen.get(v.name, v.transform))
                                                for v in dataset.schema.variables])
    table = schema_to_table(schema)
    assert table_to_schema(table, schema, dataset.frame) == schema   # blank label transforms read back
    row = {name: i for i, name in enumerate(table["variable"])}
    table.loc[row["VL (M)"], "kind"] = "numeric"        # label -> numeric, transform left blank
    table.loc[row["VL"], "kind"] = "categorical"        # numeric (minmax) -> labels
    table.loc[row["CD4"], "transform"] = None           # cleared on a numeric row: keeps its own
    edited = table_to_schema(table, schema, dataset.frame)
    assert (edited.variable("VL (M)").kind, edited.variable("VL (M)").transform) == ("numeric", "boxcox")
    assert (edited.variable("VL").kind, edited.variable("VL").transform) == ("categorical", "boxcox")
    assert pd.isna(schema_to_table(edited).set_index("variable").loc["VL", "transform"])
    assert edited.variable("CD4").transform == "log"


def edit_schema(at, edits: dict[str, dict]) -> None:
    """Type ``edits`` ({variable: {editor column: text}}) into the schema editor, as a user does."""
    editor = at.data_editor[0]
    rows = list(editor.value["variable"])
    at.session_state[editor.key] = {"edited_rows": {rows.index(name): cells for name, cells in edits.items()},
                                    "added_rows": [], "deleted_rows": []}
    at.run()


def test_a_fixed_file_uploaded_again_keeps_the_schema_edits_that_still_fit(folders, hiv_cohort):
    cohort = hiv_cohort[hiv_cohort["PatientID"] < 30]
    at = open_app()
    at.file_uploader(key=Data.upload.key).set_value(("cohort.csv", table_bytes(cohort, "cohort.csv"), "text/csv")).run()
    edit_schema(at, {"CD4": {"unit": "cells/mm3"}, "Ethnic": {"categories": "Other, Caucasian, African, Asian"}})
    fixed = cohort.drop(columns=["Drug (M)"]).assign(Ethnic=cohort["Ethnic"].replace("Asian", "Pacific"))
    at.file_uploader(key=Data.upload.key).set_value(("cohort-fixed.csv", table_bytes(fixed, "x.csv"),
                                                     "text/csv")).run()
    schema = at.session_state[App.dataset.key].schema
    assert schema.variable("CD4").unit == "cells/mm3"                        # carried over
    assert schema.variable("Ethnic") == Schema.infer(fixed).variable("Ethnic")   # no longer fits: inferred
    [message] = at.warning
    assert f"Your schema edits of {plain('cohort.csv')} are kept: CD4 (unit)." in message.value
    assert "The edit of **Ethnic** no longer fits this table" in message.value and "Pacific" in message.value
    assert state.load_saved_upload(state.saved_uploads()[0]).schema == schema   # kept for later sessions too


def test_a_typed_category_order_is_kept_through_training_and_sampling(folders):
    models, _ = folders
    typed = ["Other", "Caucasian", "African", "Asian"]   # not the inferred (alphabetical) order
    at = open_app()
    edit_schema(at, {"Ethnic": {"categories": ", ".join(typed)}})
    dataset = at.session_state[App.dataset.key]
    assert dataset.schema.variable("Ethnic").categories == typed
    job = service.start_run(models / "ordered", TINY, dataset.source, dataset.frame, dataset.schema)
    assert job.join(120) and job.status == "finished", job.error
    trained = Synthesizer.load(models / "ordered")
    assert trained.schema.variable("Ethnic").categories == typed
    span = next(span for span in trained.encoder.spans if span.name == "Ethnic")
    only_asian = dataset.frame.assign(Ethnic="Asian")
    encoded = trained.encoder.encode(only_asian).padded()[:, :, span.start:span.end]
    assert (encoded.argmax(-1) == typed.index("Asian")).all()   # the one-hot column of the typed position
    sampled = trained.sample(20, seed=0)
    assert set(sampled["Ethnic"]) <= set(typed)


def test_a_bad_time_column_names_every_row_and_the_markers_read_as_empty(folders):
    """Issue 24, item 14: the upload's text and missing markers in the time column are one problem
    naming rows 5, 40, 41 and 300, and the page says which markers it read as empty."""
    lines = ["id,Hours,CD4"] + [f"{row // 10},{row % 10},{500 + row}" for row in range(400)]
    lines[4], lines[39], lines[40], lines[299] = "0,about 2h,503", "3,n/a,538", "4,?,539", "29,later,798"
    at = open_app()
    at.file_uploader(key=Data.upload.key).set_value(("hours.csv", "\n".join(lines).encode(), "text/csv")).run()
    errors = texts(at.error)   # the upload is refused: rows without a time cannot be grouped
    assert "spreadsheet rows 5, 40, 41, 300" in errors and "has 4 rows without a time" in errors
    assert plain("Read as empty: 'n/a' (1 cell) and '?' (1 cell) in Hours.") in errors
    lines[4], lines[299] = "0,3,503", "29,8,798"   # times fixed: the upload is taken, the markers said
    lines[39], lines[40] = "3,8,-", "3,9,NA"
    at.file_uploader(key=Data.upload.key).set_value(("fixed.csv", "\n".join(lines).encode(), "text/csv")).run()
    assert "Loaded fixed.csv" in texts(at.success)
    assert plain("Read as empty: '-' (1 cell) and 'NA' (1 cell) in CD4.") in texts(at.caption)


def test_step_counts_say_they_are_of_the_whole_table_and_empty_bounds_show_empty(folders):
    """Issue 24, items 15 and 16: the Data page counts steps over the whole table, the Train page
    over the training side, and each says so; the editor's empty Min / Max cells show empty."""
    at = open_app()
    labels = [metric.label for metric in at.metric]
    assert "Longest patient (steps)" in labels and "Steps" not in labels
    assert "Counted over the whole table" in texts(at.caption)
    editor = at.data_editor[0]
    assert editor.proto.HasField("placeholder") and editor.proto.placeholder == ""
    assert all(table.proto.placeholder == "" and table.proto.HasField("placeholder") for table in at.dataframe)
    at.switch_page("pages/train.py").run()
    assert "patients on the training side, of up to 60 steps" in texts(at.caption)
