"""gretel-synthetics DGAN (DoppelGANger, PyTorch) as a peer, fed through its long-frame API.

    benchmarks/peers/.venvs/dgan/bin/python benchmarks/peers/dgan.py \
        --train train.csv --meta meta.json --out synthetic.csv --patients N --seed S \
        [--budget-seconds X] [--epochs E] [--threads 1]

train_dataframe(df, df_style="long", example_id_column=<patient>, attribute_columns=<static>,
feature_columns=..., discrete_columns=...) with DGANConfig(max_sequence_len=<longest patient>,
sample_len=<2 when it divides that, else its smallest divisor > 1, or 1>, batch_size=min(64,
patients)). What this runner adds, and why (gretel_synthetics/timeseries_dgan/dgan.py):
- The time column is not modelled by DGAN (generation would copy one training example's
  times), so the time axis is a continuous feature: the gap to the previous row, the first
  row's gap being its time itself (time since 0); times are rebuilt by cumulative sum (a
  negative generated gap is set to 0, so times never go back). For time_mode "step" the time
  is first_time + position; a first time that differs between patients is an attribute.
- Patients shorter than the longest go in as they are: the long converter adds its own
  end-of-sequence (generation flag) feature and generate_dataframe cuts each sequence there.
- train_numpy drops a patient whose continuous feature has >= 10% empty cells or two in a row
  (validation_check) and refuses to train when more than half are dropped; so every numeric
  column with an empty cell gets a 0/1 "is empty" discrete column, its value is filled
  (interpolated within the patient, then the column median), and generated cells whose flag
  says empty are set back to empty. A categorical empty cell is an explicit "missing" label.
- generate_dataframe casts discrete columns with astype(int), so every categorical column goes
  in as integer codes, mapped back to the training labels here (0 / 0.5 / 1 stays 0 / 0.5 / 1).
- --budget-seconds: progress_callback raises at the end of the epoch in which the wall clock
  (from the start of train_dataframe) passes the budget; the model is already built then, and
  generation works as after a full run. Without --epochs, a budget means up to 10**9 epochs;
  with neither, DGANConfig's default (400).
Prints one JSON line on stdout; everything else goes to stderr.
"""

import time
import warnings
from importlib.metadata import version

import numpy as np
import pandas as pd

from peer_common import (
    load_meta,
    load_train,
    log,
    parse_args,
    report,
    seed_everything,
    stdout_to_stderr,
    time_is_whole,
    write_synthetic,
)

EID = "__example"    # patient index 0..P-1, DGAN's example_id_column
GAP = "__gap"        # time since the previous row (first row: its time)
T0 = "__first_time"  # step mode only, when patients start at different times
ISNA = "__isna"      # suffix of a numeric column's "is empty" flag
BUDGET_EPOCHS = 10**9


class BudgetReached(Exception):
    pass


def sample_len_for(max_len):
    """2 where it divides max_len, else the smallest divisor > 1, else 1 (DGANConfig: must divide)."""
    if max_len % 2 == 0:
        return 2
    for d in range(3, max_len + 1):
        if max_len % d == 0:
            return d
    return 1


def encode(df, meta):
    """The frame DGAN trains on, and what is needed to decode its output."""
    idc, tc = meta["id_column"], meta["time_column"]
    static = set(meta["static"])
    work = pd.DataFrame({EID: pd.factorize(df[idc])[0]})
    attributes, features, discrete = [], [], []
    plan = {"labels": {}, "flags": {}, "t0": None}
    names = set(df.columns)

    def new(name):
        if name in names:
            raise SystemExit(f"dgan: column name {name!r} clashes with an internal one")
        names.add(name)
        return name

    groups = work[EID]
    position = df.groupby(groups.values).cumcount()
    if meta["time_mode"] == "irregular":
        gap = df[tc].groupby(groups.values).diff()
        gap[position == 0] = df[tc][position == 0]
        work[new(GAP)] = gap.astype(float)
        features.append(GAP)
    else:
        first = df[tc][position == 0]
        if first.nunique() == 1:
            plan["t0"] = float(first.iloc[0])
        else:
            work[new(T0)] = df[tc].groupby(groups.values).transform("first").astype(float)
            attributes.append(T0)

    for c in df.columns:
        if c in (idc, tc):
            continue
        target = attributes if c in static else features
        if c in meta["categorical"]:
            labels = sorted(df[c].dropna().unique().tolist())
            codes = df[c].map({v: i for i, v in enumerate(labels)})
            if codes.isna().any():          # empty cells: one more code, "missing"
                codes = codes.fillna(len(labels))
                labels = labels + [None]
            work[c] = codes.astype(int)
            plan["labels"][c] = labels
            target.append(c)
            discrete.append(c)
        else:
            v = df[c].astype(float)
            if v.isna().any():
                flag = new(c + ISNA)
                work[flag] = v.isna().astype(int)
                if c not in static:
                    v = v.groupby(groups.values).transform(
                        lambda s: s.interpolate(limit_direction="both"))
                median = v.median()
                v = v.fillna(0.0 if np.isnan(median) else median)
                plan["flags"][c] = flag
                target.append(flag)
                discrete.append(flag)
            work[c] = v
            target.append(c)
    if not features:
        raise SystemExit("dgan: no column varies in time (every column is static and time_mode "
                         "is step); DGAN needs at least one feature")
    return work, attributes, features, discrete, plan


