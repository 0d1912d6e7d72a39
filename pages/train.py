"""Train page: settings, Start / Stop / Resume / Extend, and the live progress of the training job.

Every button goes through ``hgym_core.runs.service``, the functions the command line's ``train``
calls too; the job trains in a child process that holds the run folder's lock. Settings that
cannot work on the current data are named beside Start, with the fix, and Start waits for them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import streamlit as st

from hgym_core.data.schema import Schema
from hgym_core.device import describe_device
from hgym_core.errors import HGymError
from hgym_core.gan.config import DEFAULT_PRESET, PRESET_NAMES, DataSize, TrainConfig, describe_choice, preset
from hgym_core.runs import service
from hgym_core.runs.estimate import measure_step_costs
from hgym_core.runs.folder import RunFolder, run_path, sanitize_run_name
from hgym_core.runs.info import PatientCounts, RunInfo
from hgym_core.runs.jobs import TrainingJob
from hgym_core.runs.listing import list_runs
from hgym_core.runs.schedule import TrainingSchedule
from pages import _datasets as data
from pages import _train_form as form
from pages._format import duration, plain
from pages._live import draw_panel, jobs_seen, live_panel, watch_jobs
from pages._paths import models_dir
from pages._run_picker import run_folder, set_current_run, current_run
from pages._server import job_registry
from pages._session import Train

# Settings that change neither a step's cost nor the step count: the estimate ignores them.
NOT_IN_ESTIMATE = ("seed", "checkpoint_every", "checkpoint_seconds")


@dataclass(frozen=True)
class FormCheck:
    """The form's settings read against the current data: the plan of a run, or what stops one."""

    config: TrainConfig | None
    counts: PatientCounts | None = None
    schedule: TrainingSchedule | None = None
    problems: list[str] = field(default_factory=list)   # each names the setting and the fix (plain text)


# --------------------------------------------------------------------------- reading the form

@st.cache_data(max_entries=16, show_spinner=False)
def _plan(token: str, schema_json: str, config_json: str, _frame):
    """(patients, schedule) of a run of these settings on this data, once per combination."""
    return service.plan(_frame, Schema.from_json(schema_json), TrainConfig.from_dict(json.loads(config_json)))


@st.cache_data(max_entries=16, show_spinner=False)
def _data_size(token: str, schema_json: str, holdout: float, seed: int, _frame) -> DataSize:
    return service.data_size(_frame, Schema.from_json(schema_json), TrainConfig(holdout=holdout, seed=seed))


def _size_for_preset(dataset: data.Dataset, name: str) -> DataSize | None:
    """What a preset fits itself to for a run of the form's holdout and seed (the preset's before the
    form has them); None while the data does not fit its schema."""
    if data.blocking(data.problems(dataset)):
        return None
    holdout = form.slot("holdout").get(preset(name).holdout)
    seed = form.slot("seed").get(preset(name).seed)
    try:
        return _data_size(dataset.token, dataset.schema.to_json(), float(holdout), int(seed), dataset.frame)
    except HGymError:
        return None   # e.g. holdout with a single patient: the form check names it


def _check_form(dataset: data.Dataset) -> FormCheck:
    try:
        config = form.read_values()
    except HGymError as problem:
        return FormCheck(None, problems=[str(problem)])
    if data.blocking(data.problems(dataset)):
        return FormCheck(config)   # the data's problems are named at the top of the page
    try:
        counts, schedule = _plan(dataset.token, dataset.schema.to_json(), json.dumps(config.to_dict()),
                                 dataset.frame)
    except HGymError as problem:
        return FormCheck(config, problems=[str(problem)])
    return FormCheck(config, counts, schedule, form.problems(config, counts.trained))


# --------------------------------------------------------------------------- run names

def _default_run_name() -> str:
    """'<data>-<preset>-<date-time>', with a counter when a run of that name exists already."""
    dataset = data.current_dataset()
    stem = "hiv" if dataset.source["kind"] == "demo" else dataset.name.split(".")[0]
    name = sanitize_run_name(f"{stem}-{Train.preset.get()}-{datetime.now():%Y%m%d-%H%M%S}")
    taken = {run.name for run in list_runs(models_dir())}
    candidate, counter = name, 1
    while candidate in taken:
        counter += 1
        candidate = f"{name}-{counter}"
    return candidate


def _name_basis() -> tuple[str, str]:
    return data.current_dataset().token, Train.preset.get()


