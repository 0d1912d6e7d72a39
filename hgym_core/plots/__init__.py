"""Plotly figures: real vs synthetic patients, privacy distances and training curves.

The dashboard (Compare and Train pages) and the HTML report draw the same figures from here;
nothing in this package imports Streamlit. Every figure is built from summaries — histogram
shares, per-step quantiles, correlation matrices, a few example patients, a decimated loss
history — so its size does not grow with the number of rows: a figure for 8,916 patients x 60
months is as light as one for 50 patients. Statistics the scores also use (Pearson correlations,
point masses, label codes) come from ``hgym_core.evaluation``, so a figure and its score agree.

    comparison    distributions, median bands and category shares over time, dose on/off bands
    correlations  correlation heatmaps
    trajectories  example patients
    privacy       distance to closest record
    training      loss curves, downsampling, curriculum changes

Colours are the Okabe-Ito palette (safe for the common colour-vision deficiencies): real data
is always blue, synthetic data always orange.
"""

from hgym_core.plots._common import (
    CATEGORY_COLOURS, HOLDOUT_COLOUR, MISSING_LABEL, REAL_COLOUR, SYNTHETIC_COLOUR, TEMPLATE, TRAINING_COLOUR,
    histogram_edges, histogram_shares, prefers_log_axis, rows_noun,
)
from hgym_core.plots.comparison import (
    category_share_over_time_figure, category_shares_by_step, distribution_figure, dose_bands_figure,
    dose_like_variables, time_band_figure,
)
from hgym_core.plots.correlations import (
    constant_variables, correlation_columns, correlation_heatmaps_figure, correlation_matrices,
)
from hgym_core.plots.privacy import dcr_histogram_figure
from hgym_core.plots.training import DEFAULT_LOSS_SERIES, curriculum_changes, downsample_indices, loss_figure
from hgym_core.plots.trajectories import measured_rows, trajectories_comparison_figure, trajectories_figure

__all__ = [
    "CATEGORY_COLOURS", "DEFAULT_LOSS_SERIES", "HOLDOUT_COLOUR", "MISSING_LABEL", "REAL_COLOUR",
    "SYNTHETIC_COLOUR", "TEMPLATE", "TRAINING_COLOUR", "category_share_over_time_figure",
    "category_shares_by_step", "constant_variables", "correlation_columns", "correlation_heatmaps_figure",
    "correlation_matrices", "curriculum_changes", "dcr_histogram_figure", "distribution_figure",
    "dose_bands_figure", "dose_like_variables", "downsample_indices", "histogram_edges", "histogram_shares",
    "loss_figure", "measured_rows", "prefers_log_axis", "rows_noun", "time_band_figure", "trajectories_comparison_figure",
    "trajectories_figure",
]
