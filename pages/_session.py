"""Everything a browser tab remembers, declared once: one ``Slot`` per session-state key.

Each page has its namespace below (its keys start with the page's prefix, as OpenMS's
ParameterManager does), and no other module spells a key. A slot says whether it is **kept**: a
widget's value that must survive a page switch. Streamlit forgets the value of a widget that a
run does not draw (the user is on another page), so ``keep_settings`` writes every kept value
back at the start of each run. Values that are not widgets' (the data set, a stored comparison)
survive page switches anyway and are never kept; nor are buttons and file pickers, whose value
cannot be written.

    Data.demo_seed.get()            the value, or None
    st.number_input(..., key=Data.demo_seed.key)
    Train.message.say("error", text)            one flash message per page (``Flash``)
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, ClassVar, Generic, TypeVar

import streamlit as st

T = TypeVar("T")


class Slot(Generic[T]):
    """One session-state key of this tab and whether a page switch keeps it (widgets only)."""

    kept_slots: ClassVar[dict[str, "Slot"]] = {}

    def __init__(self, key: str, kept: bool = False):
        self.key, self.kept = key, kept
        if kept:
            Slot.kept_slots[key] = self

    def get(self, default: Any = None) -> T | None:
        return st.session_state.get(self.key, default)

    def set(self, value: T) -> None:
        st.session_state[self.key] = value

    def setdefault(self, value: T) -> T:
        return st.session_state.setdefault(self.key, value)

    def pop(self, default: Any = None) -> T | None:
        return st.session_state.pop(self.key, default)

    def is_set(self) -> bool:
        return self.key in st.session_state

    def __repr__(self) -> str:
        return f"Slot({self.key!r}{', kept' if self.kept else ''})"


class Family:
    """Slots named ``<prefix>.<part>...``: one per setting, per data set or per variable."""

    def __init__(self, prefix: str, kept: bool = False):
        self.prefix, self.kept = prefix, kept
        self._slots: dict[str, Slot] = {}

    def __call__(self, *parts: object) -> Slot:
        key = ".".join([self.prefix, *map(str, parts)])
        if key not in self._slots:
            self._slots[key] = Slot(key, self.kept)
        return self._slots[key]


class Picker:
    """A run selector's choice (kept) and the current run it last followed (see ``_runs.pick_run``)."""

    def __init__(self, key: str):
        self.choice: Slot[str] = Slot(key, kept=True)
        self.followed: Slot[str] = Slot(key + "#current")


@dataclass(frozen=True)
class Message:
    kind: str                # st.success, st.error, st.warning or st.info
    text: str                # Markdown: whatever came from a file went through _format.plain
    where: str = ""          # the part of the page it belongs under ("" = the page's one place)
    job: int | None = None   # after its first showing, shown only while the job with this id trains
    once: bool = False       # shown on the next run only
    shown: bool = False      # drawn at least once: a stop that ends the job at once still says it was asked


class Flash:
    """A page's one message about the last thing the user did, shown where it belongs."""

    def __init__(self, key: str):
        self.slot: Slot[Message] = Slot(key)

    def say(self, kind: str, text: str, where: str = "", job: int | None = None, once: bool = False) -> None:
        self.slot.set(Message(kind, text, where, job, once))

    def clear(self) -> None:
        self.slot.pop()

    def show(self, where: str = "", active_job: object = None) -> None:
        message = self.slot.get()
        if message is None or message.where != where:
            return
        if message.shown and message.job is not None and (active_job is None or id(active_job) != message.job):
            return
        if message.once:
            self.clear()
        else:
            self.slot.set(replace(message, shown=True))
        getattr(st, message.kind)(message.text)


def keep_settings() -> None:
    """Write every kept value back, so that widgets a run does not draw keep it (call once a run)."""
    for key in Slot.kept_slots:
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]


# --------------------------------------------------------------------------- the namespaces

class App:
    """Shared by every page and the sidebar."""

    dataset = Slot("dataset")            # pages._datasets.Dataset: the table this tab works on
    current_run = Slot("current_run")    # the run's folder name: the one Compare and Generate start on


class Data:
    demo_patients = Slot("data.demo_patients", kept=True)
    demo_seed = Slot("data.demo_seed", kept=True)
    saved_upload = Slot("data.saved_upload", kept=True)
    upload = Slot("data.upload")                    # the table file picker
    schema_upload = Slot("data.schema_upload")      # the schema JSON file picker
    schema_version = Slot("data.schema_version")    # bumped by each schema change: its widgets restart
    schema_widget = Family("data.schema")           # (data token, version, "id" | "time" | "mode" | "editor")
    patient = Family("data.patient")                # per data token
    trajectory_variables = Family("data.trajectory_variables")
    trajectory_chart = Family("data.trajectory")    # per variable
    message = Flash("data.message")


class Train:
    setting = Family("train", kept=True)            # one per form setting: train.epochs, train.beta1, …
    preset = Slot("train.preset", kept=True)
    run_name = Slot("train.run_name", kept=True)
    resume_run = Slot("train.resume_run", kept=True)
    extend_run = Slot("train.extend_run", kept=True)
    more_epochs = Slot("train.more_epochs", kept=True)
    name_basis = Slot("train.name_basis")           # (data token, preset, the run name made for them)
    started = Slot("train.started")                 # the name of the run this tab started last
    form_basis = Slot("train.form_basis")   # ((patients trained, longest), preset, {setting: value it wrote})
    preferred_resume = Slot("train.preferred_resume")   # the run just stopped: offered first
    estimate = Slot("train.estimate")               # (the probe's settings, StepCosts) of the last estimate
    start_button = Slot("btn.start")
    stop_button = Slot("btn.stop")
    resume_button = Slot("btn.resume")
    extend_button = Slot("btn.extend")
    estimate_button = Slot("btn.estimate")
    message = Flash("train.message")


class Live:
    """The Train page's live panel."""

    history = Slot("live.history")   # (id of the job, {column: values}) already copied from it
    charts = Slot("live.charts")     # ((id of the job, steps), [(curve data, chart spec)])


class Compare:
    run = Picker("compare.run")
    patients = Slot("compare.patients", kept=True)
    seed = Slot("compare.seed", kept=True)
    model_scores = Slot("compare.model_scores", kept=True)
    trajectory_variable = Slot("compare.trajectory_variable", kept=True)
    results = Slot("compare.results")   # {result key: stored comparison}, the last few
    compare_button = Slot("btn.compare")
    chart = Family("compare.chart")


class Generate:
    run = Picker("generate.run")
    patients = Slot("generate.patients", kept=True)
    seed = Slot("generate.seed", kept=True)
    file_format = Slot("generate.format", kept=True)
    raw_csv = Slot("generate.raw_csv", kept=True)
    result = Slot("generate.result")    # the last generated file, its preview and settings
    generate_button = Slot("btn.generate")
    download_table_button = Slot("btn.download_table")
    download_schema_button = Slot("btn.download_schema")


class Runs:
    selected = Slot("runs.selected", kept=True)
    confirm = Slot("runs.confirm_delete")   # the run whose deletion waits for a "yes"
    delete_button = Slot("btn.delete")
    confirm_button = Slot("btn.confirm_delete")
    cancel_button = Slot("btn.cancel_delete")
    curves_chart = Family("runs.curves")
    message = Flash("runs.message")