def _new_default_name() -> None:
    name = _default_run_name()
    Train.run_name.set(name)
    Train.name_basis.set((*_name_basis(), name))


def _follow_data_and_preset(active: TrainingJob | None) -> None:
    """The default name names the current data and preset; a name the user typed stays theirs. Once
    the run this tab started has ended, its name is taken: the field offers a new default."""
    basis, typed = Train.name_basis.get(), Train.run_name.get()
    if basis is None or typed is None or (tuple(basis[:2]) != _name_basis() and typed == basis[2]):
        _new_default_name()
    elif active is None and Train.started.get() is not None and typed == Train.started.pop():
        _new_default_name()


def _name_at_start() -> str:
    """The run's name: the one typed, or the default made again now, so it carries its start time."""
    basis = Train.name_basis.get()
    if basis is not None and Train.run_name.get() == basis[2]:
        _new_default_name()
    return sanitize_run_name(Train.run_name.get())


# --------------------------------------------------------------------------- actions (callbacks)

def _act(action, *args) -> None:
    """Run a button's action; its HGymError becomes the message shown under the buttons. A
    message about a job (started, resuming, stop requested) is shown only while that job trains."""
    try:
        note, job = action(*args)
    except HGymError as problem:
        Train.message.say("error", plain(problem))
    else:
        Train.message.say("success", note, job=id(job) if job is not None else None)


def _start() -> tuple[str, TrainingJob]:
    dataset = data.current_dataset()
    if data.blocking(data.problems(dataset)):
        raise HGymError("The data does not fit its schema yet; fix the problems listed on the Data page first.")
    check = _check_form(dataset)
    if check.problems:
        raise HGymError(check.problems[0])
    name = _name_at_start()
    job = service.start_run(run_folder(name), check.config, dataset.source, dataset.frame, dataset.schema,
                            registry=job_registry(), in_child=True)
    set_current_run(name)
    Train.started.set(name)
    return (f"Started '{plain(name)}', training on {check.counts.describe()}. It keeps training if you close this "
            "tab; come back here to watch it."), job


def _continue(name: str, more_epochs: int | None) -> tuple[str, TrainingJob]:
    """Resume a stopped run, or extend a finished one by ``more_epochs`` epochs."""
    folder = run_folder(name)
    options = dict(table=data.table_for_run(folder, RunInfo.read(folder)), registry=job_registry(), in_child=True)
    job = service.extend_run(folder, more_epochs, **options) if more_epochs else \
        service.continue_run(folder, **options)
    set_current_run(name)
    return f"{'Extending' if more_epochs else 'Resuming'} '{plain(name)}' from its last checkpoint.", job


def _resume() -> tuple[str, TrainingJob]:
    return _continue(Train.resume_run.get(), None)


def _extend() -> tuple[str, TrainingJob]:
    return _continue(Train.extend_run.get(), int(Train.more_epochs.get()))


def _stop() -> tuple[str, TrainingJob | None]:
    job = job_registry().active()
    if job is None:
        return "No job is training.", None
    service.stop_run(job.folder, job_registry())
    Train.preferred_resume.set(job.name)
    return f"Stop requested for '{plain(job.name)}': it saves a checkpoint after the current step, then stops.", job


def _probe_settings(config: TrainConfig) -> str:
    values = config.to_dict()
    for name in (*NOT_IN_ESTIMATE, "epochs", "max_patients", "holdout", "time_budget"):   # the count, not the cost
        values.pop(name)
    return json.dumps(values, sort_keys=True)


def _estimate(config: TrainConfig, lengths: tuple[int, ...]) -> None:
    dataset = data.current_dataset()
    try:
        with st.spinner("Timing a few training steps on this device…"):
            costs = measure_step_costs(dataset.schema, dataset.frame, config, lengths)
    except HGymError as problem:
        Train.message.say("error", plain(problem))
        return
    Train.estimate.set(((dataset.token, dataset.schema.to_json(), _probe_settings(config)), costs))


# --------------------------------------------------------------------------- sections

