"""Encoding speed and memory on the full built-in cohort (8,916 patients x 60 months = 534,960 rows).

Targets (issue 3): fit + encode <= 5 s; decode of 8,916 synthetic patients x 60 months <= 5 s;
peak extra memory <= 3x the encoded tensor. Prints figures; asserts nothing (timings on a shared
2-core machine are noisy).

    .venv/bin/python benchmarks/encoding.py [--patients 8916]

Each step runs twice: once timed, once under ``tracemalloc`` (which slows it several-fold) for
memory: the peak of Python/numpy allocations during the step (the input already exists) plus the
peak of pyarrow's allocations (a proxy pool), which hold pandas' text columns and are invisible to
tracemalloc.
"""

from __future__ import annotations

import argparse
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hgym_core.data.demo import simulate_hiv_cohort  # noqa: E402
from hgym_core.data.encoding import Encoder  # noqa: E402
from hgym_core.data.schema import Schema  # noqa: E402


PROXY_POOLS: list = []


def measured(step):
    """(result, seconds, peak extra bytes) of ``step``: timed untraced, then traced for memory."""
    started = time.perf_counter()
    result = step()
    seconds = time.perf_counter() - started
    del result
    base = pyarrow.default_memory_pool()
    pool = pyarrow.proxy_memory_pool(base)   # its own high-water mark, counted from now
    PROXY_POOLS.append(pool)   # arrays allocated through it must never outlive it
    pyarrow.set_memory_pool(pool)
    tracemalloc.start()
    result = step()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    pyarrow.set_memory_pool(base)
    return result, seconds, peak + pool.max_memory()


def with_real_table_extras(table: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """The cohort with what real tables have: ragged lengths, empty VL cells, visit days."""
    rng = np.random.default_rng(seed)
    step = table.groupby("PatientID").cumcount().to_numpy()
    keep = step < rng.integers(6, 61, table["PatientID"].nunique())[table["PatientID"].to_numpy()]
    table = table[keep].reset_index(drop=True)
    table.loc[rng.random(len(table)) < 0.2, "VL"] = np.nan
    days = rng.integers(1, 45, len(table))
    table["Timestep"] = pd.Series(days).groupby(table["PatientID"].to_numpy()).cumsum().to_numpy()
    return table.rename(columns={"Timestep": "Day"})


def report(label: str, table: pd.DataFrame) -> None:
    schema = Schema.infer(table)
    encoder, fit_s, fit_peak = measured(lambda: Encoder.fit(table, schema))
    cohort, encode_s, encode_peak = measured(lambda: encoder.encode(table))
    tensor_bytes = cohort.padded().numel() * cohort.padded().element_size()
    mib = 2 ** 20
    print(f"{label}: {len(table):,} rows, {table.shape[1]} columns; tensor {tuple(cohort.padded().shape)} "
          f"float32 = {tensor_bytes / mib:.0f} MiB")
    print(f"  fit            {fit_s:6.2f} s   peak extra {fit_peak / mib:6.0f} MiB")
    print(f"  encode         {encode_s:6.2f} s   peak extra {encode_peak / mib:6.0f} MiB "
          f"({encode_peak / tensor_bytes:.2f}x tensor, the tensor itself included)")
    print(f"  fit + encode   {fit_s + encode_s:6.2f} s   (target <= 5 s)")
    rng = np.random.default_rng(0)
    raw = torch.from_numpy(rng.random(tuple(cohort.padded().shape), dtype=np.float32))   # like generator output
    synthetic, decode_s, decode_peak = measured(lambda: encoder.decode(raw))
    print(f"  decode (random){decode_s:6.2f} s   peak extra {decode_peak / mib:6.0f} MiB "
          f"({decode_peak / tensor_bytes:.2f}x tensor) -> {len(synthetic):,} rows   (target <= 5 s)")
    exact, exact_s, exact_peak = measured(lambda: encoder.decode(cohort.padded()))
    print(f"  decode (exact) {exact_s:6.2f} s   peak extra {exact_peak / mib:6.0f} MiB "
          f"({exact_peak / tensor_bytes:.2f}x tensor) -> {len(exact):,} rows")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=8916)
    args = parser.parse_args()
    torch.set_num_threads(2)
    table = simulate_hiv_cohort(n_patients=args.patients, seed=0)
    report("built-in cohort", table)
    report("with ragged lengths, 20% empty VL and visit days", with_real_table_extras(table))


if __name__ == "__main__":
    main()
