"""Schema edits carried to a fixed table: what the user changed follows, what no longer fits is dropped and said."""

from __future__ import annotations

from dataclasses import replace

from hgym_core.data.demo import simulate_hiv_cohort
from hgym_core.data.schema import Schema
from hgym_core.data.schema_edits import carry_edits


def edited(schema: Schema, **changes: dict) -> Schema:
    """``schema`` with ``changes[name]`` applied to each named variable."""
    return replace(schema, variables=[replace(v, **changes.get(v.name, {})) for v in schema.variables])


def test_edits_follow_the_columns_both_tables_have_and_the_rest_follows_the_new_table():
    old = simulate_hiv_cohort(n_patients=30, seed=0)
    proposed = Schema.infer(old)
    mine = edited(proposed, CD4={"unit": "cells/mm3", "transform": "log"}, Gender={"static": False},
                  Ethnic={"categories": ["Other", "Caucasian", "African", "Asian"]})
    new = old.drop(columns=["VL"]).assign(**{"Rel CD4": old["Rel CD4"] * 2})   # a column gone, one changed
    carried = carry_edits(mine, proposed, Schema.infer(new), new)
    schema = carried.schema
    assert schema.names == Schema.infer(new).names   # the new table's columns, VL gone
    assert (schema.variable("CD4").unit, schema.variable("CD4").transform) == ("cells/mm3", "log")
    assert schema.variable("Gender").static is False
    assert schema.variable("Ethnic").categories == ["Other", "Caucasian", "African", "Asian"]   # typed order
    assert schema.variable("Rel CD4") == Schema.infer(new).variable("Rel CD4")   # untouched: the new proposal
    assert carried.kept == {"CD4": ["transform", "unit"], "Gender": ["static"], "Ethnic": ["categories"]}
    assert carried.dropped == {}


def test_an_edit_that_no_longer_fits_falls_back_to_the_inferred_variable_and_says_why():
    old = simulate_hiv_cohort(n_patients=30, seed=0)
    proposed = Schema.infer(old)
    mine = edited(proposed, Ethnic={"categories": ["Other", "Caucasian", "African", "Asian"]},
                  Gender={"categories": ["Male", "Female"]}, CD4={"unit": "cells/mm3"})
    new = old.copy()
    new.loc[new["PatientID"] == new["PatientID"].iloc[0], "Ethnic"] = "Pacific"   # a label the edit lacks
    new.loc[new["PatientID"] == new["PatientID"].iloc[-1], "Gender"] = "Other"     # binary now has 3 labels
    carried = carry_edits(mine, proposed, Schema.infer(new), new)
    assert set(carried.dropped) == {"Ethnic", "Gender"}
    assert "'Pacific'" in carried.dropped["Ethnic"]
    assert carried.schema.variable("Ethnic") == Schema.infer(new).variable("Ethnic")
    assert carried.schema.variable("Gender") == Schema.infer(new).variable("Gender")
    assert carried.kept == {"CD4": ["unit"]} and carried.schema.variable("CD4").unit == "cells/mm3"


def test_a_kind_change_carries_its_labels_and_sheds_the_numeric_fields():
    old = simulate_hiv_cohort(n_patients=30, seed=0)
    proposed = Schema.infer(old)
    as_labels = proposed.variable("VL (M)")
    mine = edited(proposed, **{"VL (M)": {"kind": "numeric", "categories": None}})
    carried = carry_edits(mine, proposed, Schema.infer(old), old)
    assert carried.schema.variable("VL (M)").kind == "numeric" and carried.schema.variable("VL (M)").categories is None
    back = carry_edits(proposed, mine, Schema.infer(old), old)   # and back: the labels return
    assert carried.kept["VL (M)"] == ["categories", "kind"] and back.schema.variable("VL (M)") == as_labels