def _settings(dataset: data.Dataset, check: FormCheck, active: TrainingJob | None) -> None:
    st.subheader("Settings")
    choose_preset, name_box = st.columns(2)
    choose_preset.selectbox("Preset", PRESET_NAMES, key=Train.preset.key,
                            help="auto: settings picked from the table's size and the time budget (the one "
                                 "for your own data). quick: a few minutes on a laptop CPU. health-gym: the "
                                 "published settings (100 epochs, hidden 128, every patient trained on), for a "
                                 "GPU. Each fits its curriculum and batch size to the data.")
    if active is not None:   # the run training now, not the next one's name
        name_box.text_input("Run name", value=active.name, disabled=True,
                            help="The run training now. Once it ends, this field offers a name for the next run.")
        st.caption(f"Saved as {plain(active.folder)}" if active.folder else "")
    else:
        name_box.text_input("Run name", key=Train.run_name.key,
                            help="Letters, digits, '-', '_' and '.'; anything else becomes '-'. The run is saved "
                                 "in its own folder. The default ends in the date and time Start is pressed.")
        try:
            st.caption(f"Saved as {plain(run_path(models_dir(), Train.run_name.get()))}")
        except HGymError as problem:
            st.caption(plain(problem))
    size = _size_for_preset(dataset, Train.preset.get())
    shown = check.config or form.dashboard_preset(Train.preset.get(), size)   # the form's settings when valid
    st.caption(plain(describe_choice(Train.preset.get(), shown, size)))
    _settings_grid(form.BASIC)
    with st.expander("Advanced settings"):
        _settings_grid(form.ADVANCED)
    _planned(dataset, check)


def _settings_grid(names: tuple[str, ...]) -> None:
    left, right = st.columns(2)
    for index, name in enumerate(names):
        with (left if index % 2 == 0 else right):
            form.draw(name)


def _counted(count: int, noun: str) -> str:
    """'1 length', '3 batches', '1,000,000 epochs'."""
    return f"{count:,} {noun}{'' if count == 1 else 'es' if noun == 'batch' else 's'}"


def _steps_words(schedule: TrainingSchedule) -> str:
    """'3,000 generator steps (1,000 epochs × 1 length × 3 batches)'."""
    return (f"{_counted(schedule.total_steps, 'generator step')} ({_counted(schedule.epochs, 'epoch')} × "
            f"{_counted(len(schedule.lengths), 'length')} × {_counted(schedule.batches, 'batch')})")


def _planned(dataset: data.Dataset, check: FormCheck) -> None:
    """Under the settings: the patients a run would train on and its steps, once measured how long it
    should take; with a time budget, about how many steps fit in it (the auto preset's epochs are only
    a ceiling the budget ends long before) and when it ends at the latest."""
    if check.schedule is None:
        return
    config, schedule, budget = check.config, check.schedule, check.config.time_budget
    probe, costs = Train.estimate.get((None, None))
    measured = probe == (dataset.token, dataset.schema.to_json(), _probe_settings(config))
    seconds = schedule.seconds_left(0, costs) if measured else None
    within = budget is None or (seconds is not None and seconds <= budget)   # every epoch trains
    trains = f"Trains on {check.counts.describe()}"
    if within:
        st.caption(f"{trains}: {_steps_words(schedule)}.")
    elif measured:
        steps = schedule.steps_within(budget, costs)
        st.caption(f"{trains}: **about {_counted(steps, 'generator step')} in {duration(budget)}** at the measured "
                   f"speed (its time budget ends it; {_counted(schedule.steps_per_epoch, 'step')} an epoch, so "
                   f"about {max(1, round(steps / schedule.steps_per_epoch)):,} of its {schedule.epochs:,} epochs). "
                   "Timed on this device just now: a busier machine trains fewer.")
    else:
        st.caption(f"{trains} for its time budget of {duration(budget)}: as many generator steps as fit, at most "
                   f"{_steps_words(schedule)}. Estimate the time to see about how many that is.")
    if measured and within:
        st.caption(f"Estimated time: **about {duration(seconds)}**, an estimate from a few steps timed on this "
                   f"device just now at L = {', '.join(map(str, sorted(costs.measured)))}; the real time varies "
                   "with the machine's load (the ETA while training re-measures).")
    if budget:
        ends = datetime.now() + timedelta(seconds=min(budget, seconds or budget))
        st.caption(f"Time budget {duration(budget)}: started now, it ends by about **{ends:%H:%M}**"
                   + (" (the estimate finishes every epoch sooner)." if measured and within else
                      ", with the checkpoint reached then (fewer epochs than set, if they take longer)."))
    st.button("Re-estimate the time" if measured else "Estimate the time", key=Train.estimate_button.key,
              on_click=_estimate, args=(config, schedule.lengths), disabled=job_registry().active() is not None,
              help="Trains these settings for a few steps on this device (about as long as three training "
                   "steps) and times them. Disabled while a job trains: the timing would be wrong.")


