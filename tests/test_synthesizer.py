"""Synthesizer: fit -> sample in the original format, save/load, resume and extend, bad requests."""

from __future__ import annotations

import pandas as pd
import pytest
import torch

from hgym_core.runs.folder import RunFolder
from hgym_core.runs.info import RunInfo
from hgym_core.gan.config import TrainConfig
from hgym_core.errors import HGymError
from hgym_core.data.schema import Schema
from hgym_core.synthesizer import Synthesizer

TINY = TrainConfig(epochs=1, batch_size=8, hidden_dim=16, latent_dim=16, curriculum=(4, 8), seed=5)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def table(hiv_cohort):
    return hiv_cohort[hiv_cohort["PatientID"] < 16].reset_index(drop=True)


@pytest.fixture(scope="module")
def schema(hiv_cohort):
    """Inferred from all 200 patients, so every category exists even if the slice lacks some."""
    return Schema.infer(hiv_cohort)


@pytest.fixture(scope="module")
def fitted_run(table, schema, tmp_path_factory):
    folder = tmp_path_factory.mktemp("runs") / "fitted"
    return Synthesizer(schema, TINY).fit(table, folder, data_source={"kind": "demo", "n_patients": 16, "seed": 7})


def test_samples_come_back_in_the_original_format(fitted_run, table, schema):
    synthetic = fitted_run.sample(7, seed=1, batch_size=3)  # three batches: ids must continue across them
    assert list(synthetic.columns) == list(table.columns)
    assert synthetic.dtypes.to_dict() == table.dtypes.to_dict()
    assert synthetic["PatientID"].unique().tolist() == list(range(7))
    assert synthetic.groupby("PatientID").size().eq(60).all()
    assert synthetic["Timestep"].tolist() == list(range(60)) * 7
    for variable in schema.variables:
        if variable.categories is not None:
            assert set(synthetic[variable.name]) <= set(variable.categories), variable.name
        if variable.static:  # one value per patient
            assert synthetic.groupby("PatientID")[variable.name].nunique().eq(1).all(), variable.name


def test_the_same_seed_gives_the_same_patients(fitted_run):
    first = fitted_run.sample(5, seed=3)
    pd.testing.assert_frame_equal(first, fitted_run.sample(5, seed=3))
    assert not first.equals(fitted_run.sample(5, seed=4))
    assert fitted_run.sample(2, seed=3, length=10).groupby("PatientID").size().eq(10).all()


def test_progress_counts_patients_per_batch_and_leaves_the_patients_alone(fitted_run):
    calls = []
    reported = fitted_run.sample(7, seed=2, batch_size=3, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(3, 7), (6, 7), (7, 7)]
    pd.testing.assert_frame_equal(reported, fitted_run.sample(7, seed=2, batch_size=3))


def test_a_loaded_run_samples_what_the_trained_one_did(fitted_run):
    loaded = Synthesizer.load(fitted_run.run.path)
    assert loaded.status == "finished"
    pd.testing.assert_frame_equal(loaded.sample(6, seed=2), fitted_run.sample(6, seed=2))


def test_run_folder_holds_the_contract_files(fitted_run, schema):
    run = fitted_run.run
    assert sorted(p.name for p in run.path.iterdir()) == ["checkpoint.pt", "metrics.csv", "patients.json", "run.json",
                                                          "schema.json", "train.lock"]
    info = RunInfo.read(run).to_dict()
    assert {"name", "created", "status", "epochs_done", "epochs_target", "config", "schema", "encoder", "data",
            "device", "error", "last_metrics"} <= set(info)
    assert info["data"]["description"] == "built-in demo cohort (simulated): 16 patients, 960 rows"
    assert Schema.load(run.schema_path) == schema
    assert TrainConfig.from_dict(info["config"]) == TINY


def test_an_in_memory_fit_saves_a_complete_resumable_run(table, schema, tmp_path):
    synthesizer = Synthesizer(schema, TINY).fit(table)
    assert synthesizer.run is None
    folder = synthesizer.save(tmp_path / "saved")
    loaded = Synthesizer.load(folder.path)
    pd.testing.assert_frame_equal(loaded.sample(4, seed=0), synthesizer.sample(4, seed=0))
    loaded.resume(table, epochs=2)
    assert RunInfo.read(folder).to_dict()["epochs_done"] == 2 and loaded.status == "finished"


def test_a_run_is_copied_by_save_to_another_folder(fitted_run, tmp_path):
    copy = fitted_run.save(tmp_path / "copy")
    assert RunInfo.read(copy).to_dict()["name"] == "copy"
    assert copy.read_metrics().equals(fitted_run.run.read_metrics())
    assert fitted_run.save(fitted_run.run.path).path == fitted_run.run.path  # saving in place is a no-op


def test_extending_a_finished_run_matches_training_longer_from_the_start(table, schema, tmp_path):
    longer = Synthesizer(schema, TINY.replace(epochs=2)).fit(table, tmp_path / "longer")
    Synthesizer(schema, TINY).fit(table, tmp_path / "short")
    extended = Synthesizer.load(tmp_path / "short")
    with pytest.raises(HGymError, match="already trained 1 epoch"):
        extended.resume(table)
    extended.resume(table, epochs=2)
    assert RunInfo.read(RunFolder(tmp_path / "short")).to_dict()["epochs_done"] == 2
    for name, weight in longer.generator.state_dict().items():
        assert torch.equal(weight, extended.generator.state_dict()[name]), name


def test_resume_refuses_settings_that_change_the_model(fitted_run, table):
    synthesizer = Synthesizer.load(fitted_run.run.path)
    synthesizer.config = synthesizer.config.replace(hidden_dim=32, cpu_threads=1)  # cpu_threads alone would do
    with pytest.raises(HGymError, match="not hidden_dim"):
        synthesizer.resume(table, epochs=2)


def test_resume_refuses_other_data(fitted_run, table):
    other = table[table["PatientID"] < 12]
    with pytest.raises(HGymError, match="differs from the data run 'fitted' was trained on"):
        Synthesizer.load(fitted_run.run.path).resume(other, epochs=2)


def test_bad_requests_say_what_to_do(fitted_run, table, schema, tmp_path):
    with pytest.raises(HGymError, match="not been trained"):
        Synthesizer(schema, TINY).sample(3)
    with pytest.raises(HGymError, match="'n_patients' must be"):
        fitted_run.sample(0)
    with pytest.raises(HGymError, match="already holds a run"):
        Synthesizer(schema, TINY).fit(table, fitted_run.run.path)
    with pytest.raises(HGymError, match="Only a run loaded from its folder"):
        Synthesizer(schema, TINY).resume(table)
    with pytest.raises(HGymError, match="not a run folder"):
        Synthesizer.load(tmp_path)
    with pytest.raises(HGymError, match="Nothing to save"):
        Synthesizer(schema, TINY).save(tmp_path / "x")
