"""SDV PARSynthesizer as a peer: fed the way SDV's sequential docs describe.

    benchmarks/peers/.venvs/par/bin/python benchmarks/peers/par.py \
        --train train.csv --meta meta.json --out synthetic.csv --patients N --seed S \
        [--budget-seconds X] [--epochs E] [--threads 1]

Metadata.detect_from_dataframes, then the id column's sdtype set to `id`, set_sequence_key(id),
set_sequence_index(time); every column meta.json calls categorical is set to `categorical`
(detection calls 0/1 columns numerical) and passed as its text labels with None for an empty
cell; numeric columns are floats with NaN for an empty cell (PAR models missingness itself);
static columns are `context_columns`. PAR has no time budget: --budget-seconds is accepted and
ignored. Prints one JSON line on stdout; everything else goes to stderr.
"""

import time
import warnings

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

TABLE = "patients"
DEFAULT_EPOCHS = 128  # PARSynthesizer's own default


def build_metadata(df, meta):
    from sdv.metadata import Metadata

    md = Metadata.detect_from_dataframes({TABLE: df})
    table = md.tables[TABLE]
    if table.primary_key is not None:  # a sequential table has a sequence key, not a primary key
        md.remove_primary_key(TABLE)
    md.update_column(meta["id_column"], TABLE, sdtype="id")
    md.set_sequence_key(meta["id_column"], TABLE)
    md.update_column(meta["time_column"], TABLE, sdtype="numerical")
    md.set_sequence_index(meta["time_column"], TABLE)
    for c in meta["categorical"]:
        md.update_column(c, TABLE, sdtype="categorical")
    for c in meta["numeric"]:
        md.update_column(c, TABLE, sdtype="numerical")
    md.validate()
    return md


def main():
    args = parse_args("par")
    meta = load_meta(args.meta)
    seed_everything(args.seed, args.threads)
    if args.budget_seconds is not None:
        log(f"par: --budget-seconds {args.budget_seconds} ignored (PARSynthesizer has no time budget)")
    epochs = args.epochs if args.epochs is not None else DEFAULT_EPOCHS

    df, columns = load_train(args.train, meta)
    time_whole = time_is_whole(df, meta)

    with stdout_to_stderr(), warnings.catch_warnings():
        warnings.simplefilter("default")
        import sdv
        from sdv.sequential import PARSynthesizer

        md = build_metadata(df, meta)
        log("par: metadata", md.to_dict()["tables"][TABLE])
        synth = PARSynthesizer(
            md,
            context_columns=list(meta["static"]),
            epochs=epochs,
            cuda=False,
            verbose=False,
        )
        t0 = time.perf_counter()
        synth.fit({TABLE: df})
        fit_seconds = time.perf_counter() - t0

        t0 = time.perf_counter()
        sampled = synth.sample_sequences(num_sequences=args.patients)
        sample_seconds = time.perf_counter() - t0
    if isinstance(sampled, dict):
        sampled = sampled[TABLE]
    sampled = pd.DataFrame(sampled)
    n = sampled[meta["id_column"]].nunique()
    if n != args.patients:
        raise SystemExit(f"par: sampled {n} sequences, asked for {args.patients}")

    out = write_synthetic(args.out, columns, meta, sampled, time_whole)
    log(f"par: wrote {len(out)} rows for {n} patients to {args.out}")
    report("par", fit_seconds, sample_seconds, epochs, sdv.__version__)


if __name__ == "__main__":
    main()
