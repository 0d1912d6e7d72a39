"""Data page: load the built-in cohort or an upload, edit the schema, see the checks, summary and patients.

Names and labels from a file reach Markdown only through ``plain`` (shown as typed, never as links
or images); select boxes, tables and the editor show text as it is.
"""

from __future__ import annotations

from dataclasses import replace

import streamlit as st

from hgym_core import plots
from hgym_core.data.demo import DEMO_PATIENTS, DEMO_SEED
from hgym_core.data.io import describe_read_as_empty
from hgym_core.data.schema import KINDS, TIME_MODES, TRANSFORMS, Schema
from hgym_core.data.schema_edits import CarriedEdits
from hgym_core.errors import HGymError
from pages import _datasets as data
from pages._figures import column_log_axis, plain_figure
from pages._format import plain, table_height
from pages._paths import data_dir
from pages._schema_table import schema_to_table, table_to_schema
from pages._session import Data
from pages._summary import LONGEST, MEDIAN_STEPS, table_summary

# Widths in pixels that show every header whole beside its edit icon ("Transform" was cut at
# "small"); on a 1400 px wide window the categories, last, scroll into view.
EDITOR_COLUMNS = {
    "variable": st.column_config.TextColumn("Variable", help="The column's name in the table"),
    "kind": st.column_config.SelectboxColumn("Kind", options=KINDS, required=True, width=95,
                                             help="numeric, binary (2 labels) or categorical"),
    "static": st.column_config.CheckboxColumn("Static", width=75, help="Constant within a patient (e.g. Gender)"),
    "transform": st.column_config.SelectboxColumn(
        "Transform", options=TRANSFORMS, required=False, width=105,   # blank for labels
        help="Numeric only: boxcox (Health Gym's), minmax or log, before scaling to [0, 1]; blank for binary and "
             "categorical variables"),
    "points": st.column_config.TextColumn(
        "Point values", width=115,
        help="Numeric only: exact values that hold many rows (a dose of 0, a set rate), separated by commas; "
             "synthetic values land on them exactly. Empty: none"),
    "held": st.column_config.CheckboxColumn(
        "Held", width=70, help="Numeric only: the value is held until changed (a regimen, an infusion rate); "
                               "synthetic patients repeat it exactly between changes"),
    "min": st.column_config.NumberColumn("Min", width=65, help="Numeric only: synthetic values never go below it "
                                                               "(empty: the smallest value in the data)"),
    "max": st.column_config.NumberColumn("Max", width=65, help="Numeric only: synthetic values never go above it "
                                                               "(empty: the largest value in the data)"),
    "unit": st.column_config.TextColumn("Unit", width=80, help="Shown on axes only"),
    "categories": st.column_config.TextColumn(
        "Categories", width="medium",
        help="Binary/categorical: the labels in order, separated by commas. The model and every figure use "
             "this order: type the labels in another order to change it (an ordinal scale: none, mild, "
             "moderate, severe). Empty: the table's labels"),
}


STEPS_HELP = ("Rows per patient over the whole table. The Train page counts the patients a run trains on, "
              "the holdout kept out, so its longest patient can be shorter.")


# --------------------------------------------------------------------------- actions (callbacks)

def _load_demo() -> None:
    n_patients, seed = Data.demo_patients.get(), Data.demo_seed.get()
    data.set_dataset(data.demo_dataset(n_patients, seed))
    Data.message.say("success", f"Loaded the built-in HIV cohort: {n_patients:,} patients, seed {seed}.", "demo")


def _take_upload() -> None:
    uploaded = Data.upload.get()
    if uploaded is None:
        return
    previous = data.current_dataset()
    try:
        dataset = data.accept_upload(uploaded.getvalue(), uploaded.name)
    except HGymError as problem:
        Data.message.say("error", f"**{plain(uploaded.name)} was not loaded.** {plain(problem)}\n\nThe previous "
                                  f"data (**{plain(previous.name)}**) is still in place.", "upload")
        return
    dataset, carried = data.carry_schema_edits(dataset, previous)
    data.set_dataset(dataset)
    text = (f"Loaded {plain(uploaded.name)}: {dataset.n_patients:,} patients, {len(dataset.frame):,} rows. "
            "It is kept for later sessions too.")
    Data.message.say("warning" if carried and carried.dropped else "success",
                     text + (_carried_text(carried, previous.name) if carried else ""), "upload")


