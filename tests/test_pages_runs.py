"""Runs page: the runs table (command-line runs included) and delete with confirmation."""

from __future__ import annotations

from tests._pages import copy_run, folders, open_app, texts, tiny_run  # noqa: F401 - fixtures


def test_runs_are_listed_and_deleted_only_after_confirmation(folders, tiny_run):
    models, _ = folders
    copy_run(tiny_run, models, "first")
    copy_run(tiny_run, models, "second")
    at = open_app("runs")
    table = at.dataframe[0].value
    assert set(table["run"]) == {"first", "second"}
    assert set(table["epochs"]) == {"1/1"} and table["last W"].notna().all()
    # Data, schema and device are in Run details: the table fits a 1,400 px window (tests/e2e).
    assert not {"data", "schema", "device"} & set(table.columns)
    details = texts(at.caption)
    assert "40 patients" in details and "13 variables" in details and "trained on CPU" in details

    at.selectbox(key="runs.selected").set_value("first").run()
    at.button(key="btn.delete").click().run()
    assert "cannot be undone" in texts(at.warning) and (models / "first").exists()
    at.button(key="btn.cancel_delete").click().run()
    assert (models / "first").exists() and not at.warning

    at.button(key="btn.delete").click().run()
    at.button(key="btn.confirm_delete").click().run()
    assert not (models / "first").exists() and (models / "second").exists()
    assert "Deleted run 'first'" in texts(at.success)
    assert list(at.dataframe[0].value["run"]) == ["second"]


def test_the_runs_table_shows_the_patients_each_run_trained_on(folders, tiny_run):
    models, _ = folders
    copy_run(tiny_run, models, "half")
    at = open_app("runs")
    assert at.dataframe[0].value["trained on"].tolist() == ["20 of 40 patients (holdout 0.5: 20 patients)"]
