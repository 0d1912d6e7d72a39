"""``python -m hgym_core evaluate`` end to end, as a user runs it (a subprocess on small files)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from hgym_core.cli import main
from hgym_core.data.demo import simulate_hiv_cohort
from hgym_core.data.schema import Schema

ROOT = Path(__file__).resolve().parents[1]


def hgym(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hgym_core", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    """Small real, holdout and synthetic tables (a different simulator seed stands in for a model)."""
    folder = tmp_path_factory.mktemp("evaluate")
    cohort = simulate_hiv_cohort(n_patients=60, seed=3, n_months=12)
    paths = {"real": folder / "real.csv", "holdout": folder / "holdout.csv",
             "synthetic": folder / "synthetic.parquet"}
    cohort[cohort["PatientID"] < 30].to_csv(paths["real"], index=False)
    cohort[cohort["PatientID"] >= 30].to_csv(paths["holdout"], index=False)
    simulate_hiv_cohort(n_patients=30, seed=4, n_months=12).to_parquet(paths["synthetic"], index=False)
    return paths


# Detection and utility train small GRUs (slow on a busy 2-core machine) and draw no figures;
# their scores are tested with evaluate() itself.
QUICK_GROUPS = "marginals,relationships,temporal,privacy"


def test_evaluate_writes_json_and_an_offline_html_report(files, tmp_path):
    schema = Schema.infer(pd.read_csv(files["real"]))
    schema.variable("VL").unit = "copies/mL"
    schema.save(tmp_path / "schema.json")
    out = tmp_path / "report"
    result = hgym("evaluate", "--real", str(files["real"]), "--synthetic", str(files["synthetic"]),
                  "--holdout", str(files["holdout"]), "--schema", str(tmp_path / "schema.json"),
                  "--out", str(out), "--groups", QUICK_GROUPS)
    assert result.returncode == 0, result.stderr
    assert f"wrote {out / 'report.json'} and {out / 'report.html'}" in result.stdout
    assert "KS complement" in result.stdout  # the overview, printed
    scores = json.loads((out / "report.json").read_text(encoding="utf-8"))["scores"]
    assert {score["group"] for score in scores} == set(QUICK_GROUPS.split(","))
    assert any(score["name"] == "DCR share" and score["reference"] is None for score in scores)
    page = (out / "report.html").read_text(encoding="utf-8")
    assert page.count("* plotly.js v") == 1 and not re.search(r"<script[^>]*\bsrc=", page)
    assert 'id="figure-distribution-VL"' in page
    assert re.search(r"VL \(copies(/|\\u002f)mL\)", page)  # the schema's unit (plotly's JSON escapes "/")
    assert 'id="figure-dcr"' in page  # a holdout gives the privacy figure
    assert '<td class="verdict-good">good</td>' in page


def test_schema_is_inferred_when_not_given(files, tmp_path, capsys):
    assert main(["evaluate", "--real", str(files["real"]), "--synthetic", str(files["synthetic"]),
                 "--out", str(tmp_path), "--groups", "marginals"]) == 0
    assert "report.html" in capsys.readouterr().out
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert 'id="figure-category-shares-Base-Drug-Combo"' in page  # inferred as categorical
    assert 'id="figure-time-band-CD4"' in page                     # inferred as numeric
    assert 'id="figure-dcr"' not in page                           # no holdout, no distances


def test_progress_follows_the_stages_on_stderr_when_asked(files, tmp_path, capsys):
    assert main(["evaluate", "--real", str(files["real"]), "--synthetic", str(files["synthetic"]),
                 "--holdout", str(files["holdout"]), "--out", str(tmp_path), "--groups", "privacy,marginals",
                 "--progress-every", "0"]) == 0
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert [line.split(" | ")[1] for line in lines] == [
        "reading the tables", "marginals", "privacy", "privacy: exact copies",
        "privacy: distances to training patients", "privacy: distances to holdout patients", "done"]
    assert lines[0].startswith("evaluating 0% | ") and lines[-1].startswith("evaluating 100% | done | ")
    assert "evaluating" not in captured.out and "report.html" in captured.out


def test_unknown_score_family_is_named_before_any_work(files, tmp_path, capsys):
    assert main(["evaluate", "--real", str(tmp_path / "not-read.csv"), "--synthetic", str(files["synthetic"]),
                 "--out", str(tmp_path / "out"), "--groups", "marginals,detections"]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("error: --groups:") and "'detections'" in error and "detection" in error


def test_a_bad_path_gives_one_clear_line_and_exit_code_2(files, tmp_path):
    result = hgym("evaluate", "--real", str(tmp_path / "nowhere.csv"), "--synthetic", str(files["synthetic"]),
                  "--out", str(tmp_path / "out"))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: --real: File '{tmp_path / 'nowhere.csv'}' was not found; check the path."]
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("option", ["--synthetic", "--holdout", "--schema"])
def test_every_input_option_names_itself_or_its_file_when_missing(files, tmp_path, capsys, option):
    missing = tmp_path / ("nowhere.json" if option == "--schema" else "nowhere.csv")
    arguments = {"--real": str(files["real"]), "--synthetic": str(files["synthetic"]),
                 "--out": str(tmp_path / "out"), option: str(missing)}
    assert main(["evaluate", *[part for pair in arguments.items() for part in pair]]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and f"'{missing}'" in lines[0]
    assert option in lines[0] or option == "--schema"  # the schema loader names the schema file itself
    assert not (tmp_path / "out").exists()
