"""Small formatting helpers shared by the pages: text from files made safe for Markdown, durations,
numbers, statuses."""

from __future__ import annotations

import math
import re

# Material icons: drawn from Streamlit's own font, so they show on every machine (emoji may not).
STATUS_ICONS = {"created": ":material/radio_button_unchecked:", "running": ":green[:material/play_circle:]",
                "stopping": ":orange[:material/pause_circle:]", "stopped": ":material/pause_circle:",
                "finished": ":green[:material/check_circle:]", "failed": ":red[:material/error:]"}


# The characters Streamlit's Markdown gives a meaning to anywhere in a line (CommonMark, GitHub's
# extensions, its own directives): links and images [..](..), emphasis * _ ~, code `, LaTeX $, emoji,
# icons and colours :smile: :material/x: :red[..], HTML and autolinks < &, tables |, the escape \;
# and those that count only at a line's start: headings #, quotes >, lists - + 1. 1), rules and
# underlined headings - = (each escaped there only, so "tiny-run" and "(40 patients)" stay as typed).
ANYWHERE = re.compile(r"([\\`*_\[\]<&$:|~])")
LINE_START = re.compile(r"^([ \t]*)([-+=#>])", re.MULTILINE)
LIST_NUMBER = re.compile(r"^([ \t]*\d+)([.)])(?=\s|$)", re.MULTILINE)
LINE_BREAKS = re.compile(r"\r\n|\r|\n")
# Some rewrites work on the parsed text, where no escape reaches: web addresses (http://, www.) and
# email addresses become links (GitHub's autolinks), :streamlit: Streamlit's logo, :material/x: an
# icon, and "->", "<=", "--" (between spaces) arrows and dashes. An invisible word joiner (U+2060)
# inside each keeps it as typed.
WORD_JOINER = "\u2060"
REWRITTEN_WORDS = re.compile(r"(?<=http:|ttps:)(?=//)|(?<=www)(?=\.)|(?<=@)|(?<=:)(?=streamlit:|material[_/]\w+:)",
                             re.IGNORECASE)
REWRITTEN_SIGNS = re.compile(r"(?:^|(?<=\s))(?=(?:<->|->|<-|--|>=|<=|~=)(?:\s|$))(.)", re.MULTILINE)


def plain(text: object) -> str:
    """``text`` (a column name, a label, a file or run name, a message quoting them) as Markdown that
    shows exactly those characters and nothing else: no link, image, emoji, formula or formatting.

    Special characters get a backslash (CommonMark's escape for ASCII punctuation, which also stops
    the emoji and directive extensions and Streamlit's LaTeX detection), the rewrites no escape
    stops get a word joiner, and each line break becomes a hard break, so a message's lines stay lines.
    """
    text = REWRITTEN_WORDS.sub(WORD_JOINER, str(text))
    text = REWRITTEN_SIGNS.sub(lambda found: found.group(1) + WORD_JOINER, text)
    text = ANYWHERE.sub(r"\\\1", text)
    text = LIST_NUMBER.sub(r"\1\\\2", LINE_START.sub(r"\1\\\2", text))
    return LINE_BREAKS.sub("  \n", text)


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


def epochs(done: int, target: int, time_budget: float | None = None) -> str:
    """'3/10 epochs'; with a time budget, which ends a run long before its epochs (the auto preset
    sets 1,000,000 as a ceiling), '519 epochs in a 1 min 00 s budget'."""
    if time_budget:
        return f"{done:,} epoch{'' if done == 1 else 's'} in a {duration(time_budget)} budget"
    return f"{done:,}/{target:,} epochs"


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