def decode(gen, df_train, meta, plan):
    """DGAN's generated long frame -> the train table's columns (labels, empty cells, times)."""
    idc, tc = meta["id_column"], meta["time_column"]
    out = pd.DataFrame({idc: gen[EID].astype(int).to_numpy()})
    position = out.groupby(idc).cumcount().to_numpy()
    if meta["time_mode"] == "irregular":
        gap = gen[GAP].astype(float).to_numpy()
        negative = int((gap < 0).sum())
        if negative:
            log(f"dgan: {negative} of {len(gap)} generated time gaps were negative; set to 0")
        gap = np.clip(gap, 0.0, None)
        out[tc] = pd.Series(gap).groupby(out[idc].values).cumsum().to_numpy()
    else:
        t0 = plan["t0"] if plan["t0"] is not None else np.round(gen[T0].astype(float).to_numpy())
        out[tc] = t0 + position
    for c in df_train.columns:
        if c in (idc, tc):
            continue
        if c in plan["labels"]:
            labels = plan["labels"][c]
            codes = gen[c].astype(int).clip(0, len(labels) - 1)
            out[c] = [labels[k] for k in codes]
        else:
            v = gen[c].astype(float).to_numpy()
            if c in plan["flags"]:
                v = np.where(gen[plan["flags"][c]].astype(int).to_numpy() == 1, np.nan, v)
            lo, hi = np.nanmin(df_train[c]), np.nanmax(df_train[c])
            outside = int(((v < lo) | (v > hi)).sum())
            if outside:
                log(f"dgan: {c}: {outside} of {int(np.isfinite(v).sum())} generated values outside "
                    f"the training range [{lo:g}, {hi:g}] (left as generated)")
            out[c] = v
    return out


def main():
    args = parse_args("dgan")
    meta = load_meta(args.meta)
    seed_everything(args.seed, args.threads)

    df, columns = load_train(args.train, meta)
    time_whole = time_is_whole(df, meta)
    work, attributes, features, discrete, plan = encode(df, meta)
    lengths = work.groupby(EID).size()
    n_train = len(lengths)
    max_len = int(lengths.max())

    with stdout_to_stderr(), warnings.catch_warnings():
        warnings.simplefilter("default")
        from gretel_synthetics.timeseries_dgan.config import DGANConfig
        from gretel_synthetics.timeseries_dgan.dgan import DGAN

        if args.epochs is not None:
            epochs = args.epochs
        elif args.budget_seconds is not None:
            epochs = BUDGET_EPOCHS
        else:
            epochs = DGANConfig.__dataclass_fields__["epochs"].default
        config = DGANConfig(
            max_sequence_len=max_len,
            sample_len=sample_len_for(max_len),
            batch_size=min(64, n_train),
            epochs=epochs,
            cuda=False,
        )
        log(f"dgan: {n_train} patients, lengths {int(lengths.min())}..{max_len}; "
            f"sample_len={config.sample_len}, batch_size={config.batch_size}, epochs={epochs}; "
            f"attributes={attributes}; features={features}; discrete={discrete}")
        model = DGAN(config)

        done = {"epochs": 0}
        t0 = time.perf_counter()

        def progress(info):
            if info.batch == info.total_batches - 1:   # end of an epoch
                done["epochs"] = info.epoch + 1
                if args.budget_seconds is not None and time.perf_counter() - t0 >= args.budget_seconds:
                    raise BudgetReached

        try:
            model.train_dataframe(
                work[[EID] + attributes + features],
                df_style="long",
                example_id_column=EID,
                attribute_columns=attributes or None,
                feature_columns=features,
                discrete_columns=discrete,
                progress_callback=progress,
            )
        except BudgetReached:
            log(f"dgan: budget of {args.budget_seconds} s reached after {done['epochs']} epochs")
        fit_seconds = time.perf_counter() - t0

        t0 = time.perf_counter()
        gen = model.generate_dataframe(args.patients)
        sample_seconds = time.perf_counter() - t0

    synth = decode(gen, df, meta, plan)
    n = synth[meta["id_column"]].nunique()
    if n != args.patients:
        raise SystemExit(f"dgan: generated {n} patients, asked for {args.patients}")
    out = write_synthetic(args.out, columns, meta, synth, time_whole)
    log(f"dgan: wrote {len(out)} rows for {n} patients to {args.out}")
    report("dgan", fit_seconds, sample_seconds, done["epochs"], version("gretel-synthetics"))


if __name__ == "__main__":
    main()
