"""What both peer runners share: the command line, reading train.csv + meta.json, writing
synthetic.csv, seeding, and the one JSON line on stdout.

Imported by par.py and dgan.py (it sits beside them, so their own folder is on sys.path).
It imports nothing from hgym_core and runs under both venvs (pandas 1.5 and pandas 2.x).
"""

import argparse
import contextlib
import json
import random
import sys

import numpy as np
import pandas as pd


def parse_args(tool):
    p = argparse.ArgumentParser(
        prog=f"{tool}.py",
        description=f"Train the {tool} peer on a long patient table and write synthetic patients.",
    )
    p.add_argument("--train", required=True, help="long table, one row per patient per time step")
    p.add_argument("--meta", required=True, help="meta.json (see benchmarks/peers/README.md)")
    p.add_argument("--out", required=True, help="where to write synthetic.csv")
    p.add_argument("--patients", type=int, required=True, help="number of synthetic patients")
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--budget-seconds", type=float, default=None,
                   help="training wall-clock budget (DGAN stops at the end of that epoch; PAR ignores it)")
    p.add_argument("--epochs", type=int, default=None)
    p.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (default 1)")
    args = p.parse_args()
    if args.patients < 1:
        p.error("--patients must be >= 1")
    return args


def log(*parts):
    print(*parts, file=sys.stderr, flush=True)


def seed_everything(seed, threads):
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.set_num_threads(threads)


def load_meta(path):
    with open(path) as f:
        meta = json.load(f)
    for key in ("id_column", "time_column", "time_mode"):
        if key not in meta:
            raise SystemExit(f"meta.json: missing {key!r}")
    if meta["time_mode"] not in ("step", "irregular"):
        raise SystemExit(f"meta.json: time_mode must be 'step' or 'irregular', not {meta['time_mode']!r}")
    for key in ("static", "categorical", "numeric", "integer"):
        meta.setdefault(key, [])
    both = set(meta["categorical"]) & set(meta["numeric"])
    if both:
        raise SystemExit(f"meta.json: columns both categorical and numeric: {sorted(both)}")
    for key in ("static", "integer"):
        stray = set(meta[key]) - set(meta["categorical"]) - set(meta["numeric"])
        if stray:
            raise SystemExit(f"meta.json: {key} columns that are neither categorical nor numeric: {sorted(stray)}")
    return meta


def load_train(path, meta):
    """Read train.csv as the exact text of its cells where that matters.

    Categorical columns stay text (only an empty cell is missing, so a label such as "NA" or
    "0.5" comes back exactly as written); numeric columns and the time become floats; the id
    stays text. Returns (frame, column order of the file)."""
    idc, tc = meta["id_column"], meta["time_column"]
    text = pd.read_csv(path, dtype=str, keep_default_na=False)
    columns = list(text.columns)
    expected = {idc, tc, *meta["categorical"], *meta["numeric"]}
    if set(columns) != expected:
        raise SystemExit(
            f"train.csv columns {sorted(columns)} do not match meta.json {sorted(expected)}"
        )
    df = pd.DataFrame(index=text.index)
    for c in columns:
        if c == idc:
            df[c] = text[c]
        elif c in meta["categorical"]:
            df[c] = text[c].where(text[c] != "", None).astype(object)
        else:
            df[c] = pd.to_numeric(text[c].where(text[c] != "", None), errors="raise").astype(float)
    if df[tc].isna().any():
        raise SystemExit("train.csv: the time column has empty cells")
    # The contract says sorted by id then time; keep the file's patient order, sort stably.
    order = pd.Series(pd.factorize(df[idc])[0], index=df.index)
    df = df.assign(_order=order).sort_values(["_order", tc], kind="mergesort")
    df = df.drop(columns="_order").reset_index(drop=True)
    return df, columns


def time_is_whole(df, meta):
    t = df[meta["time_column"]]
    return bool(np.all(np.isclose(t, np.round(t))))


def write_synthetic(out, columns, meta, synth, time_whole):
    """synth: one row per synthetic step with every train column; id values in any form,
    categorical values as the training labels (text) or missing, numeric as floats."""
    idc, tc = meta["id_column"], meta["time_column"]
    synth = synth.copy()
    codes = pd.factorize(synth[idc])[0]
    synth[idc] = codes
    synth = synth.sort_values([idc, tc], kind="mergesort").reset_index(drop=True)
    res = pd.DataFrame(index=synth.index)
    for c in columns:
        v = synth[c]
        if c == idc:
            res[c] = v.astype(int)
        elif c == tc:
            v = v.astype(float)
            res[c] = np.round(v).astype("int64") if time_whole else v
        elif c in meta["categorical"]:
            res[c] = v.astype(object).where(v.notna(), None)
        elif c in meta["integer"]:
            res[c] = pd.array(np.round(v.astype(float)), dtype="Float64").astype("Int64")
        else:
            res[c] = v.astype(float)
    res.to_csv(out, index=False)
    return res


@contextlib.contextmanager
def stdout_to_stderr():
    """Libraries may print; only the final JSON line belongs on stdout."""
    with contextlib.redirect_stdout(sys.stderr):
        yield


def report(tool, fit_seconds, sample_seconds, epochs, version):
    sys.stdout.write(json.dumps({
        "tool": tool,
        "fit_seconds": round(float(fit_seconds), 3),
        "sample_seconds": round(float(sample_seconds), 3),
        "epochs": int(epochs),
        "version": version,
    }) + "\n")
    sys.stdout.flush()
