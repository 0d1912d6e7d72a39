"""What the "quick" preset shows a CPU user: learning on the built-in cohort within about five minutes.

Trains the quick preset (or a variant given by flags) on the built-in simulated HIV cohort and
prints, per epoch, the elapsed time and the mean W and Corr; then how close 1,000 synthetic
patients are to the real ones before training (untrained generator) and after: the mean total
variation distance of the categorical shares and the mean Kolmogorov-Smirnov statistic of the
numeric columns (0 = identical, lower is better).

    .venv/bin/python benchmarks/quick_preset.py [--minutes 5] [--threads N] [--hidden-dim 64 ...]
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from scipy.stats import ks_2samp  # noqa: E402

from hgym_core.gan.config import preset  # noqa: E402
from hgym_core.data.demo import simulate_hiv_cohort  # noqa: E402
from hgym_core.device import apply_cpu_threads, describe_device  # noqa: E402
from hgym_core.data.schema import Schema  # noqa: E402
from hgym_core.gan.trainer import Hooks  # noqa: E402
from hgym_core.synthesizer import Synthesizer  # noqa: E402


def distances(real: pd.DataFrame, synthetic: pd.DataFrame, schema: Schema) -> dict[str, float]:
    """Per variable: KS statistic (numeric) or total variation distance of the shares (otherwise)."""
    result = {}
    for variable in schema.variables:
        if variable.kind == "numeric":
            result[variable.name] = ks_2samp(real[variable.name].dropna(), synthetic[variable.name].dropna()).statistic
        else:
            shares = pd.concat([real[variable.name].value_counts(normalize=True),
                                synthetic[variable.name].value_counts(normalize=True)], axis=1).fillna(0)
            result[variable.name] = 0.5 * np.abs(shares.iloc[:, 0] - shares.iloc[:, 1]).sum()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=None, help="stop after this long (default: the preset's epochs)")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads (default: torch's)")
    parser.add_argument("--patients", type=int, default=8916, help="built-in cohort size")
    for name in ("epochs", "batch_size", "hidden_dim", "latent_dim", "max_patients"):
        parser.add_argument(f"--{name.replace('_', '-')}", type=int)
    parser.add_argument("--curriculum", type=int, nargs="+")
    args = parser.parse_args()
    apply_cpu_threads(args.threads)
    changes = {k: (tuple(v) if isinstance(v, list) else v) for k, v in vars(args).items()
               if k in {f.name for f in dataclasses.fields(preset("quick"))} and v is not None}
    config = preset("quick").replace(**changes)

    real = simulate_hiv_cohort(n_patients=args.patients, seed=0)
    schema = Schema.infer(real)
    print(f"device: {describe_device(config.device)}; quick preset: {config}")

    synthesizer = Synthesizer(schema, config)
    stop = threading.Event()
    if args.minutes:
        threading.Timer(args.minutes * 60, stop.set).start()
    epochs: dict[int, list] = {}
    started = time.perf_counter()

    def report(event) -> None:
        epochs.setdefault(event.epoch, []).append(event)
        if event.step % (event.steps_target // event.epochs_target) == 0:
            rows = epochs[event.epoch]
            print(f"epoch {event.epoch:3d} at {time.perf_counter() - started:6.0f} s: "
                  f"W {np.mean([e.w for e in rows]):7.3f}  Corr {np.mean([e.corr for e in rows]):.3f}  "
                  f"D_loss {np.mean([e.d_loss for e in rows]):7.3f}", flush=True)

    untrained = Synthesizer(schema, config.replace(epochs=1, curriculum=(1,), max_patients=2, batch_size=2)).fit(real)
    before = distances(real, untrained.sample(1000, seed=1), schema)
    synthesizer.fit(real, hooks=Hooks(callbacks=[report], stop_event=stop))
    stop.set()
    elapsed = time.perf_counter() - started
    after = distances(real, synthesizer.sample(1000, seed=1), schema)
    first, last = epochs[min(epochs)], epochs[max(epochs)]
    print(f"trained {len(epochs)} epoch(s), {sum(map(len, epochs.values()))} steps in {elapsed / 60:.1f} min "
          f"({synthesizer.status})")
    print(f"Corr: first epoch {np.mean([e.corr for e in first]):.3f} -> last epoch {np.mean([e.corr for e in last]):.3f}")
    numeric = [v.name for v in schema.variables if v.kind == "numeric"]
    others = [v.name for v in schema.variables if v.kind != "numeric"]
    for label, names in (("categorical shares, mean TVD", others), ("numeric columns, mean KS    ", numeric)):
        print(f"{label}: untrained {np.mean([before[n] for n in names]):.3f} -> "
              f"trained {np.mean([after[n] for n in names]):.3f}")
    print("per variable (untrained -> trained): " +
          "; ".join(f"{name} {before[name]:.2f} -> {after[name]:.2f}" for name in numeric + others))


if __name__ == "__main__":
    main()
