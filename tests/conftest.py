"""Shared fixtures. Data is small: the whole suite runs on 2 CPU cores in CI."""

from __future__ import annotations

import pytest
import torch


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
