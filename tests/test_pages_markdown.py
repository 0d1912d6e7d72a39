"""Text from a file (column names, labels, the file's name, problems quoting them) is shown as typed on every
page: never as a link, an image, an emoji or a formula (Streamlit renders most texts as Markdown)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from hgym_core.data.io import table_bytes
from hgym_core.data.schema import Schema
from pages import _compare_work as comparison
from pages._format import plain
from pages._session import Data
from tests._pages import folders, open_app  # noqa: F401 - fixture

IMAGE = "![p](http://127.0.0.1:9999/x.png)"
LINK = "[Session expired - click to log in](http://127.0.0.1:9999/login)"
EMOJI_AND_MATHS = ":red[alert] :material/home: :streamlit: $x^2$"
FILE_NAME = "[cohort](http://127.0.0.1:9999/f).csv"
HTML_LINK = '<a href="http://127.0.0.1:9999/login">Session expired</a>'   # plotly draws this as a link
# Unescaped Markdown that would make a link or an image: "](" or "![" not preceded by a backslash.
ACTIVE_MARKDOWN = re.compile(r"(?<!\\)(\]\(|!\[)|(?<!\\)\$|(?<!\\):(?:red|material|streamlit)")


def hostile_table(n_patients: int = 12, steps: int = 6) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    values = rng.gamma(2.0, 50.0, n_patients * steps).round(1).astype(object)
    values[3] = LINK   # a stray text cell: the checks quote it
    return pd.DataFrame({"PatientID": np.repeat(np.arange(n_patients), steps),
                         "Timestep": np.tile(np.arange(steps), n_patients), IMAGE: values,
                         "status": rng.choice([LINK, EMOJI_AND_MATHS], n_patients * steps),
                         HTML_LINK: rng.gamma(3.0, 2.0, n_patients * steps).round(2)})


def markdown_texts(at) -> list[str]:
    """Every text the page renders as Markdown: texts, captions, alerts, headings, and the sidebar's."""
    kinds = ("markdown", "caption", "error", "warning", "success", "info", "title", "header", "subheader")
    return [str(element.value) for kind in kinds for element in getattr(at, kind)]


@pytest.mark.parametrize("page", ["data", "train", "runs"])
def test_names_labels_and_problems_from_a_file_are_shown_as_typed(folders, page):
    at = open_app()
    at.file_uploader(key=Data.upload.key).set_value((FILE_NAME, table_bytes(hostile_table(), "x.csv"),
                                                     "text/csv")).run()
    if page != "data":
        at.switch_page(f"pages/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    shown = markdown_texts(at)
    assert not [text for text in shown if ACTIVE_MARKDOWN.search(text)], "Markdown from the file reached the page"
    everything = "\n".join(shown)
    assert plain(FILE_NAME) in everything                              # the file's name, escaped
    if page == "data":
        assert f"**{plain(IMAGE)}** (numeric)" in everything            # the column, in the schema line
        assert plain(f"Column '{IMAGE}' is numeric in the schema but holds text in 1 row(s): '{LINK}'") in everything
        at.multiselect(key=at.multiselect[0].key).set_value([HTML_LINK]).run()
        [chart] = at.get("plotly_chart")
        assert "<a href" not in chart.proto.spec and "&lt;a href=" in chart.proto.spec   # the title, as typed


def strings(value) -> list[str]:
    """Every text in a figure's plotly JSON, its template left out."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for name, item in value.items() if name != "template" for text in strings(item)]
    if isinstance(value, (list, tuple, np.ndarray)):
        return [text for item in value for text in strings(item)]
    return []


def test_compare_figures_draw_names_and_labels_from_the_data_as_typed():
    table = hostile_table().drop(columns=[IMAGE])   # the stray text cell would stop the numeric figures
    table["status"] = table["status"].where(table.index % 3 > 0, HTML_LINK)   # a label too
    texts_drawn = [text for figure in comparison.figures(table, table, Schema.infer(table)).values()
                   for text in strings(figure.to_plotly_json())]
    assert not [text for text in texts_drawn if "<a " in text]
    assert any("&lt;a href=" in text for text in texts_drawn)   # the column and the label, as entities


def test_plain_escapes_what_streamlit_would_render_and_nothing_else():
    assert plain(IMAGE) == "!\\[p\\](http\\:\u2060//127.0.0.1\\:9999/x.png)"
    assert plain("a -> b") == "a -\u2060> b" and plain(":streamlit:") == "\\:\u2060streamlit\\:"
    assert plain("me@example.com www.example.com") == "me@\u2060example.com www\u2060.example.com"
    assert plain("- one\n# two\n1. three") == "\\- one  \n\\# two  \n1\\. three"   # only at a line's start
    assert plain("tiny-run (40 patients, 3.5 mg) #2") == "tiny-run (40 patients, 3.5 mg) #2"
