"""Small formatting helpers shared by the pages (durations, numbers, statuses)."""

from __future__ import annotations

import math

STATUS_ICONS = {"created": "⚪", "running": "🟢", "stopping": "🟡", "stopped": "⏸️", "finished": "✅",
                "failed": "🔴"}


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
    return f"{STATUS_ICONS.get(value, '')} {value}".strip()
