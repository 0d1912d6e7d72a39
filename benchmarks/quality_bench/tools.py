"""The three tools, each trained on the same training table and asked for as many patients.

- The project: ``Synthesizer(schema, config).fit(train)`` in this process, under a wall-clock
  budget, then ``sample(n)``; ``train_project`` is the one place that trains it.
- The peers, SDV PARSynthesizer and gretel DGAN: each runner of benchmarks/peers run with its
  own venv's interpreter on train.csv + meta.json; it prints one JSON line
  {"tool", "fit_seconds", "sample_seconds", "epochs", "version"} and writes synthetic.csv.

Every tool runs alone (never two at once) on ``threads`` CPU threads.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from hgym_core.data.io import write_table
from hgym_core.data.schema import Schema
from hgym_core.gan.config import TrainConfig, describe_choice, preset, private_preset
from hgym_core.runs.service import data_size
from hgym_core.gan.trainer import Hooks
from hgym_core.synthesizer import Synthesizer

REPO = Path(__file__).resolve().parents[2]
PEERS_DIR = REPO / "benchmarks" / "peers"
LABELS = {"project": "project", "par": "PAR", "dgan": "DGAN"}
PEERS = ("par", "dgan")
# The settings a user gets for their own table: "auto", fitted to the table and the budget.
PROJECT_PRESET = "auto"


@dataclass
class ToolRun:
    """What one tool did on one dataset; ``error`` says why there is no synthetic table."""

    tool: str
    synthetic_csv: Path | None = None
    fit_seconds: float | None = None
    sample_seconds: float | None = None
    epochs: float | None = None
    version: str = ""
    settings: str = ""
    error: str | None = None

    @property
    def label(self) -> str:
        return LABELS[self.tool]

    def to_dict(self) -> dict:
        return {"tool": self.tool, "synthetic_csv": None if self.synthetic_csv is None else str(self.synthetic_csv),
                "fit_seconds": self.fit_seconds, "sample_seconds": self.sample_seconds, "epochs": self.epochs,
                "version": self.version, "settings": self.settings, "error": self.error}


# ---- the project -------------------------------------------------------------------------
def project_config(preset_name: str, seed: int, threads: int, train: pd.DataFrame, schema: Schema,
                   budget_seconds: float, dp_epsilon: float | None = None,
                   dp_time_range: tuple[float, float] | None = None) -> TrainConfig:
    """The preset fitted to the training table with ``budget_seconds`` of training, as the command
    line makes it, its own holdout included: the auto preset's validation and memorisation guard
    keep that share of the training split out, as they do for a user (the benchmark's holdout stays
    unseen by every tool and scores them all). With ``dp_epsilon``, differentially private as the
    command line makes ``--dp-epsilon`` (``private_preset``: what reads the patients outside the
    private steps turned off)."""
    size = data_size(train, schema, TrainConfig(seed=seed))
    config = preset(preset_name, size, time_budget=budget_seconds).replace(seed=seed, device="cpu",
                                                                           cpu_threads=threads)
    if dp_epsilon is None:
        return config
    return private_preset(config, {"dp_epsilon": dp_epsilon, "dp_time_range": dp_time_range})


def train_project(train: pd.DataFrame, schema: Schema, config: TrainConfig, budget_seconds: float) -> Synthesizer:
    """Fit under a wall-clock budget: the config's own time budget when it has one (the trainer
    stops before the step that would start past it), else a timer that sets ``fit``'s stop event.
    The preset's own epochs end it earlier when they come first."""
    if config.time_budget is not None:
        return Synthesizer(schema, config).fit(train)
    stop = threading.Event()
    timer = threading.Timer(budget_seconds, stop.set)
    timer.daemon = True
    timer.start()
    try:
        return Synthesizer(schema, config).fit(train, hooks=Hooks(stop_event=stop))
    finally:
        timer.cancel()


