"""The command line's progress line on stderr: redrawn in place on a terminal, throttled lines elsewhere."""

from __future__ import annotations

import io

from hgym_core.cli._progress import ProgressLine


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_one_line_is_redrawn_in_place_and_cleared_at_the_end():
    stream = Terminal()
    with ProgressLine(None, stream) as line:
        line.show("sampled 3/7")
        line.show("sampled 7/7", last=True)
    text = stream.getvalue()
    assert "\n" not in text and text.startswith("\rsampled 3/7") and "\rsampled 7/7" in text
    assert text.endswith("\r") and text.rsplit("\r", 2)[1].strip() == ""   # blanked, cursor back at the start


def test_elsewhere_lines_come_only_when_asked_at_most_every_interval_and_always_the_last():
    quiet = io.StringIO()
    with ProgressLine(None, quiet) as line:
        line.show("step 0")
        line.show("step 1", last=True)
    assert quiet.getvalue() == ""
    throttled = io.StringIO()
    with ProgressLine(3600, throttled) as line:
        for step in range(5):
            line.show(f"step {step}", last=step == 4)
    assert throttled.getvalue().splitlines() == ["step 0", "step 4"]
