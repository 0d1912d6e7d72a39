"""The sidebar of every page: the current data, the current run and the training job."""

from __future__ import annotations

import sys

import streamlit as st

from hgym_core.runs.jobs import ACTIVE
from pages import _format as fmt
from pages._datasets import current_dataset
from pages._run_picker import current_run
from pages._server import job_registry


def render_sidebar(poll_job: bool = True) -> None:
    """``poll_job=False`` on the Train page: its live panel already redraws the job every second,
    and a second timer on the page would queue behind it (one script thread per session)."""
    dataset = current_dataset()
    with st.sidebar:
        st.markdown("**Current data**")
        st.caption(f"{fmt.plain(dataset.name)} · {dataset.n_patients:,} patients")
        st.markdown("**Current run**")
        st.caption(fmt.plain(current_run()) if current_run() else "none yet: train one or pick one")
        st.markdown("**Training job**")
        job = job_registry().latest()
        if job is not None and job.status in ACTIVE and poll_job:
            _live_job_status()
        else:
            _job_status(live_on_page=not poll_job)


def _job_status(live_on_page: bool = False) -> None:
    job = job_registry().latest()
    if job is None:
        st.caption("No job in this server process.")
        return
    snap = job.snapshot(history_from=sys.maxsize)
    if live_on_page and snap.status in ACTIVE:
        progress = " · live on this page"
    else:
        progress = "" if not snap.epochs_target else (
            f" · epoch {snap.epoch:,} of a {fmt.duration(snap.time_budget)} budget" if snap.time_budget
            else f" · epoch {snap.epoch:,}/{snap.epochs_target:,}")
    st.caption(f"{fmt.status(snap.status)} · {fmt.plain(snap.name)}{progress}")


# Polls only while a job is active, so idle pages cost nothing.
_live_job_status = st.fragment(run_every="3s")(_job_status)