def _carried_text(carried: CarriedEdits, earlier: str) -> str:
    """What became of the schema edits made to the earlier upload, in words."""
    lines = []
    if carried.kept:
        edits = "; ".join(f"{plain(name)} ({', '.join(fields)})" for name, fields in carried.kept.items())
        lines.append(f"Your schema edits of {plain(earlier)} are kept: {edits}.")
    for name, reason in carried.dropped.items():
        lines.append(f"The edit of **{plain(name)}** no longer fits this table, so it has the inferred schema "
                     f"again: {plain(reason)}")
    return "\n\n" + "\n\n".join(lines)


def _load_saved() -> None:
    path = Data.saved_upload.get()
    try:
        data.set_dataset(data.load_saved_upload(path))
    except HGymError as problem:
        Data.message.say("error", plain(problem), "saved")
        return
    Data.message.say("success", f"Loaded {plain(data.upload_label(path))}.", "saved")


def _repick_columns(token: tuple) -> None:
    dataset = data.current_dataset()
    id_column, time_column = Data.schema_widget(*token, "id").get(), Data.schema_widget(*token, "time").get()
    try:
        schema = Schema.infer(dataset.frame, id_column=id_column, time_column=time_column)
    except HGymError as problem:
        Data.message.say("error", plain(problem), "schema")
        return
    _use_schema(schema, f"Schema inferred again with id '{plain(id_column)}' and time '{plain(time_column)}'.")


def _set_time_mode(token: tuple) -> None:
    schema = data.current_dataset().schema
    _use_schema(replace(schema, time_mode=Data.schema_widget(*token, "mode").get()), None)


def _take_schema_json() -> None:
    uploaded = Data.schema_upload.get()
    if uploaded is None:
        return
    dataset = data.current_dataset()
    try:
        schema = Schema.from_json(uploaded.getvalue().decode("utf-8", errors="replace"))
        missing = [c for c in schema.columns if c not in dataset.frame.columns]
        if missing:
            raise HGymError(f"The schema names column(s) {missing} that the current data lacks; its columns are "
                            f"{list(dataset.frame.columns)}. Load matching data first or fix the schema.")
    except HGymError as problem:
        Data.message.say("error", f"**{plain(uploaded.name)} was not used.** {plain(problem)}", "schema")
        return
    _use_schema(schema, f"Schema loaded from {plain(uploaded.name)}.")


def _use_schema(schema: Schema, note: str | None, kind: str = "success") -> None:
    """Make ``schema`` current; the schema widgets restart from it (their keys carry a version)."""
    data.set_schema(schema)
    Data.schema_version.set(Data.schema_version.get(0) + 1)
    if note:
        Data.message.say(kind, note, "schema")
    else:
        Data.message.clear()


# --------------------------------------------------------------------------- sections

def _sources() -> None:
    demo_box, upload_box, saved_box = st.columns(3)
    with demo_box.container(border=True):
        _demo_source()
    with upload_box.container(border=True):
        st.subheader("Upload a table")
        st.file_uploader("CSV, CSV.gz or Parquet: one row per patient per time step, a patient id and a time column",
                         type=["csv", "gz", "parquet", "pq"], key=Data.upload.key, on_change=_take_upload)
        Data.message.show("upload")
    with saved_box.container(border=True):
        _saved_uploads()


