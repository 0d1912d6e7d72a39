"""The schema as an editable table (one row per variable) and back.

Category labels are edited as comma-separated text; reading them back matches each label to
the table's own values, so 0/1 flags stay numbers and False/True stay booleans. The transform,
point values, "held" and the bounds apply to numeric variables only, so other rows show them blank.
"""

from __future__ import annotations

import pandas as pd

from hgym_core.data.schema import Schema
from hgym_core.errors import HGymError

COLUMNS = ["variable", "kind", "static", "transform", "points", "held", "min", "max", "unit", "categories"]


def schema_to_table(schema: Schema) -> pd.DataFrame:
    rows = [{"variable": v.name, "kind": v.kind, "static": v.static,
             "transform": v.transform if v.kind == "numeric" else None,
             "points": ", ".join(str(p) for p in v.points), "held": v.held,
             "min": v.min, "max": v.max, "unit": v.unit,
             "categories": ", ".join(str(c) for c in v.categories or [])} for v in schema.variables]
    return pd.DataFrame(rows, columns=COLUMNS)


def table_to_schema(table: pd.DataFrame, schema: Schema, frame: pd.DataFrame) -> Schema:
    """The schema with each variable's row of the edited table applied (names never change).

    Goes through ``Schema.from_dict``, so an impossible edit (a binary variable with three
    labels) raises HGymError naming the variable and the fix, and a transform left out takes
    the schema's default: a variable made numeric with a blank transform gets it, and a
    variable made binary or categorical drops the transform it had.
    """
    variables = []
    for variable, row in zip(schema.variables, table.to_dict("records")):
        kind = _text(row["kind"]) or variable.kind
        entry = {"name": variable.name, "kind": kind, "static": bool(row["static"]), "unit": _text(row["unit"])}
        if kind == "numeric":
            # Blank keeps a numeric variable's transform; a variable made numeric gets the default
            # (the transform it carried as a label variable was never shown, so never chosen).
            transform = _text(row["transform"]) or (variable.transform if variable.kind == "numeric" else "")
            if transform:
                entry["transform"] = transform
            entry |= {"points": _numbers(_text(row["points"]), variable.name), "held": bool(row["held"]),
                      "min": _bound(row["min"]), "max": _bound(row["max"]),
                      # not an editor column: a numeric variable keeps its flag (the built-in cohort's)
                      "held_by": variable.held_by if variable.kind == "numeric" else None}
        else:
            entry["categories"] = _labels(_text(row["categories"]), frame[variable.name])
        variables.append(entry)
    return Schema.from_dict({**schema.to_dict(), "variables": variables})


def _numbers(text: str, name: str) -> list:
    """Point values typed as '0, 72.5' (empty: none)."""
    try:
        return [_plain(float(token)) for token in text.replace(";", ",").split(",") if token.strip()]
    except ValueError:
        raise HGymError(f"Point values of '{name}' must be numbers separated by commas, e.g. '0, 72.5' "
                        f"(got {text!r}); leave the cell empty for none.") from None


def _bound(cell: object) -> float | None:
    return None if cell is None or pd.isna(cell) else float(cell)


def _text(cell: object) -> str:
    """An edited cell as text; a cleared cell (None, or NaN in a pandas text column) is ''."""
    return "" if cell is None or pd.isna(cell) else str(cell)


def _labels(text: str, column: pd.Series) -> list:
    """Labels typed as 'a, b, c' as the column's own values; empty text lists the column's labels."""
    present = [_plain(value) for value in pd.unique(column.dropna())]
    by_text = {str(value): value for value in present}
    typed = [token.strip() for token in text.split(",") if token.strip()]
    if not typed:
        try:
            return sorted(present)
        except TypeError:   # mixed text and numbers
            return sorted(present, key=str)
    return [by_text.get(token, token) for token in typed]


def _plain(value: object) -> object:
    """A numpy scalar as the Python scalar JSON can hold; 1.0 reads as 1, as Schema.infer lists it."""
    value = value.item() if hasattr(value, "item") else value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value
