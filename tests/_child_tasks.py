"""Training tasks for tests of ``training_process``: they run in a child process, so they live
in a module of their own with nothing heavy to import, and they talk like the real trainer."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from hgym_core.errors import HGymError
from hgym_core.gan.events import TrainEvent


def event(step: int, steps_target: int) -> TrainEvent:
    return TrainEvent(epoch=1, length=10, step=step, d_loss=-float(step), gp=0.1, d_real=1.0, d_fake=0.5, w=0.5,
                      g_loss=0.2, corr=0.3, seconds=0.01, epochs_target=1, steps_target=steps_target)


def count_steps(steps: int, callbacks, stop_event, log) -> str:
    """Emits ``steps`` events (printing to stdout on the way, as libraries sometimes do)."""
    log(f"counting to {steps}")
    for step in range(1, steps + 1):
        print(f"stray output at step {step}")
        for callback in callbacks:
            callback(event(step, steps))
    return "finished"


def until_stopped(marker: str, callbacks, stop_event, log) -> str:
    """Steps every 20 ms until asked to stop, then records how it ended in ``marker``."""
    step = 0
    while not stop_event.is_set():
        step += 1
        for callback in callbacks:
            callback(event(step, 10**6))
        time.sleep(0.02)
    log("checkpoint saved")
    Path(marker).write_text(f"stopped after step {step}")
    return "stopped"


def fail(user_error: bool, callbacks, stop_event, log) -> str:
    if user_error:
        raise HGymError("Setting 'lr' is wrong; use a smaller one.")
    return {}["missing key"]


def die(callbacks, stop_event, log) -> str:
    for callback in callbacks:
        callback(event(1, 10))
    os.kill(os.getpid(), signal.SIGKILL)
    return "finished"


def torch_threads(threads: int, callbacks, stop_event, log) -> str:
    import torch

    torch.set_num_threads(threads)
    log(f"child uses {torch.get_num_threads()} thread(s)")
    return "finished"


def slow_to_exit(seconds: float, callbacks, stop_event, log) -> str:
    """Finishes at once, then takes ``seconds`` to shut down (as torch's interpreter can, at nice 10)."""
    import atexit

    atexit.register(time.sleep, seconds)
    for callback in callbacks:
        callback(event(1, 1))
    return "finished"
