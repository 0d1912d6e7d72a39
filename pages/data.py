"""Data page: load the built-in cohort or an upload, edit the schema, see the checks, summary and patients."""

from __future__ import annotations

from dataclasses import replace

import streamlit as st

from hgym_core import plots
from hgym_core.errors import HGymError
from hgym_core.data.schema import KINDS, TIME_MODES, TRANSFORMS, Schema
from pages import _format as fmt
from pages import _state as state
from pages._schema_table import schema_to_table, table_to_schema
from pages._summary import table_summary

MESSAGE = "data_message"    # (kind, text) of the last load or schema action, shown once where it happened


def _say(kind: str, text: str, where: str) -> None:
    st.session_state[MESSAGE] = (kind, text, where)


def _show_message(where: str) -> None:
    kind, text, origin = st.session_state.get(MESSAGE, (None, None, None))
    if origin == where and text:
        getattr(st, kind)(text)


# --------------------------------------------------------------------------- actions (callbacks)

def _load_demo() -> None:
    n_patients, seed = st.session_state["data.demo_patients"], st.session_state["data.demo_seed"]
    state.set_dataset(state.demo_dataset(n_patients, seed))
    _say("success", f"Loaded the built-in HIV cohort: {n_patients:,} patients, seed {seed}.", "demo")


def _take_upload() -> None:
    uploaded = st.session_state.get("data_upload")
    if uploaded is None:
        return
    previous = state.current_dataset().name
    try:
        dataset = state.accept_upload(uploaded.getvalue(), uploaded.name)
    except HGymError as problem:
        _say("error", f"**{uploaded.name} was not loaded.** {problem}\n\nThe previous data "
                      f"(**{previous}**) is still in place.", "upload")
        return
    state.set_dataset(dataset)
    _say("success", f"Loaded {uploaded.name}: {dataset.n_patients:,} patients, {len(dataset.frame):,} rows. "
                    "It is kept for later sessions too.", "upload")


def _load_saved() -> None:
    path = st.session_state["data.saved_upload"]
    try:
        state.set_dataset(state.load_saved_upload(path))
    except HGymError as problem:
        _say("error", str(problem), "saved")
        return
    _say("success", f"Loaded {state.upload_label(path)}.", "saved")


def _repick_columns(token: str) -> None:
    dataset = state.current_dataset()
    id_column, time_column = st.session_state[f"{token}.id"], st.session_state[f"{token}.time"]
    try:
        schema = Schema.infer(dataset.frame, id_column=id_column, time_column=time_column)
    except HGymError as problem:
        _say("error", str(problem), "schema")
        return
    _use_schema(schema, f"Schema inferred again with id '{id_column}' and time '{time_column}'.")


def _set_time_mode(token: str) -> None:
    schema = state.current_dataset().schema
    _use_schema(replace(schema, time_mode=st.session_state[f"{token}.mode"]), None)


def _take_schema_json() -> None:
    uploaded = st.session_state.get("data_schema_upload")
    if uploaded is None:
        return
    dataset = state.current_dataset()
    try:
        schema = Schema.from_json(uploaded.getvalue().decode("utf-8", errors="replace"))
        missing = [c for c in schema.columns if c not in dataset.frame.columns]
        if missing:
            raise HGymError(f"The schema names column(s) {missing} that the current data lacks; its columns are "
                            f"{list(dataset.frame.columns)}. Load matching data first or fix the schema.")
    except HGymError as problem:
        _say("error", f"**{uploaded.name} was not used.** {problem}", "schema")
        return
    _use_schema(schema, f"Schema loaded from {uploaded.name}.")


def _use_schema(schema: Schema, note: str | None, kind: str = "success") -> None:
    """Make ``schema`` current; the schema widgets restart from it (their keys carry a version)."""
    state.set_schema(schema)
    st.session_state["schema_version"] = st.session_state.get("schema_version", 0) + 1
    if note:
        _say(kind, note, "schema")
    else:
        st.session_state.pop(MESSAGE, None)


