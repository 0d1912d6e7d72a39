"""Which device trains and samples: CUDA when present, else the CPU; a setting overrides.

Nothing else in hgym_core names a device; it asks ``resolve_device(config.device)``.
"""

from __future__ import annotations

import torch

from hgym_core.errors import HGymError


def resolve_device(name: str = "auto") -> torch.device:
    """"auto" -> the first CUDA GPU when one is usable, else the CPU; "cpu", "cuda", "cuda:1" force one."""
    name = (name or "auto").strip().lower()
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise HGymError(f"Setting 'device' cannot be '{name}': use 'auto', 'cpu', 'cuda' or 'cuda:N'.") from None
    if device.type not in ("cpu", "cuda"):
        raise HGymError(f"Setting 'device' cannot be '{name}': use 'auto', 'cpu', 'cuda' or 'cuda:N'.")
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise HGymError(f"Setting 'device' is '{name}' but no CUDA GPU is usable here; use 'auto' or 'cpu'.")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise HGymError(f"Setting 'device' is '{name}' but only {torch.cuda.device_count()} CUDA GPU(s) exist; "
                            f"use 'cuda:0' to 'cuda:{torch.cuda.device_count() - 1}'.")
    return device


def apply_cpu_threads(threads: int | None) -> None:
    """Use ``threads`` CPU threads for torch's maths (None leaves torch's default).

    Process-wide, like torch itself. The dashboard trains in a child process, so the setting
    stays there; it passes one thread fewer than the cores to leave one to the server.
    """
    if threads is not None and threads != torch.get_num_threads():
        torch.set_num_threads(int(threads))


def describe_device(device: torch.device | str = "auto", cpu_threads: int | None = None) -> str:
    """A short label for people: 'CPU (2 threads)' or the GPU's name, e.g. 'NVIDIA H100 80GB HBM3 (cuda:0)'.

    On the CPU it counts ``cpu_threads`` (a run's setting) or, without one, this process's torch threads.
    """
    device = resolve_device(device) if isinstance(device, str) else device
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        return f"{torch.cuda.get_device_name(index)} (cuda:{index})"
    threads = cpu_threads or torch.get_num_threads()
    return f"CPU ({threads} thread{'s' if threads != 1 else ''})"
