"""Under differential privacy nothing reads the training patients outside the accounted steps: the
encoder comes from the schema's public bounds, and validation, the guard, the marginal start and
the real correlations are off. Also the settings DP refuses, and the command line's --dp-epsilon."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hgym_core.data import encoding
from hgym_core.data.encoding import EncodedCohort
from hgym_core.data.public_encoder import private_table, public_encoder
from hgym_core.data.schema import Schema
from hgym_core.errors import HGymError
from hgym_core.gan import memorisation, trainer as trainer_module, wgan
from hgym_core.gan.config import DP_AUTO_EPOCHS, DataSize, TrainConfig, preset, private_preset
from hgym_core.runs import service
from hgym_core.runs.info import RunInfo
from hgym_core.synthesizer import Synthesizer
from tests.test_privacy_dp import bounded_schema, dp_config, ragged_table

pytestmark = pytest.mark.usefixtures("one_torch_thread")
ROOT = Path(__file__).resolve().parents[1]


def refuse(*args, **kwargs):
    raise AssertionError("read the training patients outside the private steps")


def test_under_dp_the_patients_reach_the_networks_only_through_the_private_steps(monkeypatch, tmp_path):
    # Everything that would read the training patients otherwise, made to fail loudly.
    monkeypatch.setattr(encoding.Encoder, "fit", classmethod(refuse))
    monkeypatch.setattr(trainer_module, "feature_means", refuse)
    monkeypatch.setattr(trainer_module, "real_correlation", refuse)
    monkeypatch.setattr(wgan, "real_correlation", refuse)
    monkeypatch.setattr(memorisation, "Validator", refuse)
    monkeypatch.setattr(memorisation, "GuardedValidator", refuse)
    readers = []
    for name in ("padded", "static_rows", "subset"):
        original = getattr(EncodedCohort, name)

        def spy(self, *args, _original=original, _name=name, **kwargs):
            readers.append((_name, sys._getframe(1).f_code.co_name))
            return _original(self, *args, **kwargs)
        monkeypatch.setattr(EncodedCohort, name, spy)

    table = ragged_table(40)
    synthesizer = Synthesizer(bounded_schema(table), dp_config(epochs=1)).fit(table, tmp_path / "run")
    assert synthesizer.status == "finished" and synthesizer.trainer.private.steps > 0
    assert readers and {caller for _, caller in readers} == {"clipped_sum"}   # DP-SGD's own batches, nothing else
    info = RunInfo.read(tmp_path / "run")
    assert info.privacy["differential_privacy"]["on"] and not info.privacy["memorisation_guard"]["on"]


def test_the_private_encoder_is_the_same_for_any_patients_of_the_same_format():
    config = dp_config()
    first, second = ragged_table(40, seed=0), ragged_table(25, seed=1)
    second["x"] = second["x"] * 3 + 7   # other values, other lengths, other patients
    schema = bounded_schema(first)
    assert public_encoder(schema, first, config).to_dict() == public_encoder(schema, second, config).to_dict()
    fitted = encoding.Encoder.fit(first, schema, length_block=True)
    state = public_encoder(schema, first, config).state
    assert state["variables"]["x"]["bounds"] == [0.0, 150.0]
    assert state["transforms"]["x"] != fitted.state["transforms"]["x"]   # fitted: the observed range and λ
    assert state["max_length"] == 6 and state["variables"]["arm"]["missing"] and state["ids"]["prefix"] is None
    assert state["transforms"]["x"]["kind"] == "log"   # 'boxcox' without a fitted λ: λ = 0


def test_the_networks_see_each_patient_cut_to_the_public_bounds():
    table = ragged_table(10)
    table.loc[0, "x"], table.loc[1, "x"] = -20.0, 900.0
    schema = bounded_schema(table)
    cut = private_table(table, schema, dp_config(curriculum=(4,)))
    assert cut["x"].between(0.0, 150.0).all() and cut.loc[0, "x"] == 0.0 and cut.loc[1, "x"] == 150.0
    assert cut.groupby("id").size().max() == 4 and set(cut["id"]) == set(table["id"])


def test_dp_needs_public_bounds_and_says_which_before_a_run_starts():
    table = ragged_table(20)
    schema = Schema.infer(table, id_column="id", time_column="t")   # inferred: no bounds
    with pytest.raises(HGymError, match=r"type 'min' and 'max' for 'x' in the schema"):
        service.plan(table, schema, dp_config())
    irregular = Schema.from_dict(bounded_schema(table).to_dict() | {"time_mode": "irregular"})
    with pytest.raises(HGymError, match="dp_time_range"):
        service.plan(table, irregular, dp_config())


def test_the_public_longest_length_may_exceed_every_patients():
    table = ragged_table(20)   # 3 to 6 steps
    config = dp_config(epochs=1, curriculum=(9,))
    service.plan(table, bounded_schema(table), config)   # no "longest patient has 6 steps" under DP
    synthesizer = Synthesizer(bounded_schema(table), config).fit(table)
    assert synthesizer.encoder.max_length == 9 and synthesizer.sample(5)["t"].max() <= 8


def test_dp_refuses_in_one_message_what_reads_patients_outside_its_steps():
    with pytest.raises(HGymError) as refused:
        TrainConfig(dp_epsilon=3.0, validation_every=50, marginal_start=True, lambda_corr=10.0,
                    curriculum=(6,)).validate()
    for name in ("validation_every", "marginal_start", "lambda_corr"):
        assert name in str(refused.value)
    with pytest.raises(HGymError, match="'curriculum' set"):
        TrainConfig(dp_epsilon=3.0, lambda_corr=0.0).validate()
    with pytest.raises(HGymError, match="dp_epsilon"):
        TrainConfig(dp_delta=1e-6).validate()


def test_auto_under_dp_turns_off_what_reads_patients_unless_the_user_asked_for_it():
    auto = preset("auto", DataSize(400, 12, True), 600.0)
    assert auto.validation_every and auto.memorisation_guard and auto.marginal_start
    private = private_preset(auto, {"dp_epsilon": 3.0})
    assert (private.validation_every, private.memorisation_guard, private.marginal_start) == (None, False, False)
    assert private.epochs == DP_AUTO_EPOCHS and private.curriculum == (12,) and private.dp_epsilon == 3.0
    with pytest.raises(HGymError, match="validation_every"):
        private_preset(auto, {"dp_epsilon": 3.0, "validation_every": 10})


def test_irregular_times_train_privately_inside_a_public_time_range():
    table = ragged_table(30)
    table["t"] = table.groupby("id").cumcount() * 7.5 + np.repeat(np.arange(30) % 3, table.groupby("id").size())
    schema = Schema.from_dict(bounded_schema(table).to_dict() | {"time_mode": "irregular"})
    config = dp_config(epochs=1, dp_time_range=(0.0, 60.0))
    synthesizer = Synthesizer(schema, config).fit(table)
    sample = synthesizer.sample(20, seed=1)
    assert sample["t"].between(0.0, 60.0 + 1e-6).all() and sample["x"].dropna().between(0.0, 150.0).all()
    assert (sample.groupby("id")["t"].diff().dropna() > 0).all()


def test_the_command_line_trains_privately_and_shows_epsilon(tmp_path):
    table = ragged_table(30)
    data, schema_path, run = tmp_path / "t.csv", tmp_path / "schema.json", tmp_path / "run"
    table.to_csv(data, index=False)
    bounded_schema(table).save(schema_path)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    result = subprocess.run([sys.executable, "-m", "hgym_core", "train", str(data), "--schema", str(schema_path),
                             "--out", str(run), "--dp-epsilon", "5", "--epochs", "2", "--hidden-dim", "8",
                             "--latent-dim", "4", "--cpu-threads", "1", "--progress-every", "0"],
                            capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "differential privacy at epsilon 5" in result.stdout and "ε " in result.stdout
    assert "of 5 (δ 1e-05)" in result.stdout
    record = RunInfo.read(run).privacy["differential_privacy"]
    assert record["on"] and 0 < record["epsilon_spent"] <= 5.0
    assert RunInfo.read(run).train_config().validation_every is None
