"""Peak memory of ``python -m hgym_core sample`` at two sizes (target: the larger at most 1.5x the smaller).

Sampling writes batch by batch, so memory should not grow with the number of patients. A run
with the published model sizes (latent 128, hidden 128) is fitted for one step on the built-in
cohort (memory does not depend on what the model has learnt), then each size is sampled by a
fresh process into a file in a temporary folder.

    .venv/bin/python benchmarks/sampling_memory.py [--patients 10000 300000] [--format parquet]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._peak_rss import mb, peak_rss  # noqa: E402
from hgym_core.data.demo import simulate_hiv_cohort  # noqa: E402
from hgym_core.data.schema import Schema  # noqa: E402
from hgym_core.gan.config import TrainConfig  # noqa: E402
from hgym_core.synthesizer import Synthesizer  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, nargs="+", default=[10_000, 300_000])
    parser.add_argument("--format", choices=["csv", "csv.gz", "parquet"], default="parquet")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        run = Path(folder) / "run"
        cohort = simulate_hiv_cohort(n_patients=200, seed=0)
        config = TrainConfig(epochs=1, curriculum=(1,), max_patients=2, batch_size=2, device=args.device)
        Synthesizer(Schema.infer(cohort), config).fit(cohort, run_dir=run)
        peaks = []
        for patients in args.patients:
            out = Path(folder) / f"synthetic-{patients}.{args.format}"
            started = time.perf_counter()
            code, peak, output = peak_rss([sys.executable, "-m", "hgym_core", "sample", str(run), "--patients",
                                           str(patients), "--out", str(out), "--device", args.device])
            peaks.append(peak)
            print(f"sample --patients {patients:,} ({args.format}): exit {code}, peak RSS {mb(peak)}, "
                  f"file {out.stat().st_size / 1e6 if out.exists() else 0:,.0f} MB, "
                  f"{time.perf_counter() - started:.0f} s")
            if code:
                print(output)
            out.unlink(missing_ok=True)
        print(f"largest / smallest peak: {peaks[-1] / peaks[0]:.2f}x (target <= 1.5x)")


if __name__ == "__main__":
    main()
