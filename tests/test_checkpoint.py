"""Run folders: safe names, atomic saves that survive a crash, weights_only loads, run listing."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

from hgym_core.runs import atomic, folder
from hgym_core.gan.random_state import capture_rng_states, restore_rng_states
from hgym_core.runs.folder import RunFolder, run_path, sanitize_run_name
from hgym_core.runs.info import RunInfo
from hgym_core.runs.listing import delete_run, list_runs
from hgym_core.runs.lock import RunLock
from hgym_core.errors import HGymError


def small_state() -> dict:
    model = torch.nn.Linear(3, 2)
    optimizer = torch.optim.Adam(model.parameters(), betas=(0.9, 0.99))
    model(torch.ones(4, 3)).sum().backward()
    optimizer.step()
    return {"generator": model.state_dict(), "g_opt": optimizer.state_dict(),
            "position": {"epoch": 1, "stage": 0, "batch": 0, "step": 7},
            "rng": capture_rng_states(torch.Generator().manual_seed(3))}


@pytest.mark.parametrize("name, expected", [
    ("hiv run 1", "hiv-run-1"), ("../../etc/passwd", "etc-passwd"), ("/abs/path", "abs-path"),
    ("a/../b", "a-b"), ("..hidden", "hidden"), ("run_2.v1", "run_2.v1"),
])
def test_run_names_are_made_safe(name, expected):
    assert sanitize_run_name(name) == expected


@pytest.mark.parametrize("name", ["", "   ", "../", "///", "..", "€€"])
def test_unusable_run_names_raise(name):
    with pytest.raises(HGymError, match="no usable characters"):
        sanitize_run_name(name)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_no_run_name_escapes_the_models_folder(tmp_path_factory, name):
    models = tmp_path_factory.getbasetemp() / "models"
    try:
        path = run_path(models, name)
    except HGymError:
        return
    assert path.parent == models.resolve()
    assert path.name not in ("", ".", "..")


def test_checkpoint_round_trips_and_loads_with_weights_only(tmp_path):
    run = RunFolder(tmp_path / "run")
    state = small_state()
    run.save_checkpoint(state)
    raw = torch.load(run.checkpoint_path, weights_only=True)  # the file itself must be weights_only-safe
    loaded = run.load_checkpoint()
    for stored in (raw, loaded):
        assert stored["position"] == state["position"]
        assert torch.equal(stored["generator"]["weight"], state["generator"]["weight"])
        assert stored["g_opt"]["param_groups"][0]["betas"] == (0.9, 0.99)


class Foreign:
    """Something a weights_only load must refuse to rebuild."""


def test_a_checkpoint_with_foreign_objects_is_refused(tmp_path):
    run = RunFolder(tmp_path / "run")
    run.path.mkdir()
    torch.save({"generator": Foreign()}, run.checkpoint_path)
    with pytest.raises(HGymError, match="cannot be loaded safely"):
        run.load_checkpoint()


@pytest.mark.parametrize("crash_in", ["os.replace", "torch.save"])
def test_a_crash_in_the_middle_of_a_save_keeps_the_previous_checkpoint(tmp_path, monkeypatch, crash_in):
    run = RunFolder(tmp_path / "run")
    run.save_checkpoint({"position": {"step": 1}, "weight": torch.zeros(1000)})

    def crash(*args, **kwargs):
        if crash_in == "torch.save":  # half a file written, then the process "dies"
            args[1].write(b"\x80partial")
        raise OSError("disk full")

    if crash_in == "os.replace":
        monkeypatch.setattr(atomic.os, "replace", crash)
    else:
        monkeypatch.setattr(folder.torch, "save", crash)
    with pytest.raises(OSError, match="disk full"):
        run.save_checkpoint({"position": {"step": 2}, "weight": torch.ones(1000)})
    monkeypatch.undo()

    restored = run.load_checkpoint()
    assert restored["position"] == {"step": 1} and torch.equal(restored["weight"], torch.zeros(1000))
    assert sorted(p.name for p in run.path.iterdir()) == ["checkpoint.pt"]  # no temp file left behind


def test_rng_states_restore_every_stream(tmp_path):
    noise = torch.Generator().manual_seed(11)
    run = RunFolder(tmp_path / "run")
    run.save_checkpoint({"rng": capture_rng_states(noise)})

    def draw():
        return (torch.rand(3).tolist(), np.random.rand(3).tolist(), [random.random() for _ in range(3)],
                torch.rand(3, generator=noise).tolist())

    first = draw()
    assert restore_rng_states(run.load_checkpoint()["rng"], noise)
    assert draw() == first


def write_run_json(folder: Path, values: dict) -> None:
    """A run.json as found on disk (written by hand, or by an older version)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "run.json").write_text(json.dumps(values), encoding="utf-8")


