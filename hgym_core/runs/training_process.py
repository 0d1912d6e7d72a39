"""Training in a child Python process, apart from the process that watches it.

The dashboard's server then never waits for the GIL behind a training step's Python work, its
torch thread setting stays its own, and training that dies (out of memory, killed) leaves the
server running and says so. The server only copies events from a pipe.

``in_subprocess(task)`` wraps a training task into a function of the shape ``TrainingJob``
runs, ``train(callbacks=[...], stop_event=Event, log=callable) -> status``; the job cannot tell
the difference. The task must be picklable (a module-level function or a ``functools.partial``
of one, such as ``hgym_core.runs.tasks.fit_run``).

The protocol, over the child's standard streams:

* server → child, on stdin: the task (its pickle's length, then the pickle), then ``STOP``
  when the job is asked to stop. End of input (the server exited, however it died) stops the
  child the same way: it finishes the current step, saves a checkpoint and exits, rather than
  training on unseen. So does SIGTERM sent to the child itself (a timeout, systemd, docker stop).
* child → server, pickled on the child's original stdout: ``("event", TrainEvent)``,
  ``("log", str)``, then ``("done", status)`` or ``("failed", (message, traceback))``. Anything
  the child prints goes to stderr, so it cannot corrupt the stream.
"""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import threading
import traceback
from pathlib import Path
from typing import Any, Callable, Iterable

from hgym_core.errors import HGymError, user_message
from hgym_core.runs.lock import PROCESS_LABEL_ENV

STOP = b"stop\n"
PACKAGE_ROOT = Path(__file__).resolve().parents[2]  # the folder holding hgym_core, for the child's imports


class TrainingProcessFailed(HGymError):
    """The task raised in the child; the message is the child's, its traceback a note."""


def in_subprocess(task: Callable[..., str | None]) -> Callable[..., str | None]:
    """``task`` run in a fresh Python process, with the job's hooks relayed (see the module doc)."""
    def train(callbacks: Iterable[Callable], stop_event: threading.Event, log: Callable[[str], None]) -> str | None:
        child = _spawn()
        log(f"training process {child.pid} started")
        relay = threading.Thread(target=_relay_stop, args=(stop_event, child), daemon=True,
                                 name=f"hgym-stop-relay-{child.pid}")
        relay.start()
        try:
            _send_task(child, task)
            outcome = _follow(child, list(callbacks), log)
        except BaseException:
            _end(child, relay)
            raise
        # The outcome is in and the run is saved: the job ends now, on time, while the child's
        # interpreter shuts down (a second or two with torch at nice 10); a thread reaps it.
        threading.Thread(target=_end, args=(child, relay), daemon=True, name=f"hgym-reap-{child.pid}").start()
        return outcome

    return train


def _end(child: subprocess.Popen, relay: threading.Thread) -> None:
    child.stdin.close()    # a still-running child reads this as "stop" (or, before a task, ends)
    child.wait()
    relay.join()


def _spawn() -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        filter(None, [str(PACKAGE_ROOT), os.environ.get("PYTHONPATH")])))
    # What a refused second writer is told holds the run (runs/lock.py).
    env[PROCESS_LABEL_ENV] = f"the dashboard's training process (server process {os.getpid()})"
    return subprocess.Popen([sys.executable, "-m", "hgym_core.runs.training_process"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, env=env)


def _send_task(child: subprocess.Popen, task: Callable) -> None:
    """Pickled here and dropped once written: held by the job instead, the bytes (85 MB for the
    built-in cohort's table) would stay in the server for as long as the job is listed."""
    payload = pickle.dumps(task)
    child.stdin.write(len(payload).to_bytes(8, "big") + payload)
    child.stdin.flush()


def _relay_stop(stop_event: threading.Event, child: subprocess.Popen) -> None:
    """Pass a stop request on to the child; ends when either happens (looks twice a second)."""
    while not stop_event.wait(0.5):
        if child.poll() is not None:
            return
    try:
        child.stdin.write(STOP)
        child.stdin.flush()
    except (BrokenPipeError, ValueError):   # the child ended meanwhile, or its stdin was closed
        pass


def _follow(child: subprocess.Popen, callbacks: list[Callable], log: Callable[[str], None]) -> str | None:
    """Hand the child's messages to the job until it reports its outcome."""
    while True:
        try:
            kind, content = pickle.load(child.stdout)
        except (EOFError, pickle.UnpicklingError):
            code = child.wait()
            how = f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"
            raise HGymError(f"The training process {how} before it finished (out of memory?); the run keeps "
                            "its last checkpoint and can be resumed from there.") from None
        if kind == "event":
            for callback in callbacks:
                callback(content)
        elif kind == "log":
            log(content)
        elif kind == "done":
            return content
        else:
            message, child_traceback = content
            failure = TrainingProcessFailed(message)
            failure.add_note(f"in the training process:\n{child_traceback}")
            raise failure


# --------------------------------------------------------------------------- the child's side

def _child_main() -> None:
    channel = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())   # stray prints go to stderr, not into the channel
    signal.signal(signal.SIGINT, signal.SIG_IGN)        # Ctrl-C in the server's terminal: the server stops us
    if hasattr(os, "nice"):   # Unix: the pages and the browser come before training on a shared CPU
        os.nice(10)
    stdin = sys.stdin.fileno()   # read unbuffered: a daemon thread blocked in a buffered read aborts at exit
    task = pickle.loads(_read_exactly(stdin, int.from_bytes(_read_exactly(stdin, 8), "big")))
    stop_event = threading.Event()
    threading.Thread(target=_watch_stdin, args=(stdin, stop_event), daemon=True).start()
    # SIGTERM is a clean stop, like STOP. Set from a thread: the handler runs in this (the main)
    # thread, which may itself be inside stop_event.set() holding the event's lock.
    signal.signal(signal.SIGTERM, lambda signum, frame: threading.Thread(target=stop_event.set).start())
    lock = threading.Lock()

    def send(kind: str, content: Any) -> None:
        with lock:
            try:
                pickle.dump((kind, content), channel)
                channel.flush()
            except BrokenPipeError:   # the server is gone: finish the step, save, stop
                stop_event.set()

    try:
        status = task(callbacks=[lambda event: send("event", event)], stop_event=stop_event,
                      log=lambda message: send("log", message))
    except Exception as problem:
        send("failed", (user_message(problem), traceback.format_exc()))
    else:
        send("done", status)


def _read_exactly(fd: int, size: int) -> bytes:
    chunks = []
    while size:
        chunk = os.read(fd, size)
        if not chunk:
            raise SystemExit("hgym_core.runs.training_process: the server closed the pipe before sending a task")
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def _watch_stdin(stdin: int, stop_event: threading.Event) -> None:
    """Set ``stop_event`` on a STOP line or at end of input (the server went away)."""
    received = b""
    while STOP not in received:
        chunk = os.read(stdin, 64)
        if not chunk:
            break
        received += chunk
    stop_event.set()


if __name__ == "__main__":
    _child_main()
