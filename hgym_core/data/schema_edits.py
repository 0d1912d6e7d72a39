"""A user's schema edits carried from one version of a table to the next (a file fixed and uploaded again).

The edits are the fields where the edited schema differs from what ``Schema.infer`` proposed for
the earlier table; each variable the new table still has gets them on top of what ``infer``
proposes for the new table, so what the user never touched follows the new data. An edit that no
longer fits (labels the new table does not hold all of, a binary variable that now has three
labels) is dropped for that variable, which keeps the inferred proposal, and reported.

    carried = carry_edits(edited, Schema.infer(old_table), Schema.infer(new_table), new_table)
    carried.schema, carried.kept, carried.dropped
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

import pandas as pd

from hgym_core.data.schema import Schema, Variable
from hgym_core.data.validation import validate
from hgym_core.errors import HGymError

# The fields of a variable a user edits in the Data page's schema editor (its name never changes).
EDITABLE = ("kind", "static", "transform", "unit", "categories", "points", "held", "min", "max")


@dataclass(frozen=True)
class CarriedEdits:
    schema: Schema
    kept: dict[str, list[str]] = field(default_factory=dict)   # variable -> the fields carried over
    dropped: dict[str, str] = field(default_factory=dict)      # variable -> why its edit no longer fits


def edits(edited: Variable, proposed: Variable) -> dict:
    """The fields of ``edited`` that differ from ``proposed`` (what inference gave that column)."""
    before, after = asdict(proposed), asdict(edited)
    return {name: after[name] for name in EDITABLE if after[name] != before[name]}


def carry_edits(edited: Schema, edited_from: Schema, inferred: Schema, table: pd.DataFrame) -> CarriedEdits:
    """``inferred`` (the new ``table``'s proposal) with the edits of ``edited`` over ``edited_from``
    (the earlier table's proposal) applied to every variable both tables have; see the module."""
    earlier = {variable.name: variable for variable in edited_from.variables}
    kept, dropped, variables = {}, {}, []
    for proposed in inferred.variables:
        changes = {}
        if proposed.name in edited.names and proposed.name in earlier:
            changes = edits(edited.variable(proposed.name), earlier[proposed.name])
        carried, problem = _apply(proposed, changes, inferred)
        if problem:
            dropped[proposed.name] = problem
        elif changes:
            kept[proposed.name] = sorted(changes)
        variables.append(carried)
    # Edits that pass one by one can still fail against the rows (a label list missing a label):
    # those variables go back to the proposal, unless it fails there too (then the data is at fault).
    failing = _errors_by_column(table, replace(inferred, variables=variables))
    failing_anyway = _errors_by_column(table, inferred) if failing else {}
    for name in sorted(set(failing) & set(kept) - set(failing_anyway)):
        dropped[name] = failing[name]
        del kept[name]
        variables = [inferred.variable(name) if variable.name == name else variable for variable in variables]
    return CarriedEdits(replace(inferred, variables=variables), kept, dropped)


def _apply(proposed: Variable, changes: dict, schema: Schema) -> tuple[Variable, str | None]:
    """The variable with ``changes``, checked as a schema file is (``Schema.from_dict``); on a
    mistake the proposal and the reason."""
    if not changes:
        return proposed, None
    entry = {**asdict(proposed), **changes}
    # The flag column lives elsewhere in the schema: the variable is checked alone, without it.
    held_by = entry.pop("held_by") if entry["kind"] == "numeric" else None
    if entry["kind"] != "numeric":   # label variables carry none of the numeric-only fields
        entry |= {"points": [], "held": False, "min": None, "max": None, "held_by": None}
    else:
        entry["categories"] = None
    try:
        [variable] = Schema.from_dict({"id_column": schema.id_column, "time_column": schema.time_column,
                                       "variables": [entry]}).variables
    except HGymError as problem:
        return proposed, str(problem)
    return replace(variable, held_by=held_by), None


def _errors_by_column(table: pd.DataFrame, schema: Schema) -> dict[str, str]:
    """Each column with a blocking problem under ``schema``, and its first problem's message."""
    found: dict[str, str] = {}
    for problem in validate(table, schema):
        if problem.severity == "error" and problem.column:
            found.setdefault(problem.column, problem.message)
    return found
