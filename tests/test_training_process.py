"""Training in a child process: events, logs, stop, failures and a vanished server all reach the
job exactly as they would from a thread. The tasks (tests/_child_tasks.py) are tiny fakes; the
real trainer in a child process is exercised by tests/test_pages_train.py."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from functools import partial

import pytest
import torch

from hgym_core.runs.jobs import TrainingJob
from hgym_core.runs.training_process import in_subprocess
from tests import _child_tasks as tasks

WAIT = 60.0   # a child process starts in about a second; generous for a loaded 2-core machine


def wait_for(condition, seconds: float = WAIT) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_events_and_log_lines_arrive_in_order_despite_stray_output():
    job = TrainingJob("count", in_subprocess(partial(tasks.count_steps, 50))).start()
    assert job.join(WAIT)
    snap = job.snapshot()
    assert snap.status == "finished", snap.error
    assert snap.history["step"] == list(range(1, 51))
    assert snap.history["d_loss"] == [-float(step) for step in range(1, 51)]
    assert any("training process" in line for line in snap.log)
    assert any("counting to 50" in line for line in snap.log)


def test_stop_reaches_the_child_which_ends_its_own_way(tmp_path):
    marker = tmp_path / "how-it-ended"
    job = TrainingJob("loop", in_subprocess(partial(tasks.until_stopped, str(marker)))).start()
    wait_for(lambda: job.snapshot().step >= 3)
    job.stop()
    assert job.join(WAIT)
    assert job.status == "stopped"
    assert marker.read_text().startswith("stopped after step")
    assert any("checkpoint saved" in line for line in job.snapshot().log)


@pytest.mark.parametrize("user_error, message", [
    (True, "Setting 'lr' is wrong; use a smaller one."),
    (False, "KeyError: 'missing key'"),
])
def test_a_failure_in_the_child_becomes_the_jobs_message_with_the_childs_traceback(user_error, message):
    job = TrainingJob("fails", in_subprocess(partial(tasks.fail, user_error))).start()
    assert job.join(WAIT)
    assert job.status == "failed"
    assert job.error == message
    assert "_child_tasks.py" in job.traceback and "in fail" in job.traceback


def test_a_killed_child_fails_the_job_with_a_message_that_says_so():
    job = TrainingJob("killed", in_subprocess(tasks.die)).start()
    assert job.join(WAIT)
    assert job.status == "failed"
    assert "killed by signal 9" in job.error and "resumed" in job.error
    assert job.snapshot().history["step"] == [1]     # what it reported before dying is kept


def test_the_child_stops_cleanly_when_the_server_process_dies(tmp_path):
    """End of input is a stop request: the child saves and ends instead of training unseen."""
    marker = tmp_path / "how-it-ended"
    server = textwrap.dedent(f"""
        import os, time
        from functools import partial
        from hgym_core.runs.jobs import TrainingJob
        from hgym_core.runs.training_process import in_subprocess
        from tests import _child_tasks as tasks
        job = TrainingJob("orphan", in_subprocess(partial(tasks.until_stopped, {str(marker)!r}))).start()
        while job.snapshot().step < 3:
            time.sleep(0.05)
        os._exit(0)   # no clean-up at all, as if the server was killed
    """)
    subprocess.run([sys.executable, "-c", server], check=True, timeout=WAIT, cwd=tasks.__file__.rsplit("/tests/", 1)[0])
    wait_for(marker.exists)
    assert marker.read_text().startswith("stopped after step")


def test_the_childs_torch_threads_leave_the_server_alone():
    before = torch.get_num_threads()
    target = 1 if before != 1 else 2
    job = TrainingJob("threads", in_subprocess(partial(tasks.torch_threads, target))).start()
    assert job.join(WAIT) and job.status == "finished", job.error
    assert any(f"child uses {target} thread" in line for line in job.snapshot().log)
    assert torch.get_num_threads() == before


def test_a_task_that_cannot_be_pickled_fails_the_job_and_ends_its_child():
    job = TrainingJob("local", in_subprocess(lambda **hooks: "finished")).start()
    assert job.join(WAIT)
    assert job.status == "failed" and "pickle" in job.error.lower()
    assert job.snapshot().history["step"] == []


def test_the_job_ends_when_the_child_reports_its_outcome_not_when_it_has_shut_down():
    """The run is saved before the child says "done": its interpreter's shutdown (seconds with
    torch) must not hold the finished status back (issue 24, item 4: the run ends on time)."""
    job = TrainingJob("slow-exit", in_subprocess(partial(tasks.slow_to_exit, 5.0))).start()
    wait_for(lambda: job.snapshot().step >= 1)
    reported = time.monotonic()
    assert job.join(WAIT) and job.status == "finished", job.error
    assert time.monotonic() - reported < 2.5
