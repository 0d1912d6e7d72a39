"""Where a user decides: ε and the guard in the progress line, the Train page's live panel, Compare,
report.html / report.json, and the side-car schema JSON of a generated file."""

from __future__ import annotations

import json

import pytest

from hgym_core.cli.train import progress_line
from hgym_core.data.schema import Schema
from hgym_core.evaluation import EvaluationSettings, evaluate
from hgym_core.reports.html_report import render
from hgym_core.gan.events import privacy_words
from hgym_core.runs.info import RunInfo
from hgym_core.runs.jobs import JobSnapshot
from hgym_core.runs.privacy_record import one_line, side_car, summary_rows
from hgym_core.synthesizer import Synthesizer
from pages._session import Generate
from tests._pages import folders, generate_from, open_app, tiny_run  # noqa: F401 - fixtures
from tests.test_privacy_dp import bounded_schema, dp_config, ragged_table

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def private_run(tmp_path_factory):
    table = ragged_table(30)
    schema = bounded_schema(table)
    folder = tmp_path_factory.mktemp("dp") / "run"
    synthesizer = Synthesizer(schema, dp_config(epochs=1, holdout=0.3)).fit(table, folder)
    return table, schema, folder, synthesizer


def test_the_record_reads_as_rows_beside_the_dcr_share_and_mia_auc(private_run):
    table, schema, folder, synthesizer = private_run
    record = RunInfo.read(folder).privacy
    split = synthesizer.split
    training, holdout = table[table["id"].isin(split.train)], table[table["id"].isin(split.holdout)]
    report = evaluate(training, synthesizer.sample(20), schema, holdout=holdout,
                      settings=EvaluationSettings(groups=("privacy",)))
    rows = dict(summary_rows(record, report))
    assert rows["Differential privacy"].startswith("ε ") and "of 4, δ 1e-05" in rows["Differential privacy"]
    for item in ("Clip norm per patient", "Noise multiplier σ", "Treated as public", "Not covered",
                 "DCR share (this comparison)", "membership inference AUC (this comparison)"):
        assert item in rows
    assert "numeric bounds" in rows["Treated as public"] and "metrics.csv" in rows["Not covered"]
    assert rows["Memorisation guard"].startswith("off: not asked for")
    assert dict(summary_rows(None))["Differential privacy"].startswith("not recorded")

    report.meta["training_privacy"] = record   # what `evaluate --run` adds
    page = render(report, training, synthesizer.sample(10), schema, holdout)
    assert "Privacy of the training run" in page and "Noise multiplier σ" in page and "Opacus 1.6.0" in page
    assert json.loads(json.dumps(report.to_dict()))["meta"]["training_privacy"]["differential_privacy"]["on"]


def test_the_side_car_schema_json_carries_the_runs_epsilon_and_still_loads_as_the_schema(private_run):
    table, schema, folder, _ = private_run
    record = RunInfo.read(folder).privacy
    text = side_car(schema, record)
    privacy = json.loads(text)["privacy"]["differential_privacy"]
    assert privacy["on"] and privacy["epsilon_spent"] == record["differential_privacy"]["epsilon_spent"]
    assert privacy["delta"] == 1e-5 and privacy["public"]
    assert Schema.from_json(text) == schema
    assert one_line(record).startswith("differential privacy: epsilon ")
    assert json.loads(side_car(schema, None))["privacy"]["differential_privacy"]["on"] is False


def test_the_progress_line_and_live_words_show_epsilon_and_the_dcr_share():
    privacy = {"epsilon": 1.234, "epsilon_target": 3.0, "delta": 1e-5}
    snap = JobSnapshot(name="r", status="running", epoch=1, epochs_target=2, length=5, step=3, steps_target=9,
                       steps_per_second=None, eta_seconds=None, elapsed_seconds=1.0, history={},
                       last={"d_loss": 0.0, "w": 0.0, "g_loss": 0.0, "corr": 0.0}, log=[], error=None,
                       privacy=privacy)
    assert progress_line(snap).endswith("| ε 1.23 of 3 (δ 1e-05)")
    guard = {"dcr_share": 0.52, "dcr_p_value": 0.41, "memorises": False, "kept_step": 350}
    assert privacy_words(guard) == "DCR share 0.52 (p 0.41, no memorisation; sampling from step 350)"
    assert privacy_words(None) == ""


def test_the_generate_pages_schema_json_carries_the_privacy_of_its_run(folders, tiny_run):
    at = generate_from(tiny_run, folders[0], 10)
    assert not at.exception, [e.value for e in at.exception]
    side = json.loads(at.session_state[Generate.result.key]["schema"])
    assert side["privacy"]["differential_privacy"] == {"on": False, "meaning": "no formal privacy guarantee"}


def test_the_train_forms_epsilon_names_what_dp_turns_off_then_the_bounds_it_needs(folders):
    from pages._session import Train
    from tests.test_pages_train import start_problems

    at = open_app("train")
    at.number_input(key=Train.setting("dp_epsilon").key).set_value(3.0).run()
    problems = start_problems(at)
    assert "Differential privacy" in problems and "validation" in problems and "marginal" in problems
    assert "the spread start" in problems   # spread_start fits each number's output to the patients' spread
    assert at.button(key=Train.start_button.key).disabled
    at.number_input(key=Train.setting("validation_every").key).set_value(0)
    at.checkbox(key=Train.setting("marginal_start").key).uncheck()
    at.checkbox(key=Train.setting("spread_start").key).uncheck().run()
    assert "type 'min' and 'max'" in start_problems(at)   # the built-in cohort's schema has no bounds typed
