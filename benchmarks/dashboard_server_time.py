"""Dashboard responsiveness while a job trains on the CPU: live-panel updates and page renders.

Trains the built-in cohort in a background job in a child process (as the Train page does;
``--thread`` trains in a thread of this process instead, to compare), then measures with
Streamlit's AppTest, which runs the real script machinery (elements are marshalled to protobuf,
charts to Arrow) without a browser:

- live panel: the server time of one update of the Train page's live panel (``draw_panel``,
  what the 1 s fragment runs), for the job's own short history and for a job whose history
  holds ``--history`` steps (a resumed 100-epoch run is ~21,000 steps). Wall time includes
  waiting for the GIL, which a training thread (``--thread``) holds for most of each step;
  CPU time is the script thread's own work;
- pages: the time of a full run of each page after switching to it (data loaded, caches warm).

Targets (issue 7): a live-panel update <= 100 ms of server time; a page switch renders < 1 s.

    .venv/bin/python benchmarks/dashboard_server_time.py [--updates 20] [--history 21000] [--thread]
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def panel_probe() -> None:
    """One live-panel update, timed inside a real script run (AppTest runs this as the script)."""
    import time

    import streamlit as st

    from pages._live import draw_panel
    from pages._server import job_registry

    job = job_registry().latest()
    started, cpu_started = time.perf_counter(), time.thread_time()
    draw_panel(job)
    st.session_state.setdefault("seconds", []).append(time.perf_counter() - started)
    st.session_state.setdefault("cpu_seconds", []).append(time.thread_time() - cpu_started)


def measure_panel(updates: int, pause: float) -> tuple[list[float], list[float]]:
    """(wall seconds, CPU seconds of the script thread) per update; the first update, which
    copies the whole history once, is left out."""
    from streamlit.testing.v1 import AppTest

    probe = AppTest.from_function(panel_probe, default_timeout=60)
    for _ in range(updates + 1):
        probe.run()
        time.sleep(pause)
    return probe.session_state["seconds"][1:], probe.session_state["cpu_seconds"][1:]


def measure_pages(dataset, rounds: int) -> dict[str, list[float]]:
    from streamlit.testing.v1 import AppTest

    from pages._session import App

    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    app.session_state[App.dataset.key] = dataset
    app.run()
    times: dict[str, list[float]] = {}
    for _ in range(rounds + 1):   # the first round warms the caches (schema checks, summaries)
        for page in ("data", "train", "compare", "generate", "runs"):
            started = time.perf_counter()
            app.switch_page(f"pages/{page}.py").run()
            times.setdefault(page, []).append(time.perf_counter() - started)
            assert not app.exception, [e.value for e in app.exception]
    return {page: values[1:] for page, values in times.items()}


def summary(values: list[float]) -> str:
    ms = sorted(v * 1000 for v in values)
    p90 = ms[math.ceil(0.9 * len(ms)) - 1]   # nearest rank: never below the median, even for 2 values
    return f"median {statistics.median(ms):6.1f} ms   p90 {p90:6.1f} ms   max {ms[-1]:6.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--patients", type=int, default=8916, help="built-in cohort size (default 8916)")
    parser.add_argument("--updates", type=int, default=20, help="live-panel updates per case (default 20)")
    parser.add_argument("--history", type=int, default=21000, help="steps in the long-history case (default 21000)")
    parser.add_argument("--rounds", type=int, default=3, help="page-switch rounds (default 3)")
    parser.add_argument("--thread", action="store_true",
                        help="train in a thread of this process instead of a child process (the old way, to compare)")
    args = parser.parse_args()
    os.environ["HGYM_MODELS_DIR"] = tempfile.mkdtemp(prefix="hgym-bench-models-")
    os.environ["HGYM_DATA_DIR"] = tempfile.mkdtemp(prefix="hgym-bench-uploads-")

    import numpy as np

    from hgym_core.gan.config import preset
    from hgym_core.gan.events import METRIC_COLUMNS
    from hgym_core.runs.tasks import fit_run
    from hgym_core.runs.training_process import in_subprocess
    from pages._datasets import demo_dataset
    from pages._paths import models_dir
    from pages._server import job_registry

    dataset = demo_dataset(args.patients, 0)
    config = preset("quick").replace(epochs=1000, cpu_threads=1)
    registry = job_registry()

    def train(name: str, history=None):
        task = partial(fit_run, dataset.schema, config, dataset.frame, models_dir() / name, dataset.source)
        return registry.start(name, task if args.thread else in_subprocess(task), history=history)

    where = "a thread of this process" if args.thread else "a child process (as the Train page does)"
    print(f"training in {where} with 1 torch thread of {os.cpu_count()} cores; cohort {args.patients:,} patients")
    job = train("bench-short")
    while job.snapshot().step < 5:
        time.sleep(0.2)
    wall, cpu = measure_panel(args.updates, 1.0)
    print(f"live panel, {job.snapshot().step:>6,} steps of history, wall: {summary(wall)}")
    print(f"                                   CPU:  {summary(cpu)}")
    pages = measure_pages(dataset, args.rounds)
    for page, values in pages.items():
        print(f"page {page:<8} full run while training:      {summary(values)}")
    job.stop()
    job.join()

    rng = np.random.default_rng(0)
    n = args.history
    history = {column: rng.normal(size=n).tolist() for column in METRIC_COLUMNS}
    history["step"] = list(range(1, n + 1))
    history["length"] = [10 * (1 + (i // 35) % 6) for i in range(n)]
    long_job = train("bench-long", history)
    while long_job.snapshot().step < 5:
        time.sleep(0.2)
    wall, cpu = measure_panel(args.updates, 1.0)
    print(f"live panel, {len(long_job.snapshot().history['step']):>6,} steps of history, wall: {summary(wall)}")
    print(f"                                   CPU:  {summary(cpu)}")
    long_job.stop()
    long_job.join()


if __name__ == "__main__":
    main()
