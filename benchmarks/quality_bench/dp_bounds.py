"""For the privacy benchmark only: a table's observed ranges declared public, as DP papers do.

A differentially private run takes each numeric variable's range (and, for irregular times, the
time range) from the schema as public knowledge (docs/privacy.md). The benchmark's public tables
have no data dictionary, so ``observed_bounds`` declares the whole table's observed ranges public.
That is outside the guarantee for a real table (the extremes are some patients' values); say so
beside any number it produces.
"""

from __future__ import annotations

from dataclasses import replace

import pandas as pd

from hgym_core.data.schema import Schema


def observed_bounds(schema: Schema, table: pd.DataFrame) -> tuple[Schema, tuple[float, float] | None]:
    """(the schema with every numeric variable's empty min / max set to the table's observed ones,
    the time column's observed range for irregular times, else None): pass the second as
    ``dp_time_range``."""
    def bounded(variable):
        if variable.kind != "numeric":
            return variable
        values = pd.to_numeric(table[variable.name], errors="coerce")
        return replace(variable, min=float(values.min()) if variable.min is None else variable.min,
                       max=float(values.max()) if variable.max is None else variable.max)

    times = pd.to_numeric(table[schema.time_column], errors="coerce")
    time_range = (float(times.min()), float(times.max())) if schema.time_mode == "irregular" else None
    return replace(schema, variables=[bounded(v) for v in schema.variables]), time_range
