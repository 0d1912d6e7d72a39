"""Shared by the evaluation tests that train small torch models."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(scope="module")
def one_torch_thread():
    """One torch thread: tiny GRUs run as fast and far steadier on a shared 2-core machine (two
    threads contending with other processes spin on each of the 60 time steps' tiny ops)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
