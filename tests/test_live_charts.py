"""The Train page's training curves: six panels in three chart elements, curriculum changes marked."""

from __future__ import annotations

import numpy as np

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
            shown = panel["layer"][0]["transform"][0]["filter"]["oneOf"]
            for name in shown:   # each series of the panel is in the chart's data, downsampled
                assert 0 < (data["series"] == name).sum() <= MAX_POINTS
    drawn = {name for data, _ in charts for name in data["series"].unique()}
    assert drawn == set(SERIES_NAMES.values())


def test_curriculum_changes_are_labelled_until_the_labels_would_run_into_each_other():
    few = _charts(history(40, [10, 20]))            # 3 changes after the start
    many = _charts(history(200, [10, 20]))          # 19 changes
    assert all(layer_marks(panel) == ["line", "rule", "text"] for _, spec in few for panel in spec["vconcat"])
    assert all(layer_marks(panel) == ["line", "rule"] for _, spec in many for panel in spec["vconcat"])
    rules = many[0][1]["vconcat"][0]["layer"][1]
    assert len(rules["data"]["values"]) > MAX_LABELS and rules["encoding"]["tooltip"]["field"] == "label"


def test_the_d_real_d_fake_legend_sits_above_the_plot_not_over_the_curves():
    charts = _charts(history(40, [10, 20]))
    legends = [panel["layer"][0]["encoding"]["color"]["legend"] for _, spec in charts for panel in spec["vconcat"]]
    [legend] = [legend for legend in legends if legend is not None]   # only the two-series panel has one
    assert legend["orient"] == "top"   # outside the plot area; "top-right" and the like sit inside it
