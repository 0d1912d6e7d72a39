"""What every tab of this server process shares: the one training-job registry, and a one-time
garbage-collection freeze of the imported libraries."""

from __future__ import annotations

import gc

import streamlit as st

from hgym_core.runs.jobs import JobRegistry


@st.cache_resource
def freeze_imported_objects() -> None:
    """Once per server: leave the ~315,000 objects of the imported libraries out of garbage collection.

    A full collection scans every tracked object: ~185 ms with torch, pandas and Streamlit
    loaded, ~0 ms once they are frozen. Whichever request a collection lands on waits that long.
    """
    gc.freeze()


@st.cache_resource
def job_registry() -> JobRegistry:
    """The process's one registry: training survives closed tabs and every tab sees the same job."""
    return JobRegistry()
