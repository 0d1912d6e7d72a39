"""The Train page's training curves: six panels in three chart elements, curriculum changes marked, and a
chart spec that stays the same while a run trains (Streamlit then updates the rows of its view)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from hgym_core.gan.events import METRIC_COLUMNS
from pages._live import MAX_LABELS, MAX_POINTS, PANELS, SERIES_NAMES, _charts


def history(steps: int, lengths: list[int]) -> dict[str, list[float]]:
    """``steps`` generator steps that cycle through ``lengths``, ten steps per length."""
    rng = np.random.default_rng(0)
    values = {column: rng.normal(size=steps).tolist() for column in METRIC_COLUMNS}
    values["step"] = list(range(1, steps + 1))
    values["length"] = [lengths[(i // 10) % len(lengths)] for i in range(steps)]
    return values


def layer_marks(panel: dict) -> list[str]:
    return [layer["mark"]["type"] for layer in panel["layer"]]


def test_six_panels_come_as_three_charts_each_with_the_data_of_its_two_panels():
    charts = _charts(history(5000, [10, 20]))
    assert len(charts) == 3
    titles = [panel["title"]["text"] for _, spec in charts for panel in spec["vconcat"]]
    assert sorted(titles) == sorted(title for title, _ in PANELS)
    for data, spec in charts:
        for panel in spec["vconcat"]:
            shown = panel["layer"][0]["transform"][0]["fold"]
            for name in shown:   # each series of the panel is a column of the chart's data, downsampled
                assert 0 < data[name].notna().sum() <= MAX_POINTS
    drawn = {column for data, _ in charts for column in data.columns} - {"step", "rule", "label"}
    assert drawn == set(SERIES_NAMES.values())


def marks(charts) -> pd.DataFrame:
    data, _ = charts[0]
    return data[data["rule"].notna()]


def test_curriculum_changes_are_labelled_until_the_labels_would_run_into_each_other():
    few = marks(_charts(history(40, [10, 20])))            # 3 changes after the start
    many = marks(_charts(history(200, [10, 20])))          # 19 changes
    assert list(few["rule"]) == ["L=10", "L=20", "L=10", "L=20"] and list(few["label"]) == list(few["rule"])
    assert len(many) > MAX_LABELS and many["label"].isna().all()   # rules (with a tooltip) only
    assert marks(_charts(history(400, [10, 20]))).empty             # 39 changes: no rules at all
    [rules] = [layer for layer in _charts(history(40, [10, 20]))[0][1]["vconcat"][0]["layer"]
               if layer["mark"]["type"] == "rule"]
    assert rules["encoding"]["tooltip"]["field"] == "rule"


def test_the_spec_stays_the_same_as_the_run_goes_on_and_no_scale_waits_for_data():
    """Streamlit makes a new Vega view whenever the spec changes, and a new view computes its
    scales before Streamlit inserts the rows ("Infinite extent" warnings): so the spec must not
    change with the data (the curriculum marks are rows), and every scale's domain is an expression."""
    early, late = _charts(history(40, [10, 20])), _charts(history(3000, [10, 20, 30]))
    assert [spec for _, spec in early] == [spec for _, spec in late]
    for _, spec in early:
        for panel in spec["vconcat"]:
            for layer in panel["layer"]:
                for channel in ("x", "y"):
                    if channel in layer["encoding"]:
                        assert "expr" in layer["encoding"][channel]["scale"]["domain"], (panel["title"], channel)


def test_the_d_real_d_fake_legend_sits_above_the_plot_not_over_the_curves():
    charts = _charts(history(40, [10, 20]))
    legends = [panel["layer"][0]["encoding"]["color"]["legend"] for _, spec in charts for panel in spec["vconcat"]]
    [legend] = [legend for legend in legends if legend is not None]   # only the two-series panel has one
    assert legend["orient"] == "top"   # outside the plot area; "top-right" and the like sit inside it
