"""One st.progress bar fed by hgym_core's progress callbacks (sampling, scoring), each over its part of the bar.

The callbacks run in the script thread (sample and evaluate are called from the page), so they
may update the bar directly.
"""

from __future__ import annotations

import time
from typing import Callable

import streamlit as st


class ProgressBar:
    """``bar.sampling(0, 0.3)`` and ``bar.scoring(0.3, 1)`` give the callbacks that fill those parts."""

    def __init__(self, text: str):
        self.bar = st.progress(0.0, text=text)

    def _show(self, start: float, end: float, fraction: float, text: str) -> None:
        self.bar.progress(min(1.0, start + (end - start) * fraction), text=text)

    def sampling(self, start: float = 0.0, end: float = 1.0) -> Callable[[int, int], None]:
        """For ``Synthesizer.sample(progress=...)``: patients done of the total, and patients per second."""
        started = time.perf_counter()

        def report(done: int, total: int) -> None:
            rate = done / max(time.perf_counter() - started, 1e-6)
            self._show(start, end, done / total, f"Sampled {done:,} of {total:,} patients ({rate:,.0f} patients/s)")
        return report

    def scoring(self, start: float = 0.0, end: float = 1.0) -> Callable[[str, float], None]:
        """For ``evaluate(progress=...)``: the running stage, e.g. 'detection: sequence classifier 2 of 3'."""
        def report(stage: str, fraction: float) -> None:
            self._show(start, end, fraction, "Scored" if stage == "done" else f"Scoring — {stage}…")
        return report
