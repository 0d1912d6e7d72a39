"""Train page: settings, Start / Stop / Resume / Extend, and the live progress of the training job."""

from __future__ import annotations

from datetime import datetime
from functools import partial

import streamlit as st

from hgym_core.runs.folder import RunFolder, run_path, sanitize_run_name
from hgym_core.runs.listing import list_runs
from hgym_core.gan.config import PRESETS
from hgym_core.device import describe_device
from hgym_core.errors import HGymError
from hgym_core.gan.events import METRIC_COLUMNS
from hgym_core.runs.tasks import fit_run, resume_run
from hgym_core.runs.training_process import in_subprocess
from pages import _state as state
from pages import _train_form as form
from pages._live import draw_panel, live_panel

MESSAGE = "train_message"
PREFERRED_RESUME = "train_preferred_resume"   # the run just stopped: offered first once it has stopped


def _default_run_name() -> str:
    """'<data>-<preset>-<date-time>', with a counter when a run of that name exists already."""
    dataset = state.current_dataset()
    stem = "hiv" if dataset.source["kind"] == "demo" else dataset.name.split(".")[0]
    name = sanitize_run_name(f"{stem}-{st.session_state['train.preset']}-{datetime.now():%Y%m%d-%H%M%S}")
    taken = {run.name for run in list_runs(state.models_dir())}
    candidate, counter = name, 1
    while candidate in taken:
        counter += 1
        candidate = f"{name}-{counter}"
    return candidate


def _apply_preset() -> None:
    form.write_values(form.dashboard_preset(st.session_state["train.preset"]))


def _act(action, *args) -> None:
    """Run a button's action; its HGymError becomes the message shown under the buttons."""
    try:
        note = action(*args)
    except HGymError as problem:
        st.session_state[MESSAGE] = ("error", str(problem))
    else:
        st.session_state[MESSAGE] = ("success", note)


def _start() -> str:
    dataset = state.current_dataset()
    if state.blocking(state.problems(dataset)):
        raise HGymError("The data does not fit its schema yet; fix the problems listed on the Data page first.")
    config = form.read_values()
    name = sanitize_run_name(st.session_state["train.run_name"])
    folder = RunFolder(run_path(state.models_dir(), name))
    if folder.exists():
        raise HGymError(f"A run named '{name}' already exists; choose another name, or resume or extend it below.")
    schema, frame, source = dataset.schema, dataset.frame, dataset.source
    state.job_registry().start(name, in_subprocess(partial(fit_run, schema, config, frame, folder.path, source)))
    state.set_current_run(name)
    st.session_state["train.run_name"] = _default_run_name()
    return f"Started '{name}'. It keeps training if you close this tab; come back here to watch it."


def _continue(name: str, epochs: int | None) -> str:
    """Resume a stopped run, or extend a finished one to ``epochs`` epochs in all."""
    folder = RunFolder(run_path(state.models_dir(), name))
    info = folder.read_info()
    frame = state.table_for_run(info)
    history = _history_until_checkpoint(folder, info.get("checkpoint_step") or 0)
    state.job_registry().start(name, in_subprocess(partial(resume_run, folder.path, frame, epochs)), history=history)
    state.set_current_run(name)
    return f"{'Extending' if epochs else 'Resuming'} '{name}' from its last checkpoint."


def _history_until_checkpoint(folder: RunFolder, step: int) -> dict[str, list]:
    """The run's earlier curves, so the live plots show the whole run (read once, at resume)."""
    metrics = folder.read_metrics()
    if metrics.empty:
        return {}
    metrics = metrics[metrics["step"] <= step]
    return {column: metrics[column].tolist() for column in METRIC_COLUMNS if column in metrics}


def _resume() -> str:
    return _continue(st.session_state["train.resume_run"], None)


def _extend() -> str:
    name = st.session_state["train.extend_run"]
    done = RunFolder(run_path(state.models_dir(), name)).read_info().get("epochs_done", 0)
    return _continue(name, int(done) + int(st.session_state["train.more_epochs"]))


def _stop() -> str:
    job = state.job_registry().active()
    if job is None:
        return "No job is training."
    job.stop()
    st.session_state[PREFERRED_RESUME] = job.name
    return f"Stop requested for '{job.name}': it saves a checkpoint after the current step, then stops."


# --------------------------------------------------------------------------- page

st.title("Train")
dataset = state.current_dataset()
registry = state.job_registry()
active = registry.active()