# --------------------------------------------------------------------------- page

st.title("Data")
dataset = state.current_dataset()
st.markdown(f"Working on **{dataset.name}**: {dataset.n_patients:,} patients, {len(dataset.frame):,} rows "
            "(one row per patient per time step).")

demo_box, upload_box, saved_box = st.columns(3)
with demo_box.container(border=True):
    st.subheader("Built-in HIV cohort")
    st.caption("Simulated people on antiretroviral therapy, 60 months each, in the Health Gym schema. "
               "Simulated, not patient data.")
    st.session_state.setdefault("data.demo_patients", state.DEMO_PATIENTS)
    st.session_state.setdefault("data.demo_seed", state.DEMO_SEED)
    st.number_input("Patients", min_value=10, max_value=100_000, step=100, key="data.demo_patients")
    st.number_input("Seed", min_value=0, max_value=2**31 - 1, step=1, key="data.demo_seed")
    st.button("Load built-in cohort", on_click=_load_demo)
    _show_message("demo")

with upload_box.container(border=True):
    st.subheader("Upload a table")
    st.file_uploader("CSV, CSV.gz or Parquet: one row per patient per time step, a patient id and a time column",
                     type=["csv", "gz", "parquet", "pq"], key="data_upload", on_change=_take_upload)
    _show_message("upload")

with saved_box.container(border=True):
    st.subheader("Earlier uploads")
    saved = state.saved_uploads()
    if saved:
        if st.session_state.get("data.saved_upload") not in saved:
            st.session_state["data.saved_upload"] = saved[0]
        st.selectbox("Upload kept on this machine", saved, format_func=state.upload_label, key="data.saved_upload")
        st.button("Load this upload", on_click=_load_saved)
    else:
        st.caption(f"Uploads you load are kept in {state.data_dir()} and listed here.")
    _show_message("saved")

# ---- schema
st.header("Schema")
schema = dataset.schema
version = st.session_state.get("schema_version", 0)
token = f"schema.{dataset.token}.{version}"
st.markdown(f"Patient id **{schema.id_column}** · time **{schema.time_column}** ({schema.time_mode}) · "
            f"{len(schema.variables)} variables: " + " · ".join(f"**{v.name}** ({v.kind})" for v in schema.variables))
columns = list(dataset.frame.columns)
pick_id, pick_time, pick_mode = st.columns(3)
pick_id.selectbox("Patient id column", columns, index=columns.index(schema.id_column), key=f"{token}.id",
                  on_change=_repick_columns, args=(token,))
pick_time.selectbox("Time column", columns, index=columns.index(schema.time_column), key=f"{token}.time",
                    on_change=_repick_columns, args=(token,))
pick_mode.selectbox("Time mode", TIME_MODES, index=TIME_MODES.index(schema.time_mode), key=f"{token}.mode",
                    on_change=_set_time_mode, args=(token,),
                    help="step: time counts 0, 1, 2, … for every patient. irregular: time is a number such as "
                         "days, and the gaps between visits are learned too.")
_show_message("schema")