def _demo_source() -> None:
    st.subheader("Built-in HIV cohort")
    st.caption("Simulated people on antiretroviral therapy, 60 months each, in the Health Gym schema. "
               "Simulated, not patient data.")
    Data.demo_patients.setdefault(DEMO_PATIENTS)
    Data.demo_seed.setdefault(DEMO_SEED)
    st.number_input("Patients", min_value=10, max_value=100_000, step=100, key=Data.demo_patients.key)
    st.number_input("Seed", min_value=0, max_value=2**31 - 1, step=1, key=Data.demo_seed.key)
    st.button("Load built-in cohort", on_click=_load_demo)
    Data.message.show("demo")


def _saved_uploads() -> None:
    st.subheader("Earlier uploads")
    saved = data.saved_uploads()
    if saved:
        if Data.saved_upload.get() not in saved:
            Data.saved_upload.set(saved[0])
        st.selectbox("Upload kept on this machine", saved, format_func=data.upload_label, key=Data.saved_upload.key)
        st.button("Load this upload", on_click=_load_saved)
    else:
        st.caption(f"Uploads you load are kept in {plain(data_dir())} and listed here.")
    Data.message.show("saved")


def _schema_section(dataset: data.Dataset) -> str:
    """The schema line, the id/time pickers, the checks and the editor; returns the schema's JSON."""
    st.header("Schema")
    schema = dataset.schema
    token = (dataset.token, Data.schema_version.get(0))   # the widgets restart with each new schema
    st.markdown(f"Patient id **{plain(schema.id_column)}** · time **{plain(schema.time_column)}** "
                f"({schema.time_mode}) · {len(schema.variables)} variables: "
                + " · ".join(f"**{plain(v.name)}** ({v.kind})" for v in schema.variables))
    _column_pickers(dataset, token)
    Data.message.show("schema")
    _checks(dataset)   # above the editor, which takes the page's width: every column in view
    return _schema_editor(dataset, token)


def _column_pickers(dataset: data.Dataset, token: tuple) -> None:
    schema, columns = dataset.schema, list(dataset.frame.columns)
    pick_id, pick_time, pick_mode = st.columns(3)
    pick_id.selectbox("Patient id column", columns, index=columns.index(schema.id_column),
                      key=Data.schema_widget(*token, "id").key, on_change=_repick_columns, args=(token,))
    pick_time.selectbox("Time column", columns, index=columns.index(schema.time_column),
                        key=Data.schema_widget(*token, "time").key, on_change=_repick_columns, args=(token,))
    pick_mode.selectbox("Time mode", TIME_MODES, index=TIME_MODES.index(schema.time_mode),
                        key=Data.schema_widget(*token, "mode").key, on_change=_set_time_mode, args=(token,),
                        help="step: time counts 0, 1, 2, … for every patient. irregular: time is a number such as "
                             "days, and the gaps between visits are learned too.")


def _schema_editor(dataset: data.Dataset, token: tuple) -> str:
    schema = dataset.schema
    table = schema_to_table(schema)
    edited = st.data_editor(table, key=Data.schema_widget(*token, "editor").key, hide_index=True, num_rows="fixed",
                            disabled=["variable"], width="stretch", height=table_height(len(table)),
                            column_config=EDITOR_COLUMNS, placeholder="")   # an empty Min shows empty, not "None"
    if not edited.equals(table):   # an edit: it becomes the schema, and the editor restarts from it
        try:
            _use_schema(table_to_schema(edited, schema, dataset.frame), None)
        except HGymError as problem:
            _use_schema(schema, f"That edit was not applied: {plain(problem)}", kind="error")
        st.rerun()
    schema_json = schema.to_json()
    download, upload = st.columns(2)
    download.download_button("Download schema JSON", schema_json, file_name="schema.json", mime="application/json",
                             on_click="ignore")
    upload.file_uploader("Upload schema JSON", type=["json"], key=Data.schema_upload.key, on_change=_take_schema_json)
    return schema_json