if "train.epochs" not in st.session_state:   # first visit: the preset that suits this machine
    st.session_state["train.preset"] = "health-gym" if "cuda" in describe_device("auto").lower() else "quick"
    _apply_preset()
st.session_state.setdefault("train.run_name", _default_run_name())
if state.current_run() is None and registry.latest() is not None:   # a job started in another tab
    state.set_current_run(registry.latest().name)

st.markdown(f"Training on **{dataset.name}** ({dataset.n_patients:,} patients, {len(dataset.schema.variables)} "
            "variables). Change the data or its schema on the Data page.")
blocked = state.blocking(state.problems(dataset))
if blocked:
    st.error(f"{len(blocked)} problem(s) between the data and its schema block training.")
    st.page_link("pages/data.py", label="Fix them on the Data page", icon=":material/table_chart:")

settings, controls = st.columns([3, 2], gap="large")
with settings:
    st.subheader("Settings")
    choose_preset, name_box = st.columns(2)
    choose_preset.selectbox("Preset", sorted(PRESETS), key="train.preset", on_change=_apply_preset,
                            help="quick: a few minutes on a laptop CPU. health-gym: the published settings "
                                 "(100 epochs, hidden 128), for a GPU.")
    name_box.text_input("Run name", key="train.run_name", help="Letters, digits, '-', '_' and '.'; anything else "
                                                               "becomes '-'. The run is saved in its own folder.")
    try:
        st.caption(f"Saved as {run_path(state.models_dir(), st.session_state['train.run_name'])}")
    except HGymError as problem:
        st.caption(str(problem))
    left, right = st.columns(2)
    for index, name in enumerate(form.BASIC):
        with (left if index % 2 == 0 else right):
            form.draw(name)
    with st.expander("Advanced settings"):
        left, right = st.columns(2)
        for index, name in enumerate(form.ADVANCED):
            with (left if index % 2 == 0 else right):
                form.draw(name)

with controls:
    st.subheader("Run")
    try:
        device = describe_device(st.session_state["train.device"], int(st.session_state["train.cpu_threads"]) or None)
        st.info(f"Device: **{device}**", icon=":material/memory:")
    except HGymError as problem:
        st.error(str(problem))
    start, stop = st.columns(2)
    start.button("Start training", key="btn.start", type="primary", on_click=_act, args=(_start,),
                 disabled=active is not None or bool(blocked), width="stretch")
    stop.button("Stop", key="btn.stop", on_click=_act, args=(_stop,), disabled=active is None, width="stretch")
    kind, text = st.session_state.get(MESSAGE, (None, None))
    if text:
        getattr(st, kind)(text)

    runs = [run for run in list_runs(state.models_dir()) if active is None or run.name != active.name]
    resumable = [run.name for run in runs if run.status in ("stopped", "failed") and (run.path / "checkpoint.pt").is_file()]
    finished = [run.name for run in runs if run.status == "finished"]
    st.subheader("Resume or extend a run")
    if resumable:
        if st.session_state.get(PREFERRED_RESUME) in resumable:
            st.session_state["train.resume_run"] = st.session_state.pop(PREFERRED_RESUME)
        if st.session_state.get("train.resume_run") not in resumable:
            st.session_state["train.resume_run"] = resumable[0]
        st.selectbox("Stopped run", resumable, key="train.resume_run",
                     help="Continues from the last checkpoint with the same data, weights, optimizers and "
                          "random state.")
        st.button("Resume", key="btn.resume", on_click=_act, args=(_resume,), disabled=active is not None)
    else:
        st.caption("No stopped run to resume.")
    if finished:
        if st.session_state.get("train.extend_run") not in finished:
            st.session_state["train.extend_run"] = finished[0]
        pick, more = st.columns([3, 2])
        pick.selectbox("Finished run", finished, key="train.extend_run")
        st.session_state.setdefault("train.more_epochs", 10)
        more.number_input("More epochs", min_value=1, step=1, key="train.more_epochs")
        st.button("Extend", key="btn.extend", on_click=_act, args=(_extend,), disabled=active is not None)
    else:
        st.caption("No finished run to extend.")

st.header("Training progress")
job = registry.latest()
if job is None:
    st.info("No training job in this server process yet. Start one above; past runs are on the Runs page.")
elif job.is_active():
    live_panel(job)
else:
    draw_panel(job)
