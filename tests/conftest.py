"""Shared fixtures. Data is small: the whole suite runs on 2 CPU cores in CI."""

from __future__ import annotations

import os

import pytest
import torch

# Under pytest-xdist these run together in one worker each, in order (pytest_xdist_make_scheduler):
KEPT_TOGETHER = (
    "tests/e2e/",                        # one Streamlit server, one Chromium, the journey's one tab
    "tests/test_cli_train_sample.py",    # one `train` run in a child process, sampled and resumed
    "tests/test_quality_benchmark.py",   # one tiny benchmark run in a child process
)

# Under pytest-xdist the workers share the cores: each worker's torch gets its share of them, as
# torch's default (one thread per core in every worker) would spin threads against each other.
if os.environ.get("PYTEST_XDIST_WORKER"):
    torch.set_num_threads(max(1, len(os.sched_getaffinity(0)) // int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))))


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """Under pytest-xdist (`make test` runs `-n auto`) the tests of each KEPT_TOGETHER entry run in
    one worker, in order: the browser tests share one Streamlit server, one Chromium and the
    journey's one tab (session fixtures in tests/e2e/conftest.py), which each worker would otherwise
    start again, and the journey's steps build on each other; the two modules share a costly
    module fixture. These go out first, largest first (xdist's --loadscope-reorder); every other
    test goes on its own to whichever worker is free, so the workers end together.

    This is what `--dist loadgroup` with an `xdist_group` mark would do, but with pytest 9.2 and
    pytest-xdist 3.8.0 that mark is silently ignored (pytest-dev/pytest-xdist#1386): xdist writes the
    group into `item._nodeid`, which pytest's node ids no longer read."""
    if config.getvalue("dist") not in ("load", "loadgroup"):
        return None   # an explicit --dist loadscope, loadfile, each, ... is the caller's choice
    from xdist.scheduler import LoadScopeScheduling

    class KeptTogether(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return next((prefix for prefix in KEPT_TOGETHER if nodeid.startswith(prefix)), nodeid)

    return KeptTogether(config, log)


@pytest.fixture(scope="session")
def hiv_cohort():
    """A small simulated HIV ART cohort (the built-in data), 200 patients x 60 months."""
    from hgym_core.data.demo import simulate_hiv_cohort

    return simulate_hiv_cohort(n_patients=200, seed=7)


@pytest.fixture(scope="module")
def one_torch_thread():
    """One torch thread for modules that train tiny models: they run as fast and far steadier on a
    shared 2-core machine (two threads contending with other processes spin on every tiny op)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
