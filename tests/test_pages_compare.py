"""Compare page: real | synthetic panels for the HIV variables, correlations, examples and scores."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from hgym_core.data.io import table_bytes
from hgym_core.synthesizer import Synthesizer
from pages import _compare_work as comparison
from pages._format import plain
from pages._progress import ProgressBar
from pages._datasets import accept_upload
from tests._pages import TINY, copy_run, folders, open_app, texts, tiny_run  # noqa: F401 - fixtures


def other_cohort(n_patients: int = 30, steps: int = 8) -> pd.DataFrame:
    """A small non-HIV table: a numeric score, a static arm, a binary event and a dose level."""
    rng = np.random.default_rng(1)
    ids, visits = np.repeat(np.arange(n_patients), steps), np.tile(np.arange(steps), n_patients)
    arm = np.repeat(rng.choice(["A", "B"], n_patients), steps)
    return pd.DataFrame({"subject": ids, "visit": visits, "score": rng.gamma(2.0, 3.0, len(ids)).round(2),
                         "arm": arm, "event": rng.integers(0, 2, len(ids)),
                         "dose": rng.choice(["low", "mid", "high"], len(ids))})


def test_compare_draws_every_panel_and_the_scores_once_per_setting(folders, tiny_run, monkeypatch):
    models, _ = folders
    copy_run(tiny_run, models, "tiny")
    at = open_app("compare")
    at.number_input(key="compare.patients").set_value(30)
    at.toggle(key="compare.model_scores").set_value(False)   # the GRU-based scores are the slow part
    shown = []
    draw = ProgressBar._show
    monkeypatch.setattr(ProgressBar, "_show", lambda bar, *args: (shown.append(args), draw(bar, *args)))
    at.button(key="btn.compare").click().run()
    assert not at.exception, [e.value for e in at.exception]

    # One bar: sampling fills its first part, then scoring stage by stage up to the end.
    values, labels = [start + (end - start) * part for start, end, part, _ in shown], [t for *_, t in shown]
    assert labels[0].startswith("Sampled 30 of 30 patients") and labels[1] == "Scoring — reading the tables…"
    assert labels[-1] == "Scored" and values[-1] == 1.0
    assert all(a <= b for a, b in zip(values, values[1:])) and 0 < values[0] < 1
    [bar] = at.get("progress")
    assert bar.value == 100 and bar.proto.text == "Scored"

    panels = [h.value for h in at.subheader]
    for name in ("CD4 (cells/µL)", "VL (copies/mL)", "Rel CD4 (%)", *comparison.HIV_DRUGS):
        assert name in panels
    assert {"Correlations", "Example patients", "Scores"} <= {h.value for h in at.header}
    scores = at.dataframe[0].value
    assert {"marginals", "relationships", "temporal", "privacy"} <= set(scores["group"])
    assert "detection" not in set(scores["group"])
    assert len(at.dataframe[1].value) > len(scores)   # per-variable rows behind the overview
    assert "30 synthetic patients vs 20 real patients" in texts(at.success)

    # Switching pages and back redraws the stored comparison instead of computing it again.
    monkeypatch.setattr(comparison, "evaluate", lambda *a, **k: (_ for _ in ()).throw(AssertionError("recomputed")))
    at.switch_page("pages/generate.py").run()
    at.switch_page("pages/compare.py").run()
    assert not at.exception and "Scores" in [h.value for h in at.header]


def compare_tiny(monkeypatch, folders, tiny_run, **columns):
    """The Compare page on the tiny run, 30 synthetic patients, no detection models; ``columns``
    are set to one value in every synthetic row (a collapsed generator)."""
    copy_run(tiny_run, folders[0], "tiny")
    if columns:
        sample = Synthesizer.sample
        monkeypatch.setattr(Synthesizer, "sample", lambda *a, **k: sample(*a, **k).assign(**columns))
    at = open_app("compare")
    at.number_input(key="compare.patients").set_value(30)
    at.toggle(key="compare.model_scores").set_value(False)
    at.button(key="btn.compare").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_score_tables_read_as_words_with_units_and_dashes_where_there_is_no_reference(folders, tiny_run,
                                                                                     monkeypatch):
    monkeypatch.setattr(comparison, "MODEL_GROUPS", ("detection",))    # TSTR on, the slower detection off
    at = compare_tiny(monkeypatch, folders, tiny_run)
    overview = at.dataframe[0].value.set_index("score")
    assert overview.loc["DCR share", "reference"] == "–" and overview.loc["membership inference AUC", "reference"] == "–"
    assert "TSTR MAE of VL (copies/mL)" in overview.index                # the target variable and its unit
    assert "no real-vs-real reference" in texts(at.caption)
    assert "DCR share, membership inference AUC have no real-vs-real reference" in texts(at.caption)
    for table in at.dataframe[:2]:
        labels = {column: config.get("label") for column, config in json.loads(table.proto.columns).items()}
        assert all(labels.get(column) for column in table.value.columns)   # every raw name has a header
        assert labels.get("n_variables", "variables") == "variables"
        assert labels["reference"] == "reference (real vs holdout)" and labels["group"] == "family"


def test_collapsed_variables_are_named_at_the_top(folders, tiny_run, monkeypatch):
    at = compare_tiny(monkeypatch, folders, tiny_run, **{"Ethnic": "Other", "Base Drug Combo": "FTC + TDF"})
    [warning] = at.warning
    assert warning.value.startswith("Collapsed in the synthetic data")
    assert plain("Ethnic: 100% of synthetic rows are 'Other'") in warning.value
    assert plain("Base Drug Combo: 100%") in warning.value
    assert plain("VL held from the previous row: real") in texts(at.caption)   # held values in words under the panel


def test_the_run_picker_follows_the_current_run_chosen_elsewhere(folders, tiny_run):
    models, _ = folders
    copy_run(tiny_run, models, "first")
    copy_run(tiny_run, models, "second")
    at = open_app("compare")
    start = at.selectbox(key="compare.run").value
    other = "first" if start == "second" else "second"
    at.switch_page("pages/generate.py").run()
    at.selectbox(key="generate.run").set_value(other).run()            # the current run changes there
    at.switch_page("pages/compare.py").run()
    assert at.selectbox(key="compare.run").value == other
    at.selectbox(key="compare.run").set_value(start).run()             # and a pick here still sticks
    assert at.selectbox(key="compare.run").value == start and at.session_state["current_run"] == start


def test_compare_without_runs_says_what_to_do(folders):
    at = open_app("compare")
    assert "No trained run yet" in texts(at.info)


def compare_upload(models, table: pd.DataFrame, name: str):
    """Upload ``table``, train a tiny run on it and compare 20 synthetic patients (no models)."""
    dataset = accept_upload(table_bytes(table, f"{name}.csv"), f"{name}.csv")
    Synthesizer(dataset.schema, TINY.replace(curriculum=(4, 8))).fit(
        dataset.frame, models / name, data_source=dataset.source)
    at = open_app("compare", dataset)
    at.number_input(key="compare.patients").set_value(20)
    at.toggle(key="compare.model_scores").set_value(False)
    at.button(key="btn.compare").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return dataset, at


def test_compare_works_for_an_uploaded_schema(folders):
    models, _ = folders
    _, at = compare_upload(models, other_cohort(), "trial")
    assert [h.value for h in at.subheader][:4] == ["score", "arm", "event", "dose"]
    assert "arm is static" in texts(at.caption)   # one value per patient: no over-time figure
    assert "Scores" in [h.value for h in at.header]


def test_an_irregular_table_is_described_in_visits(folders):
    models, _ = folders
    cohort = other_cohort()
    gaps = np.random.default_rng(2).integers(20, 40, len(cohort))
    cohort["visit"] = pd.Series(gaps).groupby(cohort["subject"]).cumsum()   # days, different per patient
    dataset, at = compare_upload(models, cohort, "visits")
    assert dataset.schema.time_mode == "irregular"
    titles = [json.loads(chart.proto.spec)["layout"]["title"]["text"] for chart in at.get("plotly_chart")]
    assert "event: share of visits" in titles and not any("patient-months" in t for t in titles)


def infusion_table(n_patients: int = 30, seed: int = 0) -> pd.DataFrame:
    """Issue 24's shape: irregular hours, a dose rate held between changes (0 most of the time),
    a heart rate, and static age, height and sex; patients of 8 to 12 rows."""
    rng = np.random.default_rng(seed)
    rows = []
    for patient in range(n_patients):
        age, height, sex = int(rng.integers(20, 80)), int(rng.integers(150, 190)), rng.choice(["F", "M"])
        hours, rate = 0.0, 0.0
        for _ in range(int(rng.integers(8, 13))):
            if rng.random() < 0.3:
                rate = float(rng.choice([0.0, 2.5, 5.0, round(float(rng.uniform(1, 10)), 1)]))
            rows.append((patient, hours, rate, round(float(rng.normal(80, 10))), age, height, sex))
            hours += float(rng.choice([1.0, 2.0, 4.0]))
    return pd.DataFrame(rows, columns=["Patient", "Hours", "Rate", "HR", "Age", "Ht", "Sex"])


def test_compare_on_a_dose_table_with_static_numbers(folders, monkeypatch):
    """Issue 24, items 9-13: point-value lines for a column's point values only, the collapse said
    once, no max_patients advice, a family row beside its variables' verdicts, static numbers per
    patient, and example patients on one time axis."""
    models, _ = folders
    dataset = accept_upload(table_bytes(infusion_table(), "infusion.csv"), "infusion.csv")
    schema = dataset.schema
    assert schema.variable("Age").static and schema.variable("Ht").static and not schema.variable("Age").points
    assert schema.variable("Rate").points
    Synthesizer(schema, TINY.replace(curriculum=(4, 8), holdout=0.2)).fit(dataset.frame, models / "infusion",
                                                            data_source=dataset.source)
    sample = Synthesizer.sample
    monkeypatch.setattr(Synthesizer, "sample", lambda *a, **k: sample(*a, **k).assign(Sex="F"))   # collapsed
    at = open_app("compare", dataset)
    at.number_input(key="compare.patients").set_value(30)
    at.toggle(key="compare.model_scores").set_value(False)
    at.button(key="btn.compare").click().run()
    assert not at.exception, [e.value for e in at.exception]
    captions = texts(at.caption)

    # Item 9: "Age = 24: real 6%" lines came from static columns, which have no point values.
    assert "Age = " not in captions and "Ht = " not in captions
    rate_lines = [line for line in captions.splitlines() if line.startswith("Rate = ")]
    assert {line.split("\\:")[0] for line in rate_lines} == {f"Rate = {p:g}" for p in schema.variable("Rate").points}
    # Item 10: the collapse is the warning at the top, not a second time among the notes; no setting
    # the page does not have.
    assert len(at.warning) == 1 and at.warning[0].value.startswith("Collapsed in the synthetic data")
    assert "Collapsed in the synthetic data" not in captions and "max\\_patients" not in captions
    assert "as many training patients as the holdout has" in captions
    # Item 11: each family row says how its variables read, by the same rule.
    overview = at.dataframe[0].value.set_index("score")
    summary = at.dataframe[1].value
    masses = summary[summary["score"] == "point-mass share difference"]
    assert set(masses["variable"]) <= {"Rate", "HR", "Hours gap"} and "Age" not in set(masses["variable"])
    shown = overview.loc["point-mass share difference", "n_variables"]
    assert shown.startswith(str(len(masses)))
    if masses["verdict"].nunique() > 1:
        assert all(f"{count} {verdict}" in shown for verdict, count in masses["verdict"].value_counts().items())
    assert "one rule for every row" in captions
    # Item 13: static numbers are one value per patient, with no over-time figure.
    titles = {json.loads(chart.proto.spec)["layout"]["title"]["text"] for chart in at.get("plotly_chart")}
    assert "Age: one value per patient, real vs synthetic" in titles and "Age over time" not in " ".join(titles)
    assert "Ht is static" in captions and "Age is static" in captions
    # Item 12: the example patients' real and synthetic panels share the time axis.
    examples = next(json.loads(chart.proto.spec) for chart in at.get("plotly_chart")
                    if "example patients each" in json.loads(chart.proto.spec)["layout"]["title"]["text"])
    assert examples["layout"]["xaxis2"].get("matches") == "x" or examples["layout"]["xaxis"].get("matches") == "x2"