def _checks(dataset: data.Dataset) -> None:
    st.subheader("Checks", anchor=False)
    found = data.problems(dataset)
    errors = data.blocking(found)
    if errors:
        st.error(f"{len(errors)} problem(s) block training until they are fixed (edit the schema or the data).")
    else:
        st.success("The table fits the schema: ready to train.")
    for problem in found:
        (st.error if problem.severity == "error" else st.warning)(plain(problem.message))
    read_as_empty = describe_read_as_empty(dataset.frame)
    if read_as_empty:
        st.caption(plain(read_as_empty) + " These common missing markers (n/a, NA, ?, -, null and empty cells) "
                   "are read as empty cells in every column.")


def _summary_section(dataset: data.Dataset, schema_json: str) -> None:
    st.header("Summary")
    counts, numeric, labelled = table_summary(dataset.token, schema_json, dataset.frame)
    for box, (label, value) in zip(st.columns(len(counts)), counts.items()):
        box.metric(label.capitalize(), f"{value:,.0f}" if label != MEDIAN_STEPS else f"{value:g}",
                   help=STEPS_HELP if label in (LONGEST, MEDIAN_STEPS) else None)
    st.caption("Counted over the whole table. The Train page counts the training side only (the holdout kept "
               "out), so its patients and steps can be fewer.")
    missing = st.column_config.NumberColumn("missing", format="percent", help="Share of rows with no value")
    if len(numeric):
        st.dataframe(numeric, hide_index=True, width="stretch", height=table_height(len(numeric)), placeholder="",
                     column_config={
            "missing": missing, **{name: st.column_config.NumberColumn(name, format="%.4g")
                                   for name in ("mean", "sd", "min", "q25", "median", "q75", "max")}})
    if len(labelled):
        st.dataframe(labelled, hide_index=True, width="stretch", height=table_height(len(labelled)), placeholder="",
                     column_config={"missing": missing,
                                    "shares": st.column_config.TextColumn("shares of rows", width="large")})


def _trajectories_section(dataset: data.Dataset) -> None:
    st.header("Patient trajectories")
    schema = dataset.schema
    ids = dataset.frame[schema.id_column].drop_duplicates().tolist()
    pick_patient, pick_variables = st.columns([1, 3])
    patient = pick_patient.selectbox("Patient", ids, key=Data.patient(dataset.token).key)
    default_variables = [v.name for v in schema.variables if v.kind == "numeric"][:3] or schema.names[:3]
    chosen = pick_variables.multiselect("Variables", schema.names, default=default_variables,
                                        key=Data.trajectory_variables(dataset.token, Data.schema_version.get(0)).key)
    st.caption("Filled dots: measured values (the value changed, or its '(M)' flag column is 1); rings: the last "
               "measurement carried forward.")
    rows = dataset.frame[dataset.frame[schema.id_column] == patient]
    for index, variable in enumerate(chosen):
        if index % 2 == 0:
            row = st.columns(2)
        _draw_trajectory(row[index % 2], dataset, rows, patient, variable)


def _draw_trajectory(box, dataset: data.Dataset, rows, patient, variable: str) -> None:
    schema = dataset.schema
    numeric = schema.variable(variable).kind == "numeric"
    try:
        log_y = column_log_axis(dataset.token, variable, dataset.frame) if numeric else None
        figure = plots.trajectories_figure(rows, schema, variable, n_patients=1, table=f"patient {patient}",
                                           log_y=log_y, mark_measured=True)
    except HGymError as problem:   # e.g. text in a numeric column: listed under Checks, not drawable
        box.warning(f"**{plain(variable)}** is not drawn: {plain(problem)}")
        return
    box.plotly_chart(plain_figure(figure), key=Data.trajectory_chart(variable).key)


# --------------------------------------------------------------------------- page

def render() -> None:
    st.title("Data")
    dataset = data.current_dataset()
    st.markdown(f"Working on **{plain(dataset.name)}**: {dataset.n_patients:,} patients, {len(dataset.frame):,} "
                "rows (one row per patient per time step).")
    _sources()
    schema_json = _schema_section(dataset)
    _summary_section(dataset, schema_json)
    _trajectories_section(dataset)


render()