def run_project(train: pd.DataFrame, schema: Schema, config: TrainConfig, preset_name: str, budget_seconds: float,
                patients: int, seed: int, out_csv: Path) -> ToolRun:
    started = time.perf_counter()
    synthesizer = train_project(train, schema, config, budget_seconds)
    fit_seconds = time.perf_counter() - started
    started = time.perf_counter()
    synthetic = synthesizer.sample(patients, seed=seed)
    sample_seconds = time.perf_counter() - started
    write_table(synthetic, out_csv)
    trainer = synthesizer.trainer
    steps = trainer.position.step
    private = "" if trainer.private is None else \
        f"; ε spent {trainer.private.epsilon():.2f} at δ {trainer.private.plan.delta:.2g}"
    return ToolRun("project", out_csv, fit_seconds, sample_seconds, round(steps / trainer.steps_per_epoch, 2),
                   project_version(),
                   f"{describe_choice(preset_name, config, None)} {steps} steps ({synthesizer.status}: "
                   f"{trainer.end_reason() or 'stopped'}){private}")


def project_version() -> str:
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True,
                                check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "Health Gym Studio"
    return f"Health Gym Studio {commit}"


# ---- the peers ---------------------------------------------------------------------------
def peer_python(peers_dir: Path, tool: str) -> Path:
    return peers_dir / ".venvs" / tool / "bin" / "python"


def missing_peers(peers_dir: Path, tools: list[str]) -> list[str]:
    """One line per asked-for peer whose venv or runner is absent."""
    lines = []
    for tool in tools:
        python, runner = peer_python(peers_dir, tool), peers_dir / f"{tool}.py"
        if not python.is_file():
            lines.append(f"{LABELS[tool]}: {python} is missing")
        elif not runner.is_file():
            lines.append(f"{LABELS[tool]}: {runner} is missing")
    return lines


def reused_peers(earlier: Path, dataset: str, folder: Path, peers: list[str]) -> dict[str, ToolRun]:
    """The peers' runs of an earlier output folder, for the same split: their synthetic tables are
    copied into ``folder``; HGymError-free refusal (SystemExit) when the split differs."""
    if (earlier / dataset / "train.csv").read_bytes() != (folder / "train.csv").read_bytes():
        raise SystemExit(f"--reuse-peers: {earlier / dataset / 'train.csv'} is another split than this run's; "
                         "use the same datasets and --seed, or train the peers again.")
    recorded = json.loads((earlier / "quality.json").read_text(encoding="utf-8"))["datasets"][dataset]["tools"]
    runs = {}
    for tool in peers:
        entry = dict(recorded[tool])
        if entry.get("synthetic_csv"):
            copy = folder / f"synthetic-{tool}.csv"
            copy.write_bytes(Path(entry["synthetic_csv"]).read_bytes())
            entry["synthetic_csv"] = copy
        entry["settings"] = f"reused from {earlier}: {entry.get('settings', '')}"
        runs[tool] = ToolRun(**entry)
    return runs


def run_peer(tool: str, peers_dir: Path, folder: Path, patients: int, seed: int, threads: int,
             budget_seconds: float | None, epochs: int | None) -> ToolRun:
    """Run one peer's runner on folder/train.csv + meta.json; its stderr goes to folder/<tool>.log."""
    out_csv = folder / f"synthetic-{tool}.csv"
    command = [str(peer_python(peers_dir, tool)), str(peers_dir / f"{tool}.py"),
               "--train", str(folder / "train.csv"), "--meta", str(folder / "meta.json"), "--out", str(out_csv),
               "--patients", str(patients), "--seed", str(seed), "--threads", str(threads)]
    if budget_seconds is not None:
        command += ["--budget-seconds", f"{budget_seconds:.3f}"]
    if epochs is not None:
        command += ["--epochs", str(epochs)]
    # The same threads for the maths libraries under torch (BLAS, OpenMP), and none of this
    # process's import path.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update({name: str(threads) for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")})
    log_path = folder / f"{tool}.log"
    with open(log_path, "w", encoding="utf-8") as log:
        log.write(" ".join(command) + "\n")
        log.flush()
        finished = subprocess.run(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=log, text=True)
    settings = " ".join(command[2:]).replace(str(folder) + os.sep, "")
    lines = [line for line in finished.stdout.splitlines() if line.strip()]
    if finished.returncode != 0 or not lines:
        tail = log_path.read_text(encoding="utf-8").strip().splitlines()[-1:] or ["(no output)"]
        return ToolRun(tool, settings=settings,
                       error=f"exit status {finished.returncode}: {tail[0]} (log: {log_path})")
    result = json.loads(lines[-1])
    return ToolRun(tool, out_csv, result["fit_seconds"], result["sample_seconds"], result["epochs"],
                   f"{result['tool']} {result['version']}", settings)
