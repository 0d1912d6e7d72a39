"""Time every figure of report.html for 8,916 real vs 8,916 synthetic patients (the published size).

Run: .venv/bin/python benchmarks/report_figures.py [--patients 8916] [--months 60]
Prints, per figure family, the seconds to build the figures and turn them into HTML, and their
size; then the totals. The scores (evaluate) are timed by their own benchmark.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hgym_core.data.demo import simulate_hiv_cohort  # noqa: E402
from hgym_core.reports.html_report import _figure_html, figure_sections  # noqa: E402
from hgym_core.data.schema import Schema  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=8916)
    parser.add_argument("--months", type=int, default=60)
    args = parser.parse_args()

    real = simulate_hiv_cohort(n_patients=args.patients, seed=0, n_months=args.months)
    synthetic = simulate_hiv_cohort(n_patients=args.patients, seed=1, n_months=args.months)
    schema = Schema.infer(real)
    rng = np.random.default_rng(0)
    details = {"privacy": {"dcr_train": rng.random(args.patients), "dcr_holdout": rng.random(args.patients)}}
    print(f"{args.patients:,} real vs {args.patients:,} synthetic patients, {len(real):,} rows each")

    seconds, sizes, counts = defaultdict(float), defaultdict(int), defaultdict(int)
    include_js = True
    for _, heading, makers in figure_sections(real, synthetic, schema, details):
        for figure_id, maker in makers:
            started = time.perf_counter()
            html = _figure_html(figure_id, maker, include_js)
            seconds[heading] += time.perf_counter() - started
            sizes[heading] += len(html.encode()) if not include_js else 0  # plotly.js counted apart
            counts[heading] += 1
            include_js = False
    for heading in seconds:
        print(f"{heading:<48} {counts[heading]:>3} figures  {seconds[heading]:6.2f} s  "
              f"{sizes[heading] / 1e3:8.1f} kB")
    print(f"{'all figures':<48} {sum(counts.values()):>3} figures  {sum(seconds.values()):6.2f} s  "
          f"{sum(sizes.values()) / 1e3:8.1f} kB (+ plotly.js once, ~4.7 MB)")


if __name__ == "__main__":
    main()
