"""The sidebar of every page: the current data, the current run and the training job."""

from __future__ import annotations

import streamlit as st

from hgym_core.jobs import ACTIVE
from pages import _format as fmt
from pages._state import current_dataset, current_run, job_registry


def render_sidebar() -> None:
    dataset = current_dataset()
    with st.sidebar:
        st.markdown("**Current data**")
        st.caption(f"{dataset.name} · {dataset.n_patients:,} patients")
        st.markdown("**Current run**")
        st.caption(current_run() or "none yet: train one or pick one")
        st.markdown("**Training job**")
        job = job_registry().latest()
        if job is not None and job.status in ACTIVE:
            _live_job_status()
        else:
            _job_status()


def _job_status() -> None:
    job = job_registry().latest()
    if job is None:
        st.caption("No job in this server process.")
        return
    snap = job.snapshot()
    progress = f" · epoch {snap.epoch}/{snap.epochs_target}" if snap.epochs_target else ""
    st.caption(f"{fmt.status(snap.status)} · {snap.name}{progress}")


# Polls only while a job is active, so idle pages cost nothing.
_live_job_status = st.fragment(run_every="3s")(_job_status)
