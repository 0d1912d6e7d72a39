"""Puts a synthetic table next to its training table: columns, dtypes, empty cells, patients,
rows per patient, times, labels, value ranges. For eyeballing a smoke run, not a quality score.

    <any venv>/bin/python benchmarks/peers/smoke_summary.py train.csv synthetic.csv meta.json
"""
import json
import sys

import pandas as pd

real_path, synth_path, meta_path = sys.argv[1:4]
meta = json.load(open(meta_path))
idc, tc = meta["id_column"], meta["time_column"]
text = {c: str for c in meta["categorical"]}
real = pd.read_csv(real_path, dtype=text, keep_default_na=False, na_values=[""])
synth = pd.read_csv(synth_path, dtype=text, keep_default_na=False, na_values=[""])

print(f"columns identical and in order: {list(real.columns) == list(synth.columns)}")
print(f"patients: real {real[idc].nunique()}, synthetic {synth[idc].nunique()}; "
      f"rows: real {len(real)}, synthetic {len(synth)}")
for name, d in (("real", real), ("synthetic", synth)):
    n = d.groupby(idc, sort=False).size()
    first = d.groupby(idc, sort=False)[tc].first()
    mono = d.groupby(idc, sort=False)[tc].apply(lambda t: t.is_monotonic_increasing).all()
    print(f"{name:>9}: rows/patient min {n.min()} median {n.median():g} mean {n.mean():.1f} "
          f"max {n.max()}; first {tc} {first.min():g}..{first.max():g}; {tc} {d[tc].min():g}.."
          f"{d[tc].max():g}; non-decreasing within patients: {mono}")
rows = []
for c in real.columns:
    if c == idc:
        continue
    r, s = real[c], synth[c]
    row = {"column": c, "dtype real": str(r.dtype), "dtype synth": str(s.dtype),
           "empty real": round(r.isna().mean(), 3), "empty synth": round(s.isna().mean(), 3)}
    if c in meta["categorical"]:
        row["values real"] = dict(r.value_counts().sort_index())
        row["values synth"] = dict(s.value_counts().sort_index())
    else:
        row["values real"] = f"{r.min():g}..{r.max():g} mean {r.mean():.3g}"
        row["values synth"] = f"{s.min():g}..{s.max():g} mean {s.mean():.3g}"
    rows.append(row)
with pd.option_context("display.width", 250, "display.max_colwidth", 60):
    print(pd.DataFrame(rows).to_string(index=False))
static = [c for c in meta["static"]]
if static:
    varying = [c for c in static if (synth.groupby(idc)[c].nunique(dropna=False) > 1).any()]
    print(f"static columns constant within each synthetic patient: {not varying} {varying or ''}")
