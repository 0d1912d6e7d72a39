"""Train page: settings, Start / Stop / Resume / Extend, and the live progress of the training job.

Every button goes through ``hgym_core.runs.service``, the functions the command line's ``train``
calls too; the job trains in a child process that holds the run folder's lock.
"""

from __future__ import annotations

import json
from datetime import datetime

import streamlit as st

from hgym_core.data.schema import Schema
from hgym_core.device import describe_device
from hgym_core.errors import HGymError
from hgym_core.gan.config import PRESETS, TrainConfig
from hgym_core.runs import service
from hgym_core.runs.estimate import measure_step_costs
from hgym_core.runs.folder import RunFolder, run_path, sanitize_run_name
from hgym_core.runs.info import RunInfo
from hgym_core.runs.jobs import TrainingJob
from hgym_core.runs.listing import list_runs
from pages import _format as fmt
from pages import _state as state
from pages import _train_form as form
from pages._live import draw_panel, jobs_seen, live_panel, watch_jobs

MESSAGE = "train_message"   # (kind, text, id of the job it is about or None): shown while that job trains
PREFERRED_RESUME = "train_preferred_resume"   # the run just stopped: offered first once it has stopped
NAME_BASIS = "train_name_basis"   # (data token, preset, the run name made for them)
ESTIMATE = "train_estimate"       # (the probe's settings, StepCosts) of the last time estimate
# Settings that change neither a step's cost nor the step count: the estimate ignores them.
NOT_IN_ESTIMATE = ("seed", "checkpoint_every")


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


def _name_basis() -> tuple[str, str]:
    return state.current_dataset().token, st.session_state["train.preset"]


def _new_default_name() -> None:
    name = _default_run_name()
    st.session_state["train.run_name"] = name
    st.session_state[NAME_BASIS] = (*_name_basis(), name)


def _follow_data_and_preset() -> None:
    """The default name names the current data and preset; a name the user typed stays theirs."""
    basis = st.session_state.get(NAME_BASIS)
    typed = st.session_state.get("train.run_name")
    if basis is None or typed is None or (tuple(basis[:2]) != _name_basis() and typed == basis[2]):
        _new_default_name()


def _apply_preset() -> None:
    form.write_values(form.dashboard_preset(st.session_state["train.preset"]))


def _act(action, *args) -> None:
    """Run a button's action; its HGymError becomes the message shown under the buttons. A
    message about a job (started, resuming, stop requested) is shown only while that job trains."""
    try:
        note, job = action(*args)
    except HGymError as problem:
        st.session_state[MESSAGE] = ("error", str(problem), None)
    else:
        st.session_state[MESSAGE] = ("success", note, id(job) if job is not None else None)


def _start() -> tuple[str, TrainingJob]:
    dataset = state.current_dataset()
    if state.blocking(state.problems(dataset)):
        raise HGymError("The data does not fit its schema yet; fix the problems listed on the Data page first.")
    config = form.read_values()
    name = sanitize_run_name(st.session_state["train.run_name"])
    notes: list[str] = []
    job = service.start_run(state.run_folder(name), config, dataset.source, dataset.frame, dataset.schema,
                            registry=state.job_registry(), in_child=True, note=notes.append)
    state.set_current_run(name)
    _new_default_name()
    trains_on = notes[-1].split("; ")[-1]   # 'training on 1,024 of 8,916 patients (holdout 0.2: …)'
    return f"Started '{name}', {trains_on}. It keeps training if you close this tab; come back here to watch it.", job


def _continue(name: str, more_epochs: int | None) -> tuple[str, TrainingJob]:
    """Resume a stopped run, or extend a finished one by ``more_epochs`` epochs."""
    folder = state.run_folder(name)
    options = dict(table=state.table_for_run(folder, RunInfo.read(folder)), registry=state.job_registry(),
                   in_child=True)
    job = service.extend_run(folder, more_epochs, **options) if more_epochs else \
        service.continue_run(folder, **options)
    state.set_current_run(name)
    return f"{'Extending' if more_epochs else 'Resuming'} '{name}' from its last checkpoint.", job


def _resume() -> tuple[str, TrainingJob]:
    return _continue(st.session_state["train.resume_run"], None)


def _extend() -> tuple[str, TrainingJob]:
    return _continue(st.session_state["train.extend_run"], int(st.session_state["train.more_epochs"]))


