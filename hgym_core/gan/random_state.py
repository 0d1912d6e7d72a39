"""Every random stream training touches, captured as tensors and plain values (weights_only-safe).

A checkpoint stores them so that a resumed run draws the same numbers as an unbroken one.
"""

from __future__ import annotations

import random
from typing import Mapping

import numpy as np
import torch


def capture_rng_states(noise: torch.Generator) -> dict:
    """Every random stream training touches: torch (CPU and CUDA), numpy, Python, and the noise generator."""
    np_kind, np_keys, np_pos, np_has_gauss, np_gauss = np.random.get_state()
    py_version, py_state, py_gauss = random.getstate()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": {"kind": np_kind, "keys": torch.from_numpy(np_keys.astype(np.int64)), "pos": int(np_pos),
                  "has_gauss": int(np_has_gauss), "cached_gaussian": float(np_gauss)},
        "python": {"version": py_version, "state": torch.tensor(py_state, dtype=torch.int64), "gauss_next": py_gauss},
        "noise": noise.get_state(),
        "noise_device": str(noise.device),
    }


def restore_rng_states(states: Mapping, noise: torch.Generator) -> bool:
    """Restore what ``capture_rng_states`` saved; False when the noise stream could not be
    restored because the run moved between CPU and CUDA (the caller reseeds it).

    RNG states are CPU byte tensors whatever the device, so each is brought back to the CPU in
    case the checkpoint was loaded with a CUDA map_location."""
    torch.set_rng_state(states["torch"].cpu())
    if states["cuda"] and torch.cuda.is_available() and len(states["cuda"]) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all([state.cpu() for state in states["cuda"]])
    numpy_state = states["numpy"]
    np.random.set_state((numpy_state["kind"], numpy_state["keys"].cpu().numpy().astype(np.uint32), numpy_state["pos"],
                         numpy_state["has_gauss"], numpy_state["cached_gaussian"]))
    python_state = states["python"]
    random.setstate((python_state["version"], tuple(int(v) for v in python_state["state"].cpu().tolist()),
                     python_state["gauss_next"]))
    if torch.device(states["noise_device"]).type != noise.device.type:
        return False
    noise.set_state(states["noise"].cpu())
    return True
