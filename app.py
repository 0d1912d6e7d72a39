"""Health Gym Studio: the dashboard's entry point (`streamlit run app.py`).

The router only: it names the pages, draws the sidebar every page shares and keeps the
settings a user typed when they switch pages. Each page lives in pages/ and stays thin.
"""

import streamlit as st

st.set_page_config(page_title="Health Gym Studio", page_icon="🩺", layout="wide")

# Each url_path differs from every file name in pages/ (helpers included, without their "_"; nor
# may a helper without its "_" be named like a page: pages/_data.py would clash with pages/data.py):
# until a run has called st.navigation, Streamlit treats a pages/ folder as a legacy multipage
# app and would otherwise run a page file directly, skipping this router (its sidebar and kept
# settings) on a fresh server's first request. That request still gets a "Page not found"
# dialog over the right page when it is a sub-page (tests/e2e/test_deep_links.py); `make run`
# makes a warm-up run as the server starts so users do not meet it. The default page is
# served at the root whatever its url_path.
TRAIN = st.Page("pages/train.py", title="Train", icon=":material/model_training:", url_path="training")
PAGES = [
    st.Page("pages/data.py", title="Data", icon=":material/table_chart:", url_path="dataset", default=True),
    TRAIN,
    st.Page("pages/compare.py", title="Compare", icon=":material/compare:", url_path="comparison"),
    st.Page("pages/generate.py", title="Generate", icon=":material/download:", url_path="generation"),
    st.Page("pages/runs.py", title="Runs", icon=":material/folder_open:", url_path="models"),
]

page = st.navigation(PAGES)
# Imported after st.navigation, which ends the legacy mode above: the warm-up run gets there
# before torch and pandas have loaded (seconds on a cold start).
from pages._sidebar import render_sidebar  # noqa: E402
from pages._server import freeze_imported_objects  # noqa: E402
from pages._session import keep_settings  # noqa: E402

freeze_imported_objects()
keep_settings()
page.run()
render_sidebar(poll_job=page.url_path != TRAIN.url_path)   # the Train page's live panel shows the job