def _stop() -> tuple[str, TrainingJob | None]:
    job = state.job_registry().active()
    if job is None:
        return "No job is training.", None
    service.stop_run(job.folder, state.job_registry())
    st.session_state[PREFERRED_RESUME] = job.name
    return f"Stop requested for '{job.name}': it saves a checkpoint after the current step, then stops.", job


@st.cache_data(max_entries=16, show_spinner=False)
def _plan(token: str, schema_json: str, config_json: str, _frame):
    """(patients, schedule) of a run of these settings on this data, once per combination."""
    schema = Schema.from_json(schema_json)
    return service.plan(_frame, schema, TrainConfig.from_dict(json.loads(config_json)))


def _probe_settings(config: TrainConfig) -> str:
    values = config.to_dict()
    for name in (*NOT_IN_ESTIMATE, "epochs", "max_patients", "holdout"):   # these change the count, not the cost
        values.pop(name)
    return json.dumps(values, sort_keys=True)


def _estimate(config: TrainConfig, lengths: tuple[int, ...]) -> None:
    dataset = state.current_dataset()
    try:
        with st.spinner("Timing a few training steps on this device…"):
            costs = measure_step_costs(dataset.schema, dataset.frame, config, lengths)
    except HGymError as problem:
        st.session_state[MESSAGE] = ("error", str(problem), None)
        return
    st.session_state[ESTIMATE] = ((dataset.token, dataset.schema.to_json(), _probe_settings(config)), costs)


def _planned(dataset, config: TrainConfig | None) -> None:
    """Under the settings: the patients a run would train on and, once measured, how long it should take."""
    if config is None or state.blocking(state.problems(dataset)):
        return
    try:
        counts, schedule = _plan(dataset.token, dataset.schema.to_json(), json.dumps(config.to_dict()), dataset.frame)
    except HGymError as problem:
        st.caption(str(problem))
        return
    st.caption(f"Trains on {counts.describe()}: {schedule.total_steps:,} generator steps "
               f"({schedule.epochs} epochs × {len(schedule.lengths)} lengths × {schedule.batches} batches).")
    probe, costs = st.session_state.get(ESTIMATE, (None, None))
    measured = probe == (dataset.token, dataset.schema.to_json(), _probe_settings(config))
    if measured:
        st.caption(f"Estimated time: **about {fmt.duration(schedule.seconds_left(0, costs))}**, an estimate from "
                   f"a few steps timed on this device just now at L = {', '.join(map(str, sorted(costs.measured)))}; "
                   "the real time varies with the machine's load (the ETA while training re-measures).")
    st.button("Re-estimate the time" if measured else "Estimate the time", key="btn.estimate", on_click=_estimate,
              args=(config, schedule.lengths), disabled=state.job_registry().active() is not None,
              help="Trains these settings for a few steps on this device (about as long as three training "
                   "steps) and times them. Disabled while a job trains: the timing would be wrong.")


# --------------------------------------------------------------------------- page

st.title("Train")
dataset = state.current_dataset()
registry = state.job_registry()
active = registry.active()
seen = jobs_seen(registry)

if "train.epochs" not in st.session_state:   # first visit: the preset that suits this machine
    st.session_state["train.preset"] = "health-gym" if "cuda" in describe_device("auto").lower() else "quick"
    _apply_preset()
_follow_data_and_preset()
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
                                 "(100 epochs, hidden 128, every patient trained on), for a GPU.")
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
    try:
        chosen = form.read_values()
    except HGymError:
        chosen = None   # Start names the wrong setting
    _planned(dataset, chosen)

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
    kind, text, about = st.session_state.get(MESSAGE, (None, None, None))
    if text and (about is None or (active is not None and id(active) == about)):
        getattr(st, kind)(text)

    runs = [run for run in list_runs(state.models_dir()) if active is None or run.path.resolve() != active.folder]
    resumable = [run.name for run in runs if run.status in ("stopped", "failed") and RunFolder(run.path).has_checkpoint()]
    finished = [run.name for run in runs if run.status == "finished"]
    elsewhere = [run.name for run in runs if run.status == "running"]
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
    if elsewhere:
        st.caption(f"Being trained by another process (the command line?): {', '.join(elsewhere)}. Its progress is "
                   "on the Runs page.")

st.header("Training progress")
job = registry.latest()
if job is None:
    st.info("No training job in this server process yet. Start one above; past runs are on the Runs page.")
elif job.is_active():
    live_panel(job)
else:
    draw_panel(job)
if active is None:
    watch_jobs(registry, seen)   # a job another tab starts shows here within seconds
