"""The router: every page opens through app.py (sidebar drawn, settings kept across page switches)."""

from __future__ import annotations

import pytest

from tests._pages import folders, open_app, texts  # noqa: F401 - fixture

PAGES = {"data": "Data", "train": "Train", "compare": "Compare", "generate": "Generate", "runs": "Runs"}


@pytest.mark.parametrize("page", PAGES)
def test_every_page_opens_through_the_router_with_the_sidebar(folders, page):
    at = open_app(page)
    assert [t.value for t in at.title] == [PAGES[page]]
    sidebar = texts(at.sidebar.markdown)
    assert "Current data" in sidebar and "Current run" in sidebar and "Training job" in sidebar
    assert "40 patients" in texts(at.sidebar.caption)


def test_settings_survive_a_page_switch(folders):
    at = open_app("train")
    at.number_input(key="train.epochs").set_value(7).run()
    at.switch_page("pages/runs.py").run()
    at.switch_page("pages/train.py").run()
    assert at.number_input(key="train.epochs").value == 7
