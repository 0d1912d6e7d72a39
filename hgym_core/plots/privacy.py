"""Privacy: how close each synthetic patient comes to a real one."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from hgym_core.errors import HGymError
from hgym_core.plots._common import HOLDOUT_COLOUR, TRAINING_COLOUR, figure, histogram_shares, step_histogram


def dcr_histogram_figure(dcr_train: Sequence[float], dcr_holdout: Sequence[float] | None = None,
                         bins: int = 40) -> go.Figure:
    """Each synthetic patient's distance to its closest training (and holdout) patient.

    With no memorisation the two histograms overlap; a training histogram shifted towards 0
    (or a spike at 0: exact copies) means real patients leak.
    """
    series = [(np.asarray(dcr_train, dtype=float), "to nearest training patient", TRAINING_COLOUR)]
    if dcr_holdout is not None:
        series.append((np.asarray(dcr_holdout, dtype=float), "to nearest holdout patient", HOLDOUT_COLOUR))
    pooled = np.concatenate([values for values, _, _ in series])
    if not np.isfinite(pooled).any():
        raise HGymError("There are no distances to plot; the DCR needs at least one synthetic "
                        "and one real patient.")
    edges = np.linspace(0.0, max(float(np.nanmax(pooled)), 1e-9), bins + 1)
    drawn = figure()
    for values, name, colour in series:
        drawn.add_trace(step_histogram(edges, histogram_shares(values, edges), name, colour))
    drawn.update_layout(title="Distance to closest record (DCR) of each synthetic patient",
                        xaxis_title="distance (0 = identical patient, 1 = nothing in common)",
                        yaxis=dict(title="share of synthetic patients", tickformat=".0%"))
    return drawn
