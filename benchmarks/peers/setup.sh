#!/usr/bin/env bash
# Creates the two peers' virtual environments (`make peers` runs this):
#   benchmarks/peers/.venvs/par   SDV (PARSynthesizer)
#   benchmarks/peers/.venvs/dgan  gretel-synthetics (DGAN, DoppelGANger in PyTorch)
# Each gets torch==2.13.0 FIRST, so that no dependency pulls a multi-GB CUDA build of torch
# (pip finds a CPU wheel of that exact version among the machine's local wheels, when it has one).
# Every top-level package is pinned. A venv that already imports its library at the pinned
# version is skipped, so running this twice is cheap. Set PYTHON to use another interpreter.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venvs="$here/.venvs"
python="${PYTHON:-python3}"

TORCH="torch==2.13.0"
SDV="sdv==2.0.0"
# gretel-synthetics 0.22.20 pins rdt<1.3 (and sdv<0.18), which has no build for Python 3.11 here;
# its time-series part (timeseries_dgan) imports without them, so it goes in with --no-deps.
# Newer scipy / scikit-learn would pull numpy >= 1.24 back in.
DGAN_BASE=("$TORCH" "numpy==1.23.5" "pandas==1.5.3")
DGAN_PKG="gretel-synthetics==0.22.20"
DGAN_REST=("category_encoders==2.4.0" "scipy==1.10.1" "scikit-learn==1.2.2" "tqdm==4.70.1")

ready() {  # ready VENV CHECK: the venv's python runs CHECK without error
    [ -x "$1/bin/python" ] && "$1/bin/python" -c "$2" >/dev/null 2>&1
}

show() {  # what the venv holds, for the log
    echo "== $1: installed packages"
    "$1/bin/python" -m pip list --format=freeze 2>/dev/null | sed 's/^/   /'
}

make_venv() {
    [ -x "$1/bin/python" ] || "$python" -m venv "$1"
}

par="$venvs/par"
par_check='import sdv, torch; from sdv.sequential import PARSynthesizer
assert sdv.__version__ == "2.0.0" and torch.__version__.startswith("2.13.0"), (sdv.__version__, torch.__version__)'
if ready "$par" "$par_check"; then
    echo "== par: $par already imports sdv 2.0.0; skipped"
else
    echo "== par: creating $par"
    make_venv "$par"
    "$par/bin/python" -m pip install -q "$TORCH"
    "$par/bin/python" -m pip install -q "$SDV"
    "$par/bin/python" -c "$par_check"
    show "$par"
fi

dgan="$venvs/dgan"
dgan_check='import torch, numpy, pandas, gretel_synthetics
from importlib.metadata import version
from gretel_synthetics.timeseries_dgan.dgan import DGAN
from gretel_synthetics.timeseries_dgan.config import DGANConfig
assert version("gretel-synthetics") == "0.22.20" and numpy.__version__ == "1.23.5", version("gretel-synthetics")'
if ready "$dgan" "$dgan_check"; then
    echo "== dgan: $dgan already imports gretel-synthetics 0.22.20; skipped"
else
    echo "== dgan: creating $dgan"
    make_venv "$dgan"
    "$dgan/bin/python" -m pip install -q "${DGAN_BASE[@]}"
    "$dgan/bin/python" -m pip install -q --no-deps "$DGAN_PKG"
    echo "   (pip may report that gretel-synthetics also requires rdt, sdv, sentencepiece and"
    echo "    protobuf: those serve its other models, not timeseries_dgan, and stay out)"
    "$dgan/bin/python" -m pip install -q "${DGAN_REST[@]}"
    "$dgan/bin/python" -c "$dgan_check"
    show "$dgan"
fi
echo "== peers ready: $par/bin/python benchmarks/peers/par.py, $dgan/bin/python benchmarks/peers/dgan.py"
