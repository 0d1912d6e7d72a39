"""Figures compare what they claim to compare, in the schema's terms, and stay light."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hgym_core import plots
from hgym_core.errors import HGymError
from hgym_core.data.schema import Schema, Variable
from hgym_core.evaluation._stats import pearson_matrix
from hgym_core.gan.events import LOSS_SERIES


def small_schema(time_mode: str = "step") -> Schema:
    return Schema("pid", "t", [
        Variable("score", "numeric", unit="mg/L"),
        # Deliberately not alphabetical: figures must follow the schema, not sorting.
        Variable("arm", "categorical", ["placebo", "low", "high"]),
        Variable("flag", "binary", [0, 1]),
    ], time_mode)


def small_table(n_patients: int = 30, n_steps: int = 8, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = n_patients * n_steps
    return pd.DataFrame({
        "pid": np.repeat(np.arange(n_patients), n_steps),
        "t": np.tile(np.arange(n_steps), n_patients),
        "score": rng.normal(10, 2, rows) + np.tile(np.arange(n_steps), n_patients),
        "arm": rng.choice(["placebo", "low", "high"], rows, p=[0.5, 0.3, 0.2]),
        "flag": rng.integers(0, 2, rows),
    })


def histogram_shares(trace) -> np.ndarray:
    """The per-bin shares of a step-line histogram: its y without the closing points at 0."""
    return np.asarray(trace.y)[1:-2]


# --------------------------------------------------------------------------- distributions

def test_numeric_distribution_overlays_shares_on_shared_bins():
    real, synthetic = small_table(seed=0), small_table(seed=1)
    synthetic.loc[::3, "score"] += 50  # a wider synthetic range must widen the shared bins
    real.loc[:9, "score"] = np.nan
    figure = plots.distribution_figure(real, synthetic, small_schema(), "score", bins=20)
    assert [trace.name for trace in figure.data] == ["Real", "Synthetic"]
    real_x, synthetic_x = (np.asarray(trace.x) for trace in figure.data)
    np.testing.assert_array_equal(real_x, synthetic_x)
    pooled = pd.concat([real["score"], synthetic["score"]])
    assert real_x.min() == pytest.approx(pooled.min()) and real_x.max() == pytest.approx(pooled.max())
    for trace in figure.data:  # shares of the non-missing values
        assert histogram_shares(trace).sum() == pytest.approx(1.0)
    assert "mg/L" in figure.layout.title.text and figure.layout.xaxis.type == "linear"


def test_viral_load_gets_a_log_axis_with_log_spaced_bins(hiv_cohort):
    schema = Schema.infer(hiv_cohort)
    synthetic = hiv_cohort.sample(frac=1.0, random_state=1)
    figure = plots.distribution_figure(hiv_cohort, synthetic, schema, "VL")
    assert figure.layout.xaxis.type == "log"
    edges = np.unique(np.asarray(figure.data[0].x))
    np.testing.assert_allclose(edges[1:] / edges[:-1], edges[1] / edges[0])
    assert plots.distribution_figure(hiv_cohort, synthetic, schema, "CD4").layout.xaxis.type == "linear"
    forced = plots.distribution_figure(hiv_cohort, synthetic, schema, "VL", log_x=False)
    assert forced.layout.xaxis.type == "linear"


def test_log_axis_on_values_at_or_below_zero_says_how_many_are_hidden():
    real, synthetic = small_table(seed=0), small_table(seed=1)
    real.loc[:4, "score"] = 0.0
    figure = plots.distribution_figure(real, synthetic, small_schema(), "score", log_x=True)
    assert figure.layout.xaxis.type == "log"
    assert "5 values ≤ 0" in figure.layout.annotations[0].text


def test_categorical_bars_follow_schema_order_then_unexpected_then_missing():
    real, synthetic = small_table(seed=0), small_table(seed=1)
    synthetic.loc[:5, "arm"] = "surgery"   # not in the schema
    synthetic.loc[6:7, "arm"] = None
    figure = plots.distribution_figure(real, synthetic, small_schema(), "arm")
    order = ["placebo", "low", "high", "surgery", plots.MISSING_LABEL]
    assert [trace.type for trace in figure.data] == ["bar", "bar"]
    assert list(figure.data[0].x) == order and list(figure.layout.xaxis.categoryarray) == order
    expected = synthetic["arm"].fillna(plots.MISSING_LABEL).value_counts(normalize=True).reindex(order)
    np.testing.assert_allclose(figure.data[1].y, expected.to_numpy())
    assert figure.data[0].y[3] == 0 and figure.data[0].y[4] == 0


def test_share_axes_name_what_a_row_is():
    real, synthetic = small_table(seed=0), small_table(seed=1)
    steps = plots.distribution_figure(real, synthetic, small_schema(), "arm")
    assert steps.layout.yaxis.title.text == "share of patient-steps"
    irregular = plots.distribution_figure(real, synthetic, small_schema("irregular"), "arm")
    assert irregular.layout.yaxis.title.text == "share of visits" and "share of visits" in irregular.layout.title.text
    monthly = Schema("pid", "Month", small_schema().variables)
    renamed = [df.rename(columns={"t": "Month"}) for df in (real, synthetic)]
    assert plots.distribution_figure(*renamed, monthly, "arm").layout.yaxis.title.text == "share of patient-months"
    heatmaps = plots.correlation_heatmaps_figure(real, synthetic, small_schema("irregular"))
    assert "over visits" in heatmaps.layout.title.text


def test_binary_codes_match_after_a_csv_round_trip_turned_them_into_floats():
    real, synthetic = small_table(seed=0), small_table(seed=1)
    synthetic["flag"] = synthetic["flag"].astype(float)
    synthetic.loc[0, "flag"] = np.nan
    figure = plots.distribution_figure(real, synthetic, small_schema(), "flag")
    assert list(figure.data[1].x) == ["0", "1", plots.MISSING_LABEL]
    assert figure.data[1].y[0] + figure.data[1].y[1] == pytest.approx(1 - 1 / len(synthetic))


def test_missing_and_unknown_variables_raise_clear_errors():
    real, synthetic = small_table(), small_table().drop(columns="score")
    with pytest.raises(HGymError, match="'score' is missing from the synthetic table"):
        plots.distribution_figure(real, synthetic, small_schema(), "score")
    with pytest.raises(HGymError, match="no variable 'weight'.*'score', 'arm', 'flag'"):
        plots.distribution_figure(real, real, small_schema(), "weight")
    text = small_table().astype({"score": object})
    text.loc[3, "score"] = "high"
    with pytest.raises(HGymError, match="'score' of the synthetic table .* 'high'"):
        plots.distribution_figure(real, text, small_schema(), "score")


def test_figure_size_does_not_grow_with_the_number_of_rows():
    schema = small_schema()
    small = plots.distribution_figure(small_table(20), small_table(20, seed=1), schema, "score")
    large = plots.distribution_figure(small_table(2000), small_table(2000, seed=1), schema, "score")
    assert [len(t.x) for t in small.data] == [len(t.x) for t in large.data]
    band = plots.time_band_figure(small_table(2000), small_table(2000, seed=1), schema, "score")
    assert all(len(trace.x) == 8 for trace in band.data)


# --------------------------------------------------------------------------- over time

def test_time_bands_draw_each_steps_median_and_quartiles():
    real, synthetic = small_table(seed=0), small_table(seed=1)
    figure = plots.time_band_figure(real, synthetic, small_schema(), "score")
    assert len(figure.data) == 6  # per table: upper edge, lower edge (filled band), median
    real_median = next(t for t in figure.data if t.name == "Real median")
    np.testing.assert_allclose(real_median.y, real.groupby("t")["score"].median().to_numpy())
    real_band = next(t for t in figure.data if t.name == "Real inter-quartile band")
    np.testing.assert_allclose(real_band.y, real.groupby("t")["score"].quantile(0.25).to_numpy())
    with pytest.raises(HGymError, match="use category_share_over_time_figure"):
        plots.time_band_figure(real, synthetic, small_schema(), "arm")


def test_time_bands_leave_out_steps_with_too_few_patients():
    real = small_table(n_patients=30)
    real = real[(real["t"] < 5) | (real["pid"] < 3)]  # variable length: only 3 patients reach step 5+
    figure = plots.time_band_figure(real, small_table(), small_schema(), "score", min_patients=5)
    assert list(figure.data[2].x) == [0, 1, 2, 3, 4]
    assert list(figure.data[5].x) == list(range(8))


def test_irregular_time_is_summarised_by_visit_number():
    real = small_table(n_patients=10, n_steps=4)
    real["t"] = real["t"] * 7 + real["pid"]  # days, different for every patient
    figure = plots.time_band_figure(real, real, small_schema("irregular"), "score", min_patients=1)
    assert list(figure.data[2].x) == [0, 1, 2, 3]
    assert "visit number" in figure.layout.xaxis.title.text


def test_category_shares_over_time_sum_to_one_per_step_in_schema_order():
    real, synthetic = small_table(seed=0), small_table(seed=1)
    synthetic["arm"] = synthetic["arm"].replace("high", "low")
    figure = plots.category_share_over_time_figure(real, synthetic, small_schema(), "arm")
    assert [t.name for t in figure.data] == ["placebo", "low", "high"] * 2
    assert [t.showlegend for t in figure.data] == [True] * 3 + [False] * 3
    real_total = np.sum([np.asarray(t.y) for t in figure.data[:3]], axis=0)
    np.testing.assert_allclose(real_total, 1.0)
    assert np.all(np.asarray(figure.data[5].y) == 0)  # synthetic never has "high"
    shares = plots.category_shares_by_step(real, small_schema(), "arm", "real")
    expected = pd.crosstab(real["t"], real["arm"], normalize="index")["low"].to_numpy()
    np.testing.assert_allclose(shares["low"].to_numpy(), expected)


# --------------------------------------------------------------------------- correlations

def test_correlation_heatmaps_share_one_colour_scale_and_difference():
    real, synthetic = small_table(seed=0), small_table(seed=1)
    figure = plots.correlation_heatmaps_figure(real, synthetic, small_schema())
    assert [t.type for t in figure.data] == ["heatmap"] * 3
    assert {t.coloraxis for t in figure.data} == {"coloraxis"}
    assert (figure.layout.coloraxis.cmin, figure.layout.coloraxis.cmax) == (-1, 1)
    labels = list(figure.data[0].x)
    assert labels == ["score", "arm = placebo", "arm = low", "arm = high", "flag = 1"]
    real_z, synthetic_z, difference = (np.asarray(t.z, dtype=float) for t in figure.data)
    np.testing.assert_allclose(difference, synthetic_z - real_z)
    np.testing.assert_allclose(real_z[0, 4], real["score"].corr(real["flag"].astype(float)))
    assert "one-hot" in figure.layout.title.text
    coded = plots.correlation_heatmaps_figure(real, synthetic, small_schema(), one_hot=False)
    assert list(coded.data[0].x) == ["score", "arm (code)", "flag = 1"]


def test_a_constant_synthetic_column_is_drawn_as_the_score_sees_it_not_left_blank():
    real, synthetic = small_table(seed=0), small_table(seed=1)
    synthetic["flag"] = 0                       # collapsed: every synthetic row has flag 0
    synthetic["arm"] = "low"
    figure = plots.correlation_heatmaps_figure(real, synthetic, small_schema())
    real_z, synthetic_z, _ = (np.asarray(t.z, dtype=float) for t in figure.data)
    assert np.isfinite(synthetic_z).all()       # pandas' corr() (the old heatmap) leaves these cells blank
    columns = plots.correlation_columns(synthetic, small_schema(), "synthetic")
    np.testing.assert_allclose(synthetic_z, pearson_matrix(columns.to_numpy(dtype=float)))
    assert (synthetic_z[0, 1:] == 0).all()
    note = [a.text for a in figure.layout.annotations if "one value in every" in a.text]
    assert note == ["one value in every synthetic row: arm, flag — drawn as ρ = 0; the score counts each of "
                    "their pairs as |Δρ| = 1"]
    assert plots.constant_variables(synthetic, small_schema(), "synthetic") == ["arm", "flag"]


# --------------------------------------------------------------------------- doses

def dosed_table(n_patients: int = 40, seed: int = 0, zero_share: float = 0.6) -> pd.DataFrame:
    table = small_table(n_patients, seed=seed)
    rng = np.random.default_rng(seed)
    table["score"] = np.where(rng.random(len(table)) < zero_share, 0.0, rng.choice([5.0, 10.0], len(table)))
    return table


def test_dose_like_variables_get_on_off_bands_per_step():
    real, synthetic = dosed_table(seed=0), dosed_table(seed=1, zero_share=0.2)
    schema = small_schema()
    assert plots.dose_like_variables(real, schema) == ["score"]
    assert plots.dose_like_variables(small_table(), schema) == []          # continuous: no point mass
    figure = plots.dose_bands_figure(real, synthetic, schema, "score")
    assert [t.name for t in figure.data] == ["Real: on", "Synthetic: on"]
    for trace, table in zip(figure.data, (real, synthetic)):
        expected = (table["score"] != 0).groupby(table["t"]).mean()
        np.testing.assert_array_equal(trace.x, expected.index)
        np.testing.assert_allclose(trace.y, expected.to_numpy())
    assert "share of patients on (≠ 0)" in figure.layout.title.text
    with pytest.raises(HGymError, match="on/off bands are for numeric"):
        plots.dose_bands_figure(real, synthetic, schema, "arm")


# --------------------------------------------------------------------------- trajectories

def test_trajectories_show_the_requested_patients_reproducibly():
    table, schema = small_table(), small_schema()
    figure = plots.trajectories_figure(table, schema, "score", n_patients=4, seed=3)
    assert len(figure.data) == 4
    again = plots.trajectories_figure(table, schema, "score", n_patients=4, seed=3)
    assert [t.name for t in figure.data] == [t.name for t in again.data]
    other = plots.trajectories_figure(table, schema, "score", n_patients=4, seed=4)
    assert [t.name for t in figure.data] != [t.name for t in other.data]
    patient = int(figure.data[0].name.split()[-1])
    np.testing.assert_allclose(figure.data[0].y, table.loc[table["pid"] == patient, "score"])
    assert len(plots.trajectories_figure(table, schema, "score", n_patients=100).data) == 30


def test_a_trajectory_marks_measured_values_apart_from_carried_ones_and_takes_a_fixed_axis():
    table = pd.DataFrame({"pid": [1] * 6 + [2] * 3, "t": [0, 1, 2, 3, 4, 5, 0, 1, 2],
                          "VL": [40.0, 40, 900, 900, 900, 900, 50, 50, 60],
                          "VL (M)": [1, 0, 1, 0, 1, 0, 1, 0, 0]})   # month 4: measured, the same value again
    schema = Schema("pid", "t", [Variable("VL", "numeric"), Variable("VL (M)", "binary", [0, 1])])
    np.testing.assert_array_equal(plots.measured_rows(table, schema, "VL"),
                                  [True, False, True, False, True, False, True, False, True])
    figure = plots.trajectories_figure(table, schema, "VL", n_patients=2, mark_measured=True, log_y=True)
    assert list(figure.data[0].marker.symbol) == ["circle", "circle-open", "circle", "circle-open", "circle",
                                                  "circle-open"]
    assert list(figure.data[1].marker.symbol) == ["circle", "circle-open", "circle"]   # no flag set: it changed
    assert figure.layout.yaxis.type == "log"   # fixed, though these few values alone would get a linear axis
    assert plots.trajectories_figure(table, schema, "VL", n_patients=2).layout.yaxis.type == "linear"
    assert plots.trajectories_figure(table, schema, "VL", n_patients=2).data[0].marker.symbol is None


def test_trajectory_comparison_puts_real_and_synthetic_side_by_side():
    real, synthetic = small_table(seed=0), small_table(seed=1)
    figure = plots.trajectories_comparison_figure(real, synthetic, small_schema(), "arm", n_patients=3)
    colours = [t.line.color for t in figure.data]
    assert colours == [plots.REAL_COLOUR] * 3 + [plots.SYNTHETIC_COLOUR] * 3
    assert {t.xaxis for t in figure.data[3:]} == {"x2"}
    assert list(figure.layout.yaxis.categoryarray) == ["placebo", "low", "high"]


# --------------------------------------------------------------------------- privacy

def test_dcr_histogram_overlays_training_and_holdout_distances_from_zero():
    train = np.r_[np.zeros(10), np.linspace(0.1, 0.5, 90)]  # ten exact copies
    holdout = np.linspace(0.1, 0.6, 100)
    figure = plots.dcr_histogram_figure(train, holdout, bins=10)
    assert [t.name for t in figure.data] == ["to nearest training patient", "to nearest holdout patient"]
    assert figure.data[0].x[0] == 0
    assert histogram_shares(figure.data[0])[0] > histogram_shares(figure.data[1])[0]
    assert len(plots.dcr_histogram_figure(train).data) == 1
    with pytest.raises(HGymError, match="no distances"):
        plots.dcr_histogram_figure([])


# --------------------------------------------------------------------------- training curves

def training_history(epochs: int = 3, steps_per_length: int = 400, seed: int = 0) -> pd.DataFrame:
    lengths = np.repeat(np.tile([10, 20, 30, 40, 50, 60], epochs), steps_per_length)
    rng = np.random.default_rng(seed)
    n = len(lengths)
    return pd.DataFrame({
        "step": np.arange(n), "epoch": np.repeat(np.arange(epochs), 6 * steps_per_length),
        "length": lengths, "d_real": rng.normal(size=n), "d_fake": rng.normal(size=n),
        "w": rng.normal(size=n) + lengths / 10, "gp": rng.random(n), "d_loss": rng.normal(size=n),
        "g_loss": rng.normal(size=n), "corr": rng.random(n),
    })


def test_loss_curves_are_downsampled_but_keep_ends_spikes_and_curriculum_markers():
    history = training_history()
    history.loc[1234, "d_loss"] = 99.0  # a spike a stride would likely skip
    figure = plots.loss_figure(history, max_points=300)
    assert all(len(trace.x) <= 300 for trace in figure.data)
    d_loss = figure.data[0]
    assert d_loss.x[0] == 0 and d_loss.x[-1] == len(history) - 1 and 99.0 in d_loss.y
    change_steps = history["step"][history["length"].diff().fillna(0) != 0].tolist()
    assert sorted(shape.x0 for shape in figure.layout.shapes) == change_steps
    labels = [a.text for a in figure.layout.annotations if a.text.startswith("L=")]
    assert labels[:7] == ["L=10", "L=20", "L=30", "L=40", "L=50", "L=60", "L=10"]
    length_panel = figure.data[-1]
    assert length_panel.name == "L" and set(change_steps) <= set(length_panel.x)


def test_long_runs_drop_the_lines_but_the_length_panel_keeps_the_saw_tooth():
    history = training_history(epochs=20, steps_per_length=10)  # 119 changes
    figure = plots.loss_figure(history, series=["w"], max_points=1000, max_markers=36)
    assert len(figure.layout.shapes) == 0
    length_panel = figure.data[-1]
    assert list(np.unique(length_panel.y)) == [10, 20, 30, 40, 50, 60]
    assert len(length_panel.x) == 2 * 120  # first and last step of every segment


def test_loss_figure_reports_non_finite_values_and_bad_series():
    history = training_history(epochs=1, steps_per_length=5)
    history.loc[20:, "g_loss"] = np.nan
    figure = plots.loss_figure(history, series=["g_loss"])
    assert len(figure.data[0].x) == 20
    assert "10 non-finite values from step 20" in figure.layout.annotations[0].text
    with pytest.raises(HGymError, match="'loss'.*choose from"):
        plots.loss_figure(history, series=["loss"])
    empty = plots.loss_figure({name: [] for name in history.columns})
    assert "No training steps" in empty.layout.annotations[0].text
    as_dict = plots.loss_figure(history.to_dict(orient="list"), series=["w"])
    assert len(as_dict.data[0].x) == 30


def test_loss_panels_take_their_titles_from_the_one_table_of_series_names():
    figure = plots.loss_figure(training_history(epochs=1, steps_per_length=5), series=["w", "d_real", "gp"])
    titles = [a.text for a in figure.layout.annotations[:3]]
    assert titles == [LOSS_SERIES[name].title for name in ("w", "d_real", "gp")]


def test_downsample_indices_respects_the_budget_exactly():
    values = np.random.default_rng(0).normal(size=10_001)
    for budget in (4, 5, 100, 2000):
        kept = plots.downsample_indices(values, budget)
        assert len(kept) <= budget and kept[0] == 0 and kept[-1] == 10_000
        assert np.all(np.diff(kept) > 0)
    assert values.argmax() in plots.downsample_indices(values, 100)
    with pytest.raises(HGymError, match="at least 4"):
        plots.downsample_indices(values, 3)


def test_a_static_variable_is_drawn_one_value_per_patient_and_example_patients_share_the_time_axis():
    """Issue 24, items 12 and 13: a static number counted per row weighs long patients more."""
    real, synthetic = small_table(seed=0), small_table(seed=1)
    real["age"] = np.repeat(np.arange(30), 8) + 20.0
    real.loc[real["pid"] == 0, "t"] = np.arange(8) * 10   # a patient of 8 rows, of times up to 70
    synthetic["age"] = np.repeat(np.arange(30), 8) + 25.0
    schema = Schema("pid", "t", [*small_schema().variables, Variable("age", "numeric", static=True)], "irregular")
    figure = plots.distribution_figure(real, synthetic, schema, "age", bins=10)
    assert figure.layout.title.text == "age: one value per patient, real vs synthetic"
    assert figure.layout.yaxis.title.text == "share of patients with a value"
    assert histogram_shares(figure.data[0]).sum() == pytest.approx(1.0)
    rows = plots.distribution_figure(real, synthetic, schema, "age", bins=10, per_patient=False)
    assert rows.layout.title.text == "age: real vs synthetic"
    examples = plots.trajectories_comparison_figure(real, synthetic, schema, "score", n_patients=30)
    assert examples.layout.xaxis2.matches == "x"
