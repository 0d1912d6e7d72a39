"""Which device trains, and how it is named for people."""

from __future__ import annotations

import pytest
import torch

from hgym_core.device import describe_device, resolve_device
from hgym_core.errors import HGymError


def test_auto_picks_cuda_only_when_it_is_usable():
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert resolve_device("CPU ").type == "cpu"


@pytest.mark.parametrize("name", ["gpu", "mps", "cuda:x"])
def test_an_unknown_device_names_the_setting_and_the_choices(name):
    with pytest.raises(HGymError, match="Setting 'device' cannot be"):
        resolve_device(name)


def test_the_cpu_label_counts_the_runs_threads_when_it_sets_them():
    assert describe_device("cpu", cpu_threads=3) == "CPU (3 threads)"
    assert describe_device("cpu", cpu_threads=1) == "CPU (1 thread)"
    current = torch.get_num_threads()
    assert describe_device("cpu") == f"CPU ({current} thread{'s' if current != 1 else ''})"
