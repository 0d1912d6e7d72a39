"""report.html is one self-contained page with the scores, the notes and every figure."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from hgym_core.errors import HGymError
from hgym_core.evaluation import Report, Score, ScoreSpec
from hgym_core.reports import html_report
from hgym_core.evaluation.report import Measurement
from hgym_core.data.schema import Schema, Variable
from tests.test_plots import small_schema, small_table


SPECS = {
    "KS complement": ScoreSpec("marginals", "KS complement", "higher", 1.0, 0.05, 0.15,
                               "1 - D, two-sample Kolmogorov-Smirnov"),
    "DCR share": ScoreSpec("privacy", "DCR share", "target", 0.5, 0.05, 0.15,
                           "share of synthetic patients closer to training than to holdout"),
    "discriminative score": ScoreSpec("detection", "discriminative score", "lower", 0.0, 0.05, 0.15,
                                      "|held-out accuracy - 0.5| of a GRU classifier"),
}


def make_report(details: dict | None = None, notes: list[str] | None = None) -> Report:
    """A real Report with a good, a poor and an uncomputed score (no evaluate() run needed)."""
    measurements = [Measurement("KS complement", "score", 0.912345, 0.95),   # good: within 0.05 of the reference
                    Measurement("DCR share", "", 0.81),                      # poor: 0.31 from 0.5
                    Measurement("discriminative score", "", float("nan"))]   # n/a
    scores = [Score.from_measurement(SPECS[m.name], m) for m in measurements]
    return Report(scores, SPECS, details or {}, notes or [])


def schema_with_static() -> Schema:
    schema = small_schema()
    schema.variables.append(Variable("sex", "binary", ["F", "M"], static=True))
    return schema


def tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    real, synthetic = small_table(seed=0), small_table(seed=1)
    for df in (real, synthetic):
        df["sex"] = np.where(df["pid"] % 3 == 0, "F", "M")
    return real, synthetic


def figure_ids(page: str) -> list[str]:
    return re.findall(r'<div id="(figure-[^"]+)" class="plotly-graph-div"', page)


def test_page_is_self_contained_with_plotly_inline_once():
    real, synthetic = tables()
    page = html_report.render(make_report(), real, synthetic, schema_with_static())
    assert not re.search(r"<script[^>]*\bsrc=", page)
    assert not re.search(r"<link[^>]*\bhref=\"?https?:", page)
    assert page.count("* plotly.js v") == 1
    assert page.index("* plotly.js v") < page.index("Plotly.newPlot")


def test_page_has_every_figure():
    real, synthetic = tables()
    details = {"privacy": {"dcr_train": np.linspace(0, 0.4, 30), "dcr_holdout": np.linspace(0.05, 0.5, 30)}}
    page = html_report.render(make_report(details), real, synthetic, schema_with_static())
    assert figure_ids(page) == [
        "figure-distribution-score", "figure-distribution-arm", "figure-distribution-flag",
        "figure-distribution-sex",
        "figure-time-band-score",
        "figure-category-shares-arm", "figure-category-shares-flag",  # not "sex": it is static
        "figure-correlations",
        "figure-trajectories-score", "figure-trajectories-arm", "figure-trajectories-flag",
        "figure-dcr",
    ]
    assert 'href="#privacy"' in page
    without_dcr = html_report.render(make_report(), real, synthetic, schema_with_static())
    assert "figure-dcr" not in figure_ids(without_dcr) and 'href="#privacy"' not in without_dcr


def test_dose_like_variables_get_on_off_bands_and_their_shares_in_words():
    real, synthetic = tables()
    for df, zero_share in ((real, 0.7), (synthetic, 0.2)):
        df["score"] = np.where(np.random.default_rng(0).random(len(df)) < zero_share, 0.0, 4.0)
    details = {"marginals": {"point_masses": {"score": {"decimals": 0, "values": [0.0, 4.0], "real": [0.71, 0.29],
                                                        "synthetic": [0.21, 0.79], "holdout": None}}},
               "temporal": {"held_values": {"score": {"real": 0.8, "synthetic": 0.1, "holdout": 0.78}}}}
    page = html_report.render(make_report(details), real, synthetic, schema_with_static())
    assert "figure-dose-bands-score" in figure_ids(page)
    assert figure_ids(page).index("figure-time-band-score") < figure_ids(page).index("figure-dose-bands-score")
    assert 'href="#doses"' in page
    assert "<li>score = 0: real 71%, synthetic 21%</li>" in page
    assert "<li>score held from the previous row: real 80%, synthetic 10% (holdout 78%)</li>" in page
    continuous = html_report.render(make_report(), *tables(), schema_with_static())
    assert not any("dose-bands" in i for i in figure_ids(continuous)) and 'href="#doses"' not in continuous


def test_summary_table_colours_verdicts_and_text_is_escaped():
    real, synthetic = tables()
    report = make_report(notes=["<script>alert(1)</script> subsampled to 2,000 patients"])
    page = html_report.render(report, real, synthetic, schema_with_static())
    assert '<td class="verdict-good">good</td>' in page
    assert page.count('<td class="verdict-poor">poor</td>') == 2  # overview and all scores
    assert "<td>n/a</td>" in page
    assert '<td class="number">0.912</td>' in page  # 3 significant digits
    assert '<td class="number">—</td>' in page  # no reference (no holdout): a dash
    assert "&lt;script&gt;alert(1)&lt;/script&gt; subsampled" in page
    assert "30 patients, 240 rows" in page
    assert "<dt>KS complement</dt><dd>1 - D, two-sample Kolmogorov-Smirnov</dd>" in page


def test_a_figure_that_cannot_be_drawn_says_why_and_the_rest_still_render():
    real, synthetic = tables()
    synthetic = synthetic.astype({"score": object})
    synthetic.loc[4, "score"] = "n.d."
    page = html_report.render(make_report(), real, synthetic, schema_with_static())
    assert 'class="figure-error" id="figure-distribution-score"' in page
    assert "holds text such as &#x27;n.d.&#x27;" in page
    assert "figure-distribution-arm" in figure_ids(page)
    assert page.count("* plotly.js v") == 1  # still embedded, by the first figure that drew


def test_write_report_writes_both_files_atomically(tmp_path):
    real, synthetic = tables()
    html_path, json_path = html_report.write_report(tmp_path / "out", make_report(), real, synthetic,
                                                    schema_with_static())
    assert html_path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert json.loads(json_path.read_text(encoding="utf-8"))["scores"][0]["name"] == "KS complement"
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["report.html", "report.json"]

    class BrokenReport(Report):
        def summary(self):
            raise RuntimeError("scores went wrong")

    with pytest.raises(RuntimeError):
        html_report.write_report(tmp_path / "out", BrokenReport([], SPECS), real, synthetic, schema_with_static())
    assert html_path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")  # the old report survives
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["report.html", "report.json"]


def test_out_must_be_a_folder(tmp_path):
    real, synthetic = tables()
    (tmp_path / "taken").write_text("x")
    with pytest.raises(HGymError, match="is a file; give --out a folder"):
        html_report.write_report(tmp_path / "taken", make_report(), real, synthetic, schema_with_static())
