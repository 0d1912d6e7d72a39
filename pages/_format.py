"""Small formatting helpers shared by the pages (durations, numbers, statuses)."""

from __future__ import annotations

import math

# Material icons: drawn from Streamlit's own font, so they show on every machine (emoji may not).
STATUS_ICONS = {"created": ":material/radio_button_unchecked:", "running": ":green[:material/play_circle:]",
                "stopping": ":orange[:material/pause_circle:]", "stopped": ":material/pause_circle:",
                "finished": ":green[:material/check_circle:]", "failed": ":red[:material/error:]"}


def duration(seconds: float | None) -> str:
    """'1 h 02 min', '3 min 05 s', '42 s', or '–' when unknown."""
    if seconds is None or not math.isfinite(seconds):
        return "–"
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{secs} s"


def number(value: float | None, digits: int = 3) -> str:
    """A float with ``digits`` significant digits, or '–' when missing or not finite."""
    if value is None or not math.isfinite(value):
        return "–"
    return f"{value:.{digits}g}"


def status(value: str) -> str:
    """A run or job status with its icon, for Markdown (captions, messages); tables show the word."""
    return f"{STATUS_ICONS.get(value, '')} {value}".strip()


def table_height(rows: int) -> int:
    """Pixels for st.dataframe / st.data_editor that show every row (up to 25) without a scroll bar."""
    return 35 * (min(rows, 25) + 1) + 3
