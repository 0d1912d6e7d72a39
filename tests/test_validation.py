"""validate / check: every problem reported at once, each naming its column, example rows and fix."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hgym_core.data.encoding import Encoder
from hgym_core.errors import HGymError
from hgym_core.data.schema import Problem, Schema, Variable, check, validate

SCHEMA = Schema("PatientID", "Timestep", [
    Variable("CD4", "numeric"),
    Variable("Gender", "binary", ["Female", "Male"], static=True),
    Variable("Regimen", "categorical", ["A", "B", "C"]),
])


def table(n_patients: int = 4, steps: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = n_patients * steps
    return pd.DataFrame({
        "PatientID": np.repeat(np.arange(n_patients), steps),
        "Timestep": np.tile(np.arange(steps), n_patients),
        "CD4": rng.uniform(50, 900, rows),
        "Gender": np.repeat(["Female", "Male"] * (n_patients // 2), steps),
        "Regimen": rng.choice(["A", "B", "C"], rows),
    })


def only(problems: list[Problem], column: str | None, severity: str = "error") -> Problem:
    found = [p for p in problems if p.column == column and p.severity == severity]
    assert len(found) == 1, problems
    return found[0]


def assert_names_column_and_fix(problem: Problem, column: str, fix: str) -> None:
    assert f"'{column}'" in problem.message
    assert "Fix:" in problem.message and fix in problem.message.split("Fix:")[1]


def test_a_clean_table_has_no_problems_and_comes_back_unchanged():
    df = table()
    assert validate(df, SCHEMA) == []
    pd.testing.assert_frame_equal(check(df, SCHEMA), df)


def test_missing_and_extra_columns():
    df = table().drop(columns="Regimen").assign(Notes="x")
    problems = validate(df, SCHEMA)
    assert_names_column_and_fix(only(problems, "Regimen"), "Regimen", "add the column")
    extra = only(problems, "Notes", "warning")
    assert_names_column_and_fix(extra, "Notes", "add 'Notes' to the schema")
    with pytest.raises(HGymError, match="'Regimen' is in the schema but not in the table"):
        check(df, SCHEMA)


def test_labels_not_in_the_schema_are_listed_with_example_rows():
    df = table()
    df.loc[[2, 7], "Regimen"] = "Z"
    problem = only(validate(df, SCHEMA), "Regimen")
    assert problem.rows == [4, 9] and "['Z']" in problem.message and "spreadsheet rows 4, 9" in problem.message   # header = row 1
    assert_names_column_and_fix(problem, "Regimen", "add them to the categories")


def test_text_in_a_numeric_column():
    df = table()
    df["CD4"] = df["CD4"].astype(str)
    df.loc[4, "CD4"] = "n/a"
    problem = only(validate(df, SCHEMA), "CD4")
    assert problem.rows == [6] and "'n/a'" in problem.message and "spreadsheet row 6" in problem.message
    assert_names_column_and_fix(problem, "CD4", "replace 'n/a' with a number or leave it empty")
    assert_names_column_and_fix(problem, "CD4", "change the variable's kind to categorical")


def test_stray_text_in_an_inferred_measurement_is_listed_with_every_value_and_row():
    df = table(n_patients=20)
    df["CD4"] = df["CD4"].round(1).astype(str)
    df.loc[[3, 11], "CD4"] = ["abc", " 12,5"]
    schema = Schema.infer(df)   # 58 of 60 cells are numbers: numeric, so the 2 stray cells are reported
    assert schema.variable("CD4").kind == "numeric"
    problem = only(validate(df, schema), "CD4")
    assert problem.rows == [5, 13] and "2 row(s)" in problem.message and "spreadsheet rows 5, 13" in problem.message
    assert_names_column_and_fix(problem, "CD4", "replace 'abc', ' 12,5' with numbers or leave those cells empty")
    with pytest.raises(HGymError, match="'CD4'"):
        check(df, schema)
    df.loc[[3, 11], "CD4"] = [None, "12.5"]   # the fix the message gives
    assert check(df, schema)["CD4"].dtype == np.float64


def test_numbers_stored_as_text_are_converted():
    df = table()
    df["CD4"] = df["CD4"].astype(str)
    assert validate(df, SCHEMA) == []
    assert check(df, SCHEMA)["CD4"].dtype == np.float64


def test_duplicate_patient_time_rows():
    df = pd.concat([table(), table().iloc[[5]]], ignore_index=True)
    problem = only(validate(df, SCHEMA), "Timestep")
    assert set(problem.rows) == {7, 14}
    assert "'PatientID'" in problem.message
    assert_names_column_and_fix(problem, "Timestep", "keep one row per patient per time step")


def test_entirely_empty_column_blocks_and_a_constant_one_warns():
    df = table()
    df["CD4"] = np.nan
    df["Regimen"] = "B"
    problems = validate(df, SCHEMA)
    assert_names_column_and_fix(only(problems, "CD4"), "CD4", "drop it from the table and the schema")
    assert_names_column_and_fix(only(problems, "Regimen", "warning"), "Regimen", "drop 'Regimen'")
    assert not [p for p in problems if p.column == "Regimen" and p.severity == "error"]


def test_a_constant_numeric_column_warns_and_still_encodes():
    df = table()
    df["CD4"] = 400.0
    assert_names_column_and_fix(only(validate(df, SCHEMA), "CD4", "warning"), "CD4", "drop 'CD4'")
    encoder = Encoder.fit(df, SCHEMA)
    assert encoder.decode(encoder.encode(df).padded())["CD4"].tolist() == pytest.approx(df["CD4"].tolist())


def test_more_than_fifty_levels_in_a_categorical():
    labels = [f"site {i}" for i in range(60)]
    schema = Schema("PatientID", "Timestep", [Variable("Site", "categorical", labels)])
    df = table()[["PatientID", "Timestep"]].assign(Site=[labels[i] for i in range(12)])
    problem = only(validate(df, schema), "Site")
    assert "60 categories" in problem.message
    assert_names_column_and_fix(problem, "Site", "group rare labels into 'Other'")


def test_infinite_values():
    df = table()
    df.loc[3, "CD4"] = np.inf
    df.loc[9, "CD4"] = -np.inf
    problem = only(validate(df, SCHEMA), "CD4")
    assert problem.rows == [5, 11]
    assert_names_column_and_fix(problem, "CD4", "replace those cells")


def test_negative_values_under_boxcox_warn_with_the_shift_and_zero_does_not():
    df = table()
    df.loc[[1, 6], "CD4"] = [0.0, -20.0]   # zero needs no shift: Box-Cox adds 1e-3 first
    problem = only(validate(df, SCHEMA), "CD4", "warning")
    assert problem.rows == [8] and "shifted by 20" in problem.message and "-0" not in problem.message
    assert_names_column_and_fix(problem, "CD4", "set 'CD4' transform to 'minmax'")
    minmax = Schema.from_dict({**SCHEMA.to_dict(), "variables": [
        {"name": "CD4", "kind": "numeric", "transform": "minmax"}, *SCHEMA.to_dict()["variables"][1:]]})
    assert validate(df, minmax) == []


def test_fewer_than_two_patients():
    df = table()
    df = df[df["PatientID"] == 0]
    problem = only(validate(df, SCHEMA), "PatientID")
    assert_names_column_and_fix(problem, "PatientID", "load a table with more patients")


def test_a_very_long_patient_warns_with_its_id_and_how_to_shorten_it():
    """One patient of 40,000 steps used to train at 0.06 steps/s in 2 GB with no word of warning."""
    long = table(n_patients=4, steps=3)
    one = table(n_patients=2, steps=1_500).query("PatientID == 0").assign(PatientID=7)
    long = pd.concat([long, one], ignore_index=True)
    problem = only(validate(long, SCHEMA), "PatientID", "warning")
    assert "Patient 7 has 1,500 rows (median patient 3; 1 patients above 1,000)" in problem.message
    assert "Fix: resample to fewer time steps" in problem.message
    assert not validate(table(n_patients=4, steps=1_000), SCHEMA)   # at the limit: nothing to say


def test_rows_out_of_time_order_are_sorted_not_rejected():
    df = table()
    shuffled = df.sample(frac=1, random_state=3)
    assert validate(shuffled, SCHEMA) == []
    pd.testing.assert_frame_equal(check(shuffled, SCHEMA).reset_index(drop=True), df)
    encoder = Encoder.fit(df, SCHEMA)
    assert encoder.encode(shuffled).padded().equal(encoder.encode(df).padded())


def test_empty_cells_in_keys_block_and_in_labels_do_not():
    df = table()
    df["PatientID"] = df["PatientID"].astype(float)
    df.loc[2, "PatientID"] = np.nan
    df.loc[5, "Regimen"] = None
    problems = validate(df, SCHEMA)
    assert_names_column_and_fix(only(problems, "PatientID"), "PatientID", "give every row its patient's id")
    assert not [p for p in problems if p.column == "Regimen"]   # an empty label is learned as "missing"


def test_time_must_be_a_number():
    df = table()
    df["Timestep"] = df["Timestep"].map(lambda t: f"2024-01-{t + 1:02d}")
    problem = only(validate(df, SCHEMA), "Timestep")
    assert_names_column_and_fix(problem, "Timestep", "make time a number")


def test_a_step_counter_with_skipped_steps_points_to_irregular_time():
    df = table()
    df.loc[df["PatientID"] == 1, "Timestep"] = [0, 1, 5]
    problem = only(validate(df, SCHEMA), "Timestep")
    assert problem.rows == [7]
    assert_names_column_and_fix(problem, "Timestep", "set the schema's time_mode to 'irregular'")
    irregular = Schema(SCHEMA.id_column, SCHEMA.time_column, SCHEMA.variables, "irregular")
    assert validate(df, irregular) == []


def test_a_static_variable_that_changes_within_a_patient_warns():
    df = table()
    df.loc[4, "Gender"] = "Female"   # patient 1 is Male otherwise
    problem = only(validate(df, SCHEMA), "Gender", "warning")
    assert problem.rows == [6, 7]   # where it changes, and changes back
    assert_names_column_and_fix(problem, "Gender", "untick 'static'")


def test_every_problem_is_reported_at_once():
    df = table().drop(columns=["Gender", "Timestep"])
    df.loc[0, "Regimen"] = "Z"
    df.loc[1, "CD4"] = np.inf
    problems = validate(df, SCHEMA)
    assert {p.column for p in problems if p.severity == "error"} == {"Gender", "Timestep", "Regimen", "CD4"}
    with pytest.raises(HGymError) as error:
        check(df, SCHEMA)
    message = str(error.value)
    assert "4 problem(s)" in message and all(f"'{c}'" in message for c in ("Gender", "Timestep", "Regimen", "CD4"))


def test_a_problem_in_many_rows_gives_the_count_and_the_first_spreadsheet_rows():
    df = table(n_patients=10)
    df.loc[3:16, "Regimen"] = "Z"   # 14 rows
    problem = only(validate(df, SCHEMA), "Regimen")
    assert "14 rows, e.g. spreadsheet rows 5, 6, 7, 8, 9" in problem.message


def test_values_beyond_schema_bounds_warn_that_synthetic_values_stay_inside():
    df = table()
    bounded = Schema.from_dict({**SCHEMA.to_dict(), "variables": [
        {"name": "CD4", "kind": "numeric", "max": 500}, *SCHEMA.to_dict()["variables"][1:]]})
    problem = only(validate(df, bounded), "CD4", "warning")
    assert "beyond its schema max 500" in problem.message and "widen or clear" in problem.message


def test_every_row_without_a_time_is_named_text_and_markers_alike():
    """Issue 24, item 14: text in rows 5 and 300 and markers in rows 40 and 41 are one problem that
    names all four rows (up to five, then the total), the text, and which markers were empty."""
    import io

    from hgym_core.data.io import read_table

    lines = ["id,Hours,CD4"] + [f"{row // 10},{row % 10},{500 + row}" for row in range(400)]
    lines[4] = "0,about 2h,503"          # spreadsheet row 5 (the header is row 1)
    lines[39], lines[40] = "3,n/a,538", "4,?,539"
    lines[299] = "29,later,798"
    frame = read_table(io.BytesIO("\n".join(lines).encode()), "hours.csv")
    schema = Schema("id", "Hours", [Variable("CD4", "numeric")], "irregular")
    [problem] = [p for p in validate(frame, schema) if p.column == "Hours"]
    assert problem.rows == [5, 40, 41, 300]
    assert problem.message.startswith("Column 'Hours' (time) has 4 rows without a time: text 'about 2h', 'later' "
                                      "and 2 empty ('n/a', '?' read as empty) (spreadsheet rows 5, 40, 41, 300).")
    many = frame.assign(Hours=frame["Hours"].where(frame.index % 50 != 7))   # 8 more empty rows
    [problem] = [p for p in validate(many, schema) if p.column == "Hours"]
    assert "has 12 rows without a time" in problem.message and "12 rows, e.g. spreadsheet rows 5, 9, 40, 41, 59" \
        in problem.message
