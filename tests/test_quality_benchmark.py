"""benchmarks/quality.py: a tiny run writes a table per dataset (no scores asserted: the
benchmark measures, the tests only check that it runs and says what it did), and its parts."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hgym_core.data.schema import Schema, Variable

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "quality.py"
TABLE_HEADER = "| score | project | PAR | DGAN | reference (real vs holdout) |"
ROWS = ("column shapes", "correlation similarity", "lag-1 autocorrelation difference", "sequence-length similarity",
        "missing-rate similarity", "discriminative score", "row-level detection AUC", "TSTR MAE", "DCR share",
        "exact copies", "membership inference AUC", "range adherence", "fit seconds")


def bench_module(name: str):
    """A module of benchmarks/quality_bench, loaded without putting benchmarks/ on sys.path
    (its scripts' names, such as evaluation.py, would shadow other imports)."""
    spec = importlib.util.spec_from_file_location(f"quality_bench_{name}",
                                                  ROOT / "benchmarks" / "quality_bench" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module       # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def run_benchmark(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=300)


def section(markdown: str, dataset: str) -> str:
    return markdown.split(f"## {dataset}:", 1)[1].split("\n## ", 1)[0]


def table_rows(text: str) -> dict[str, list[str]]:
    lines = [line for line in text.splitlines() if line.startswith("| ") and line != TABLE_HEADER]
    return {cells[0]: cells[1:] for cells in ([c.strip() for c in line.strip("|").split(" | ")] for line in lines)}


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    out = tmp_path_factory.mktemp("quality")
    return out, run_benchmark("--tiny", "--peers", "none", "--datasets", "hiv,respiratory", "--budget", "2",
                              "--out", str(out))


def test_a_tiny_run_writes_one_table_per_dataset_with_every_row(tiny_run):
    out, result = tiny_run
    assert result.returncode == 0, result.stderr
    markdown = (out / "quality.md").read_text(encoding="utf-8")
    for dataset in ("hiv", "respiratory"):
        text = section(markdown, dataset)
        assert TABLE_HEADER in text and text in result.stdout     # printed as it completed
        rows = table_rows(text)
        for expected in ROWS:
            assert any(name.startswith(expected) for name in rows), (dataset, expected, list(rows))
        project, par, dgan, reference = rows["column shapes (mean of the per-variable KS / TV complements)"]
        assert float(project) and float(reference) and (par, dgan) == ("–", "–")
        assert float(rows["fit seconds"][0]) > 0
        assert "--tiny --peers none --datasets hiv,respiratory --budget 2" in text    # the command, in the footer
        assert "**PAR**: not run" in text and "equally many training and holdout patients" in text
    hiv, respiratory = (table_rows(section(markdown, d)) for d in ("hiv", "respiratory"))
    assert any(name.startswith("largest category-share gap") for name in hiv)
    assert not any(name.startswith("largest category-share gap") for name in respiratory)
    assert not any(name.startswith("visit-gap") for name in respiratory)     # a step table has no visit gaps
    assert "patient = centre + id" in section(markdown, "respiratory")


def test_a_tiny_run_keeps_the_split_the_synthetic_patients_and_every_score(tiny_run):
    out, _ = tiny_run
    raw = json.loads((out / "quality.json").read_text(encoding="utf-8"))
    for dataset, id_column in (("hiv", "PatientID"), ("respiratory", "id")):
        folder = out / dataset
        train, holdout = pd.read_csv(folder / "train.csv"), pd.read_csv(folder / "holdout.csv")
        synthetic = pd.read_csv(folder / "synthetic-project.csv")
        assert not set(train[id_column]) & set(holdout[id_column])
        assert (train[id_column].nunique(), holdout[id_column].nunique()) == (40, 10)
        assert synthetic[id_column].nunique() == 40          # as many as were trained on
        assert sorted(Schema.load(folder / "schema.json").columns) == sorted(synthetic.columns)
        report = json.loads((folder / "scores-project.json").read_text(encoding="utf-8"))
        assert {"marginals", "relationships", "temporal", "detection", "privacy"} <= {
            s["group"] for s in report["scores"]}
        entry = raw["datasets"][dataset]
        assert entry["patients"] == {"train": 40, "holdout": 10}
        assert entry["budget_seconds"] == 2 and list(entry["tools"]) == ["project"]
        assert len(entry["scores"]["project"]) == len(report["scores"])


def test_missing_peer_venvs_say_how_to_make_them(tmp_path):
    out = tmp_path / "out"
    result = run_benchmark("--tiny", "--datasets", "respiratory", "--peers", "par",
                           "--peers-dir", str(tmp_path / "no-peers"), "--out", str(out))
    assert result.returncode != 0
    assert "make peers" in result.stderr and "--peers none" in result.stderr
    assert "no-peers/.venvs/par/bin/python is missing" in result.stderr
    assert not out.exists()


def test_repeated_patient_times_keep_the_first_row_and_say_so():
    datasets = bench_module("datasets")
    table = pd.DataFrame({"Patid": ["A", "A", "A", "B"], "day": [1, 5, 5, 2], "Fup": [0, 1, 3, 0],
                          "RNA": [10.0, 20.0, 20.0, 30.0]})
    kept, said = datasets.drop_repeated_times(table, "Patid", "day")
    assert kept["Fup"].tolist() == [0, 1, 0]
    assert said == ["1 (Patid, day) pairs appear more than once (2 rows, differing only in Fup): kept the first row "
                    "of each in the file's order, dropped 1 rows"]
    assert datasets.drop_repeated_times(kept, "Patid", "day") == (kept, [])


def test_the_split_is_seeded_by_patient_with_a_fifth_held_out():
    datasets = bench_module("datasets")
    table = pd.DataFrame({"id": np.repeat(np.arange(50), 3), "t": np.tile([0, 1, 2], 50)})
    train, holdout = datasets.split_patients(table, "id", seed=3)
    assert (train["id"].nunique(), holdout["id"].nunique(), len(train) + len(holdout)) == (40, 10, 150)
    assert not set(train["id"]) & set(holdout["id"])
    assert holdout.equals(datasets.split_patients(table, "id", seed=3)[1])
    assert set(holdout["id"]) != set(datasets.split_patients(table, "id", seed=4)[1]["id"])


def test_peer_meta_gives_each_variable_one_kind_and_marks_whole_numbers():
    datasets = bench_module("datasets")
    # dose: whole numbers with a gap, more levels than codes have (a few levels would be labels)
    train = pd.DataFrame({"id": np.repeat(np.arange(6), 2), "t": np.tile([0, 1], 6),
                          "conc": [1.5, np.nan, 2.0, 3.0] * 3,
                          "dose": [100.0, np.nan, 50.0, 60.0, 70, 80, 90, 110, 120, 130, 140, 150],
                          "sex": np.repeat(["F", "M", "F", "M", "F", "M"], 2), "grade": [1, 2, 3, 1] * 3})
    schema = Schema.infer(train, id_column="id", time_column="t")
    assert datasets.peer_meta(schema, train) == {
        "id_column": "id", "time_column": "t", "time_mode": "step", "static": ["sex"],
        "categorical": ["sex", "grade"], "numeric": ["conc", "dose"], "integer": ["dose"]}

def test_category_share_gap_ignores_categories_under_one_percent():
    table = bench_module("table")
    schema = Schema("id", "t", [Variable("x", "categorical", ["a", "rare"])])
    real = pd.DataFrame({"x": ["a"] * 995 + ["rare"] * 5})            # "rare": 0.5% of real
    other = pd.DataFrame({"x": ["a"] * 900 + ["rare"] * 100})
    assert table.largest_share_gap(real, other, schema) == (pytest.approx(9.5), "x = a")
