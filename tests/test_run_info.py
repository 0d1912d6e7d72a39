"""run.json through RunInfo: one typed record, its wrong shapes refused in one sentence naming the field."""

from __future__ import annotations

import json

import pytest

from hgym_core.errors import HGymError
from hgym_core.runs.folder import RunFolder
from hgym_core.runs.info import DataRecord, PatientCounts, RunInfo, RunStatus
from hgym_core.runs.listing import list_runs


def write_json(folder, values) -> RunFolder:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "run.json").write_text(json.dumps(values), encoding="utf-8")
    return RunFolder(folder)


def test_a_record_round_trips_through_run_json(tmp_path):
    run = RunFolder(tmp_path / "run")
    written = RunInfo(name="run", created="2024-05-01T10:00:00", status=RunStatus.STOPPED, epochs_done=2,
                      epochs_target=5, checkpoint_step=96, config={"epochs": 5, "holdout": 0.2},
                      data=DataRecord("demo: 40 patients", {"kind": "demo", "n_patients": 40, "seed": 0}, 40, 2400,
                                      ["PatientID"], "abc"),
                      patients=PatientCounts(table=40, trained=32, holdout=8, holdout_fraction=0.2),
                      last_metrics={"w": 0.5, "corr": 0.1}).write(run)
    read = RunInfo.read(run)
    assert read == written and read.updated   # stamped by the writer
    assert read.status == "stopped" and read.patients.describe() == "32 of 40 patients (holdout 0.2: 8 patients)"


@pytest.mark.parametrize("values, field", [
    ({"status": "paused"}, "status"),
    ({"epochs_done": "three"}, "epochs_done"),
    ({"checkpoint_step": -1}, "checkpoint_step"),
    ({"config": ["epochs", 5]}, "config"),
    ({"data": {"description": "x", "source": 5, "patients": 3, "rows": 9, "columns": []}}, "data.source"),
    ({"data": "a table"}, "data"),
    ({"patients": {"table": 10, "trained": 8, "holdout": 2}}, "patients.holdout_fraction"),
    ({"last_metrics": {"w": "high"}}, "last_metrics"),
])
def test_a_run_json_of_the_wrong_shape_is_refused_naming_the_field(tmp_path, values, field):
    run = write_json(tmp_path / "run", dict({"name": "run", "status": "finished"}, **values))
    with pytest.raises(HGymError) as refused:
        RunInfo.read(run)
    message = str(refused.value)
    assert f"field '{field}'" in message and str(run.info_path) in message
    assert message.count("\n") == 0
    # The runs list shows the same sentence instead of failing.
    [summary] = list_runs(tmp_path)
    assert summary.status == "failed" and summary.error == message


def test_run_json_that_is_not_an_object_is_refused(tmp_path):
    run = write_json(tmp_path / "run", ["not", "a", "record"])
    with pytest.raises(HGymError, match="should hold one JSON object, not list"):
        RunInfo.read(run)


def test_an_older_record_reads_with_what_it_meant(tmp_path):
    """Recorded before the holdout and liveness by lock: no holdout setting (it trained on every
    patient), a pid that no longer means anything, no patient counts."""
    run = write_json(tmp_path / "old", {"name": "old", "status": "finished", "pid": 1,
                                        "config": {"epochs": 1, "max_patients": 1024},
                                        "data": {"description": "demo", "source": {"kind": "demo"},
                                                 "patients": 8916, "rows": 534960, "columns": [],
                                                 "fingerprint": None}})
    info = RunInfo.read(run)
    assert info.config["holdout"] == 0.0 and info.train_config().holdout == 0.0
    assert info.trained_patients().describe() == "1,024 of 8,916 patients (holdout 0)"


def test_the_writer_never_writes_a_shape_the_reader_refuses(tmp_path):
    run = RunFolder(tmp_path / "run")
    with pytest.raises(HGymError, match="field 'epochs_done'"):
        RunInfo(name="run", epochs_done=-3).write(run)
    assert not run.info_path.exists()
