"""Schema: JSON round trip, rejection of wrong hand edits, and inference."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from hgym_core.errors import HGymError
from hgym_core.data.schema import Schema, Variable
from hgym_core.data.demo import hiv_schema

HIV_SCHEMA = {
    "VL": ("numeric", None, False), "CD4": ("numeric", None, False), "Rel CD4": ("numeric", None, False),
    "Gender": ("binary", 2, True), "Ethnic": ("categorical", 4, True),
    "Base Drug Combo": ("categorical", 6, False), "Comp. INI": ("categorical", 4, False),
    "Comp. NNRTI": ("categorical", 4, False), "Extra PI": ("categorical", 6, False),
    "Extra pk-En": ("binary", 2, False), "VL (M)": ("binary", 2, False),
    "CD4 (M)": ("binary", 2, False), "Drug (M)": ("binary", 2, False),
}


def small_schema() -> Schema:
    return Schema("PatientID", "Timestep", [
        Variable("CD4", "numeric", unit="cells/µL"),
        Variable("Gender", "binary", ["Male", "Female"], static=True),
        Variable("Grade", "categorical", [1, 2, 3]),
        Variable("Flag", "binary", [False, True]),
    ])


def test_json_round_trip_keeps_every_field(tmp_path):
    schema = small_schema()
    assert Schema.from_json(schema.to_json()) == schema
    path = schema.save(tmp_path / "run" / "schema.json")
    assert Schema.load(path) == schema
    # Readable: plain JSON with the labels as the table's own values.
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["variables"][1]["categories"] == ["Male", "Female"]
    assert data["variables"][3]["categories"] == [False, True]
    # Numeric-only fields are written for numeric variables only (no "transform": "boxcox" on labels).
    assert {"transform", "points", "held", "min", "max"} <= set(data["variables"][0])
    assert all(set(v) == {"name", "kind", "categories", "static", "unit"} for v in data["variables"][1:])


def test_an_ordered_categorical_keeps_its_order_and_plain_text_is_sorted():
    grades = ["none", "mild", "moderate", "severe"]
    table = pd.DataFrame({"id": [1, 1, 2, 2, 3, 3], "t": [0, 1] * 3,
                          "grade": pd.Categorical(["severe", "mild", "none", "moderate", "mild", "mild"],
                                                  categories=grades, ordered=True)})
    assert Schema.infer(table).variable("grade").categories == grades
    as_text = table.assign(grade=table["grade"].astype(str))
    assert Schema.infer(as_text).variable("grade").categories == sorted(grades)


def test_hand_edited_json_with_defaults_left_out_loads():
    text = json.dumps({"id_column": "id", "time_column": "day", "time_mode": "irregular",
                       "variables": [{"name": "HR", "kind": "numeric"},
                                     {"name": "Sex", "kind": "binary", "categories": ["F", "M"]}]})
    schema = Schema.from_json(text)
    assert schema.variable("HR").transform == "boxcox"
    assert schema.variable("Sex").static is False
    assert schema.names == ["HR", "Sex"]
    assert schema.columns == ["id", "day", "HR", "Sex"]


@pytest.mark.parametrize("edit, field", [
    (lambda d: d["variables"][0].update(kind="numerik"), "variables[0] ('CD4').kind"),
    (lambda d: d["variables"][0].update(transform="sqrt"), "variables[0] ('CD4').transform"),
    (lambda d: d["variables"][1].update(categories=["Male"]), "variables[1] ('Gender').categories"),
    (lambda d: d["variables"][2].update(categories=[1, 2, 2]), "variables[2] ('Grade').categories"),
    (lambda d: d["variables"][2].update(categories=None), "variables[2] ('Grade').categories"),
    (lambda d: d["variables"][0].update(categories=["a"]), "variables[0] ('CD4').categories"),
    (lambda d: d["variables"][1].update(static="yes"), "variables[1] ('Gender').static"),
    (lambda d: d["variables"][0].update(colour="red"), "variables[0]"),
    (lambda d: d["variables"][3].update(name="CD4"), "variables[3].name"),
    (lambda d: d["variables"][3].update(name="Timestep"), "variables[3].name"),
    (lambda d: d.update(time_mode="monthly"), "time_mode"),
    (lambda d: d.pop("id_column"), "id_column"),
    (lambda d: d.update(variables=[]), "variables"),
])
def test_wrong_json_is_rejected_naming_the_field(edit, field):
    data = small_schema().to_dict()
    edit(data)
    with pytest.raises(HGymError) as error:
        Schema.from_dict(data)
    assert f"'{field}'" in str(error.value)


def test_broken_json_text_is_rejected_with_its_line():
    with pytest.raises(HGymError, match="line 1"):
        Schema.from_json('{"id_column": "id",')


def test_unknown_variable_lookup_names_the_known_ones():
    with pytest.raises(HGymError, match="CD4"):
        small_schema().variable("VL")


def test_infer_on_the_built_in_cohort_gives_the_health_gym_table(hiv_cohort):
    schema = Schema.infer(hiv_cohort)
    assert (schema.id_column, schema.time_column, schema.time_mode) == ("PatientID", "Timestep", "step")
    assert schema.names == list(HIV_SCHEMA)
    for variable in schema.variables:
        kind, classes, static = HIV_SCHEMA[variable.name]
        assert variable.kind == kind, variable.name
        assert (len(variable.categories) if variable.categories else None) == classes, variable.name
        assert variable.static is static, variable.name
        if kind == "numeric":
            assert variable.transform == "boxcox"
    assert set(schema.variable("Gender").categories) == {"Male", "Female"}
    assert schema.variable("Ethnic").categories == sorted(["Asian", "African", "Caucasian", "Other"])


def test_infer_finds_columns_by_structure_and_reads_kinds():
    rng = np.random.default_rng(0)
    n, steps = 6, 5
    df = pd.DataFrame({
        "who": np.repeat([f"p{i}" for i in range(n)], steps),
        "dose": rng.uniform(0, 9, n * steps),                          # numeric
        "days": np.tile([0, 3, 10, 11, 30], n) + np.repeat(np.arange(n), steps),  # irregular time
        "grade": rng.integers(1, 5, n * steps),                        # few integer levels
        "site": np.repeat(rng.choice(["A", "B", "C"], n), steps),      # text, constant per patient
        "done": rng.integers(0, 2, n * steps).astype(bool),            # binary
    })
    schema = Schema.infer(df)
    assert (schema.id_column, schema.time_column, schema.time_mode) == ("who", "days", "irregular")
    kinds = {v.name: (v.kind, v.static) for v in schema.variables}
    assert kinds == {"dose": ("numeric", False), "grade": ("categorical", False),
                     "site": ("categorical", True), "done": ("binary", False)}
    assert schema.variable("grade").categories == sorted(set(df["grade"].tolist()))
    assert schema.variable("done").categories == [False, True]


def test_infer_step_mode_accepts_a_counter_that_starts_at_one():
    df = pd.DataFrame({"subject": np.repeat([1, 2, 3], 4), "Month": np.tile([1, 2, 3, 4], 3),
                       "x": np.linspace(1, 2, 12)})
    schema = Schema.infer(df)
    assert (schema.id_column, schema.time_column, schema.time_mode) == ("subject", "Month", "step")


def test_infer_without_an_id_column_says_how_to_fix():
    df = pd.DataFrame({"a": [0.1, 0.2, 0.3], "b": [1.5, 2.5, 3.5], "c": [0.0, 1.0, 2.0]})
    with pytest.raises(HGymError, match="PatientID"):
        Schema.infer(df)


# ---- command line ---------------------------------------------------------------------------


def test_cli_prints_the_inferred_schema_of_a_table(tmp_path, capsys):
    from hgym_core.cli import main

    df = pd.DataFrame({"subject": np.repeat([1, 2, 3], 3), "visit": np.tile([0, 1, 2], 3),
                       "weight": [70.5, 71.0, 69.8, 80.1, 80.3, 81.0, 60.2, 60.0, 59.1],
                       "smoker": np.repeat(["yes", "no", "yes"], 3), "junk": "x"})
    df.to_csv(tmp_path / "t.csv", index=False)
    assert main(["schema", str(tmp_path / "t.csv")]) == 0
    captured = capsys.readouterr()
    schema = Schema.from_json(captured.out)
    assert (schema.id_column, schema.time_column) == ("subject", "visit")
    assert schema.variable("smoker").static and schema.variable("weight").kind == "numeric"
    assert "warning: Column 'junk' has the same value" in captured.err


def test_cli_writes_the_built_in_cohorts_schema(tmp_path, capsys, monkeypatch, hiv_cohort):
    import hgym_core.cli.schema as command
    from hgym_core.cli import main

    monkeypatch.setattr(command, "simulate_hiv_cohort", lambda: hiv_cohort)   # small stand-in for the default
    assert main(["schema", "--out", str(tmp_path / "schema.json")]) == 0
    written = Schema.load(tmp_path / "schema.json")
    assert written == hiv_schema(hiv_cohort)
    assert written.variable("Ethnic").categories == ["Asian", "African", "Caucasian", "Other"]   # published order
    assert written.variable("CD4").unit == "cells/µL"
    assert "wrote the schema of 13 variables" in capsys.readouterr().out


def test_cli_reports_a_missing_file_readably(tmp_path, capsys):
    from hgym_core.cli import main

    assert main(["schema", str(tmp_path / "nowhere.csv")]) == 2
    assert "was not found" in capsys.readouterr().err


def test_infer_reads_codes_with_empty_cells_as_labels_not_numbers():
    """0/1 signs and few-level codes with gaps are labels (the gap becomes a "missing" class); they
    used to be inferred numeric and came back as 0.000365, 0.0317, …"""
    df = pd.DataFrame({"id": np.repeat([1, 2], 3), "time": np.tile([0, 1, 2], 2),
                       "flag": [0, 1, np.nan, 1, 0, 0], "grade": [1, 2, 3, np.nan, 2, 1],
                       "note": ["a", None, "b", "a", "b", "c"]})
    schema = Schema.infer(df)
    assert [(v.name, v.kind, v.categories) for v in schema.variables] == [
        ("flag", "binary", [0, 1]), ("grade", "categorical", [1, 2, 3]), ("note", "categorical", ["a", "b", "c"])]


def test_infer_reads_a_zero_half_one_sign_as_categorical():
    edema = [0, 0.5, 1, 0, 0] * 4 + [np.nan] * 4   # pbcseq's edema: 0 / 0.5 / 1 with gaps
    df = pd.DataFrame({"id": np.repeat(np.arange(6), 4), "time": np.tile(np.arange(4), 6), "edema": edema})
    variable = Schema.infer(df).variable("edema")
    assert (variable.kind, variable.categories) == ("categorical", [0, 0.5, 1])


def test_infer_finds_point_masses_held_values_and_keeps_bounds_open():
    """A zero-inflated infusion rate held between changes, a lab that moves: their properties."""
    rng = np.random.default_rng(0)
    changes = np.where(rng.random(50) < 0.7, 0.0, rng.uniform(72, 750, 50).round(2))
    rate = np.repeat(changes, 4)              # each value held for four rows
    lab = rng.normal(50, 10, 200).round(1)
    df = pd.DataFrame({"id": np.repeat(np.arange(20), 10), "time": np.tile(np.arange(10), 20),
                       "rate": rate, "lab": lab})
    schema = Schema.infer(df)
    rate_variable, lab_variable = schema.variable("rate"), schema.variable("lab")
    assert rate_variable.kind == "numeric" and rate_variable.points == [0] and rate_variable.held
    assert rate_variable.mixed
    assert lab_variable.points == [] and not lab_variable.held and not lab_variable.mixed
    assert (rate_variable.min, rate_variable.max) == (None, None)   # bounds: the observed range unless set


def cohort_with(column: list) -> pd.DataFrame:
    """Four patients, five steps each, and ``column`` (20 cells) as the variable 'x'."""
    return pd.DataFrame({"id": np.repeat([1, 2, 3, 4], 5), "time": np.tile(np.arange(5), 4), "x": column})


@pytest.mark.parametrize("stray", ["abc", " 12,5", "n/a"])
def test_infer_reads_numbers_with_a_stray_text_value_as_numeric(stray):
    cells = [f"{v:.1f}" for v in np.linspace(100, 900, 20)]   # numbers read as text from a file
    cells[7] = stray
    assert Schema.infer(cohort_with(cells)).variable("x").kind == "numeric"


@pytest.mark.parametrize("cells, labels", [
    (["1", "2", "A", "2"] * 5, ["1", "2", "A"]),                                      # labels that look like numbers
    ([str(1 + i % 5) for i in range(19)] + ["x"], ["1", "2", "3", "4", "5", "x"]),  # few integer codes and a typo
])
def test_infer_keeps_labels_and_few_codes_with_text_categorical(cells, labels):
    variable = Schema.infer(cohort_with(cells)).variable("x")
    assert (variable.kind, variable.categories) == ("categorical", labels)


def test_infer_keeps_a_column_with_much_text_categorical():
    cells = [f"{v:.1f}" for v in np.linspace(100, 900, 20)]
    cells[:2] = ["unknown", "unknown"]   # 10% text: a label column, not a typo
    assert Schema.infer(cohort_with(cells)).variable("x").kind == "categorical"
