"""The holdout: a seeded patient split before encoding, recorded in patients.json, used by Compare and
``evaluate --run`` exactly; a run without one says so instead of inventing one."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest

from hgym_core.cli import evaluate as evaluate_command
from hgym_core.cli import main
from hgym_core.errors import HGymError
from hgym_core.gan.config import TrainConfig, preset
from hgym_core.runs.folder import RunFolder
from hgym_core.runs.info import RunInfo
from hgym_core.runs.patients import NO_HOLDOUT, PatientSplit, planned_counts, training_and_holdout
from hgym_core.synthesizer import Synthesizer
from pages._datasets import demo_dataset
from pages._session import Compare
from tests._pages import TINY, folders, open_app, texts  # noqa: F401 - fixture

IDS = list(range(100, 150))   # 50 patients


def ids_of(table: pd.DataFrame) -> set:
    return set(table["PatientID"].unique().tolist())


def test_the_split_is_seeded_disjoint_and_keeps_at_least_one_patient_each_side():
    split = PatientSplit.of(IDS, 0.2, seed=3)
    assert (len(split.train), len(split.holdout)) == (40, 10)
    assert set(split.train) | set(split.holdout) == set(IDS) and not set(split.train) & set(split.holdout)
    assert PatientSplit.of(IDS, 0.2, seed=3) == split and PatientSplit.of(IDS, 0.2, seed=4) != split
    assert [len(PatientSplit.of(IDS[:2], fraction, 0).holdout) for fraction in (0.01, 0.9)] == [1, 1]
    assert PatientSplit.of(IDS, 0.0, 0).holdout == []
    with pytest.raises(HGymError, match="'holdout'.*1 patient"):
        PatientSplit.of(IDS[:1], 0.2, 0)


@pytest.mark.parametrize("holdout", [-0.1, 0.95, 1.0])
def test_a_holdout_outside_0_to_0_9_is_refused_naming_the_setting(holdout):
    with pytest.raises(HGymError, match="Setting 'holdout'"):
        TrainConfig(holdout=holdout).validate()


def test_the_presets_holdout():
    assert TrainConfig().holdout == 0.2 and preset("quick").holdout == 0.2
    assert preset("health-gym").holdout == 0.0   # the published run trains on every patient


@pytest.fixture(scope="module")
def fifty():
    return demo_dataset(50, 0)


@pytest.fixture(scope="module")
def split_run(fifty, tmp_path_factory):
    """A run trained with holdout 0.2 on 50 patients, in a models folder of its own."""
    models = tmp_path_factory.mktemp("models")
    Synthesizer(fifty.schema, TINY.replace(holdout=0.2)).fit(fifty.frame, models / "split", data_source=fifty.source)
    return models / "split"


def test_a_run_records_which_patients_it_trained_on_and_kept_out(fifty, split_run):
    recorded = json.loads((split_run / "patients.json").read_text())
    assert (len(recorded["train"]), len(recorded["holdout"])) == (40, 10)
    assert set(recorded["train"]) | set(recorded["holdout"]) == ids_of(fifty.frame)
    counts = RunInfo.read(split_run).patients
    assert (counts.table, counts.trained, counts.holdout, counts.holdout_fraction) == (50, 40, 10, 0.2)
    training, holdout = training_and_holdout(RunFolder(split_run), fifty.frame)
    assert ids_of(training) == set(recorded["train"]) and ids_of(holdout) == set(recorded["holdout"])
    assert len(training) == 40 * 60 and len(holdout) == 10 * 60


def test_max_patients_picks_its_subset_from_the_training_side(fifty, tmp_path):
    config = TINY.replace(holdout=0.2, max_patients=12)
    fitted = Synthesizer(fifty.schema, config).fit(fifty.frame, tmp_path / "subset", data_source=fifty.source)
    recorded = PatientSplit.read(fitted.run)
    assert len(recorded.train) == 12 and len(recorded.holdout) == 10
    assert set(recorded.train) <= set(PatientSplit.of(sorted(ids_of(fifty.frame)), 0.2, config.seed).train)
    assert fitted.trainer.cohort.patient_ids == recorded.train   # exactly the patients trained on
    assert planned_counts(50, config) == fitted.patients
    assert RunInfo.read(fitted.run).patients.describe() == "12 of 50 patients (holdout 0.2: 10 patients)"


def test_compare_and_evaluate_run_use_exactly_the_runs_split(fifty, split_run, folders, monkeypatch, tmp_path):
    recorded = json.loads((split_run / "patients.json").read_text())
    models, _ = folders
    shutil.copytree(split_run, models / "split")

    at = open_app("compare", fifty)
    at.number_input(key="compare.patients").set_value(20)
    at.toggle(key="compare.model_scores").set_value(False)
    at.button(key="btn.compare").click().run()
    assert not at.exception, [e.value for e in at.exception]
    [result] = at.session_state[Compare.results.key].values()
    assert ids_of(result["real"]) == set(recorded["train"]) and ids_of(result["holdout"]) == set(recorded["holdout"])
    assert "20 synthetic patients vs 40 real patients it trained on (reference: 10 held-out" in texts(at.success)

    seen = {}
    real_evaluate = evaluate_command.evaluate

    def spy(real, synthetic, schema, holdout=None, **options):
        seen.update(real=ids_of(real), holdout=ids_of(holdout))
        return real_evaluate(real, synthetic, schema, holdout=holdout, **options)

    monkeypatch.setattr(evaluate_command, "evaluate", spy)
    assert main(["evaluate", "--run", str(split_run), "--out", str(tmp_path / "report"), "--groups", "marginals",
                 "--patients", "15"]) == 0
    assert seen == {"real": set(recorded["train"]), "holdout": set(recorded["holdout"])}
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    assert report["meta"]["patients"] == {"real": 40, "synthetic": 15, "holdout": 10}


def test_a_run_without_a_holdout_says_so_where_privacy_is_scored(fifty, folders, tmp_path, capsys):
    models, _ = folders
    Synthesizer(fifty.schema, TINY.replace(holdout=0.0)).fit(fifty.frame, models / "all", data_source=fifty.source)
    assert main(["evaluate", "--run", str(models / "all"), "--out", str(tmp_path / "report"),
                 "--groups", "privacy", "--patients", "10"]) == 0
    out = capsys.readouterr().out
    assert "50 patients it trained on, 0 it kept out" in out and NO_HOLDOUT in out

    at = open_app("compare", fifty)
    at.number_input(key="compare.patients").set_value(20)
    at.toggle(key="compare.model_scores").set_value(False)
    at.button(key="btn.compare").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert NO_HOLDOUT in texts(at.warning)
    assert "no holdout to compare with" in texts(at.success)