editor, checks = st.columns([5, 2])
with editor:
    table = schema_to_table(schema)
    edited = st.data_editor(
        table, key=f"{token}.editor", hide_index=True, num_rows="fixed", disabled=["variable"], width="stretch",
        height=fmt.table_height(len(table)),
        column_config={
            "variable": st.column_config.TextColumn("Variable", help="The column's name in the table"),
            "kind": st.column_config.SelectboxColumn("Kind", options=KINDS, required=True, width="small",
                                                     help="numeric, binary (2 labels) or categorical"),
            "static": st.column_config.CheckboxColumn("Static", width="small",
                                                      help="Constant within a patient (e.g. Gender)"),
            "transform": st.column_config.SelectboxColumn(
                "Transform", options=TRANSFORMS, required=False, width="small",   # blank for labels
                help="Numeric only: boxcox (Health Gym's), minmax or log, before scaling to [0, 1]; "
                     "blank for binary and categorical variables"),
            "points": st.column_config.TextColumn(
                "Point values", width="small",
                help="Numeric only: exact values that hold many rows (a dose of 0, a set rate), separated by "
                     "commas; synthetic values land on them exactly. Empty: none"),
            "held": st.column_config.CheckboxColumn(
                "Held", width="small", help="Numeric only: the value is held until changed (a regimen, an infusion "
                                            "rate); synthetic patients repeat it exactly between changes"),
            "min": st.column_config.NumberColumn("Min", width="small",
                                                 help="Numeric only: synthetic values never go below it "
                                                      "(empty: the smallest value in the data)"),
            "max": st.column_config.NumberColumn("Max", width="small",
                                                 help="Numeric only: synthetic values never go above it "
                                                      "(empty: the largest value in the data)"),
            "unit": st.column_config.TextColumn("Unit", width="small", help="Shown on axes only"),
            "categories": st.column_config.TextColumn(
                "Categories", width="large",
                help="Binary/categorical: the labels in order, separated by commas (empty = the table's labels)"),
        })
    if not edited.equals(table):   # an edit: it becomes the schema, and the editor restarts from it
        try:
            _use_schema(table_to_schema(edited, schema, dataset.frame), None)
        except HGymError as problem:
            _use_schema(schema, f"That edit was not applied: {problem}", kind="error")
        st.rerun()
    schema_json = schema.to_json()
    download, upload = st.columns(2)
    download.download_button("Download schema JSON", schema_json, file_name="schema.json",
                             mime="application/json", on_click="ignore")
    upload.file_uploader("Upload schema JSON", type=["json"], key="data_schema_upload",
                         on_change=_take_schema_json)

with checks:
    st.subheader("Checks")
    found = state.problems(dataset)
    errors = state.blocking(found)
    if errors:
        st.error(f"{len(errors)} problem(s) block training until they are fixed (edit the schema or the data).")
    else:
        st.success("The table fits the schema: ready to train.")
    for problem in found:
        (st.error if problem.severity == "error" else st.warning)(problem.message)

# ---- summary
st.header("Summary")
counts, numeric, labelled = table_summary(dataset.token, schema_json, dataset.frame)
for box, (label, value) in zip(st.columns(len(counts)), counts.items()):
    box.metric(label.capitalize(), f"{value:,.0f}" if label != "median steps" else f"{value:g}")
missing = st.column_config.NumberColumn("missing", format="percent", help="Share of rows with no value")
if len(numeric):
    st.dataframe(numeric, hide_index=True, width="stretch", height=fmt.table_height(len(numeric)), column_config={
        "missing": missing, **{name: st.column_config.NumberColumn(name, format="%.4g")
                               for name in ("mean", "sd", "min", "q25", "median", "q75", "max")}})
if len(labelled):
    st.dataframe(labelled, hide_index=True, width="stretch", height=fmt.table_height(len(labelled)),
                 column_config={"missing": missing,
                                "shares": st.column_config.TextColumn("shares of rows", width="large")})

# ---- trajectories
st.header("Patient trajectories")
ids = dataset.frame[schema.id_column].drop_duplicates().tolist()
pick_patient, pick_variables = st.columns([1, 3])
patient = pick_patient.selectbox("Patient", ids, key=f"patient.{dataset.token}")
default_variables = [v.name for v in schema.variables if v.kind == "numeric"][:3] or schema.names[:3]
chosen = pick_variables.multiselect("Variables", schema.names, default=default_variables,
                                    key=f"trajectory_variables.{token}")
rows = dataset.frame[dataset.frame[schema.id_column] == patient]
for index, variable in enumerate(chosen):
    if index % 2 == 0:
        row = st.columns(2)
    try:
        figure = plots.trajectories_figure(rows, schema, variable, n_patients=1, table=f"patient {patient}")
    except HGymError as problem:   # e.g. text in a numeric column: listed under Checks, not drawable
        row[index % 2].warning(f"**{variable}** is not drawn: {problem}")
        continue
    row[index % 2].plotly_chart(figure, key=f"trajectory.{variable}")