def _run_controls(active: TrainingJob | None, check: FormCheck, blocked: bool) -> None:
    st.subheader("Run")
    try:
        device = describe_device(form.slot("device").get(), int(form.slot("cpu_threads").get()) or None)
        st.info(f"Device: **{plain(device)}**", icon=":material/memory:")
    except HGymError as problem:
        st.error(plain(problem))
    start, stop = st.columns(2)
    start.button("Start training", key=Train.start_button.key, type="primary", on_click=_act, args=(_start,),
                 disabled=active is not None or blocked or bool(check.problems), width="stretch")
    stop.button("Stop", key=Train.stop_button.key, on_click=_act, args=(_stop,), disabled=active is None,
                width="stretch")
    for problem in check.problems:
        st.error(plain(problem), icon=":material/block:")
    Train.message.show(active_job=active)


def _resume_or_extend(active: TrainingJob | None) -> None:
    runs = [run for run in list_runs(models_dir()) if active is None or run.path.resolve() != active.folder]
    resumable = [run.name for run in runs if run.status in ("stopped", "failed") and RunFolder(run.path).has_checkpoint()]
    finished = [run.name for run in runs if run.status == "finished"]
    elsewhere = [run.name for run in runs if run.status == "running"]
    st.subheader("Resume or extend a run")
    if resumable:
        if Train.preferred_resume.get() in resumable:
            Train.resume_run.set(Train.preferred_resume.pop())
        if Train.resume_run.get() not in resumable:
            Train.resume_run.set(resumable[0])
        st.selectbox("Stopped run", resumable, key=Train.resume_run.key,
                     help="Continues from the last checkpoint with the same data, weights, optimizers and "
                          "random state.")
        st.button("Resume", key=Train.resume_button.key, on_click=_act, args=(_resume,), disabled=active is not None)
    else:
        st.caption("No stopped run to resume.")
    if finished:
        if Train.extend_run.get() not in finished:
            Train.extend_run.set(finished[0])
        pick, more = st.columns([3, 2])
        pick.selectbox("Finished run", finished, key=Train.extend_run.key)
        Train.more_epochs.setdefault(10)
        more.number_input("More epochs", min_value=1, step=1, key=Train.more_epochs.key)
        st.button("Extend", key=Train.extend_button.key, on_click=_act, args=(_extend,), disabled=active is not None)
    else:
        st.caption("No finished run to extend.")
    if elsewhere:
        st.caption(f"Being trained by another process (the command line?): {plain(', '.join(elsewhere))}. Its "
                   "progress is on the Runs page.")


def _progress(active: TrainingJob | None, seen: tuple) -> None:
    st.header("Training progress")
    registry = job_registry()
    job = registry.latest()
    if job is None:
        st.info("No training job in this server process yet. Start one above; past runs are on the Runs page.")
    elif job.is_active():
        live_panel(job)
    else:
        draw_panel(job)
    # A job another tab starts shows here within seconds; so does the end of one that ended while
    # this run drew the page (the buttons above still show it training, and no live panel reruns).
    if active is None or not active.is_active():
        watch_jobs(registry, seen)


# --------------------------------------------------------------------------- page

def render() -> None:
    st.title("Train")
    dataset = data.current_dataset()
    registry = job_registry()
    active, seen = registry.active(), jobs_seen(registry)
    if not Train.preset.is_set():   # first visit: the settings for the data at hand and ten minutes
        Train.preset.set(DEFAULT_PRESET)
    form.follow_data(Train.preset.get(), _size_for_preset(dataset, Train.preset.get()))
    _follow_data_and_preset(active)
    if current_run() is None and registry.latest() is not None:   # a job started in another tab
        set_current_run(registry.latest().name)

    st.markdown(f"Training on **{plain(dataset.name)}** ({dataset.n_patients:,} patients, "
                f"{len(dataset.schema.variables)} variables). Change the data or its schema on the Data page.")
    blocked = bool(data.blocking(data.problems(dataset)))
    if blocked:
        st.error(f"{len(data.blocking(data.problems(dataset)))} problem(s) between the data and its schema block "
                 "training.")
        st.page_link("pages/data.py", label="Fix them on the Data page", icon=":material/table_chart:")
    check = _check_form(dataset)
    settings, controls = st.columns([3, 2], gap="large")
    with settings:
        _settings(dataset, check, active)
    with controls:
        _run_controls(active, check, blocked)
        _resume_or_extend(active)
    _progress(active, seen)


render()