def test_run_info_and_schema_are_written_whole(tmp_path):
    run = RunFolder(tmp_path / "run")
    assert not run.exists()
    RunInfo(name="run", status="created", config={"betas": (0.9, 0.99)}).write(run)
    RunInfo.update(run, status="finished", epochs_done=np.int64(3))
    info = RunInfo.read(run).to_dict()
    assert info["status"] == "finished" and info["epochs_done"] == 3 and info["config"]["betas"] == [0.9, 0.99]
    assert "updated" in info
    run.write_schema('{"id_column": "PatientID"}')
    assert run.schema_path.read_text().strip() == '{"id_column": "PatientID"}'


def test_reading_a_folder_that_is_not_a_run_says_so(tmp_path):
    with pytest.raises(HGymError, match="not a run folder"):
        RunInfo.read(tmp_path)
    with pytest.raises(HGymError, match="no checkpoint.pt"):
        RunFolder(tmp_path).load_checkpoint()


def test_metrics_append_read_and_truncate_to_a_checkpoint(tmp_path):
    run = RunFolder(tmp_path / "run")
    assert run.read_metrics().empty
    for step in range(1, 6):
        run.append_metrics({"epoch": 1, "step": step, "w": step / 10})
    assert run.read_metrics()["step"].tolist() == [1, 2, 3, 4, 5]
    run.truncate_metrics(last_step=3)
    run.append_metrics({"epoch": 1, "step": 4, "w": 0.0})
    metrics = run.read_metrics()
    assert metrics["step"].tolist() == [1, 2, 3, 4] and metrics["w"].tolist() == [0.1, 0.2, 0.3, 0.0]
    assert run.metrics_path.read_text().count("epoch,step,w") == 1


def test_list_runs_reports_each_run_and_delete_removes_one(tmp_path):
    models = tmp_path / "models"
    base = {"epochs_done": 2, "epochs_target": 3, "data": {"description": "demo cohort, 200 patients"},
            "last_metrics": {"w": 0.5, "corr": 0.1}}
    write_run_json(models / "a", dict(base, name="a", status="finished", created="2024-01-01T00:00:00"))
    # A 'running' run whose process is gone (a crash or a killed terminal) is reported as stopped.
    write_run_json(models / "b", dict(base, name="b", status="running", pid=2**22 + 12345,
                                      created="2024-01-02T00:00:00"))
    (models / "c").mkdir()
    (models / "c" / "run.json").write_text("{broken")
    (models / "not-a-run").mkdir()

    runs = {run.name: run for run in list_runs(models)}
    assert set(runs) == {"a", "b", "c"}
    assert (runs["a"].status, runs["a"].epochs_done, runs["a"].epochs_target) == ("finished", 2, 3)
    assert (runs["a"].w, runs["a"].corr, runs["a"].data) == (0.5, 0.1, "demo cohort, 200 patients")
    assert runs["b"].status == "stopped"
    assert runs["c"].status == "failed" and "damaged" in runs["c"].error
    assert [run.name for run in list_runs(models)][:2] == ["b", "a"]  # newest first
    assert list_runs(tmp_path / "nowhere") == []

    delete_run(models / "a")
    assert not (models / "a").exists()
    with pytest.raises(HGymError, match="no run named"):
        delete_run(models / "a")


def test_a_live_run_cannot_be_deleted(tmp_path):
    write_run_json(tmp_path / "live", {"name": "live", "status": "running"})
    with RunLock(tmp_path / "live"), pytest.raises(HGymError, match="stop it"):   # a process trains it
        delete_run(tmp_path / "live")
    assert Path(tmp_path / "live").exists()
