"""Sampling straight to a file, batch by batch: the same file as sample() then write_table, ids
continuing across batches, a disk too small refused after the first batch, never half a file,
and CSV that a spreadsheet will not run."""

from __future__ import annotations

import gzip
from collections import namedtuple
from pathlib import Path

import pandas as pd
import pytest

from hgym_core.cli import main
from hgym_core.data.demo import simulate_hiv_cohort
from hgym_core.data.io import write_table
from hgym_core.data.schema import Schema
from hgym_core.data.table_writer import write_batches
from hgym_core.errors import HGymError
from hgym_core.gan.config import TrainConfig
from hgym_core.synthesizer import Synthesizer

TINY = TrainConfig(epochs=1, batch_size=16, hidden_dim=8, latent_dim=8, curriculum=(5, 10), cpu_threads=1)
# Ethnic's labels replaced by text a spreadsheet would run (OWASP's "CSV injection" examples).
FORMULAS = {"Other": '=HYPERLINK("http://x","click")', "Caucasian": "+1+1", "African": "@SUM(A1)", "Asian": "-2+3"}


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    """A tiny run trained on a cohort whose Ethnic labels are formulas."""
    cohort = simulate_hiv_cohort(n_patients=40, seed=0)
    cohort["Ethnic"] = cohort["Ethnic"].map(FORMULAS)
    folder = tmp_path_factory.mktemp("models") / "formulas"
    Synthesizer(Schema.infer(cohort), TINY).fit(cohort, folder)
    return folder


@pytest.fixture(scope="module")
def synthesizer(run) -> Synthesizer:
    return Synthesizer.load(run, device="cpu")


@pytest.mark.parametrize("batch_size", [1, 3, 7, 50])
@pytest.mark.parametrize("suffix", [".csv", ".csv.gz", ".parquet"])
def test_the_file_is_what_sample_then_write_table_gives(synthesizer, tmp_path, batch_size, suffix):
    whole = synthesizer.sample(17, seed=4, batch_size=batch_size)
    expected = write_table(whole, tmp_path / f"whole{suffix}")
    written = synthesizer.sample_to_file(tmp_path / f"streamed{suffix}", 17, seed=4, batch_size=batch_size,
                                         preview_rows=5)
    if suffix == ".parquet":
        streamed = pd.read_parquet(written.path)
        pd.testing.assert_frame_equal(streamed, pd.read_parquet(expected))
        assert sorted(streamed["PatientID"].unique()) == list(range(17))   # ids run on across batches
    else:
        read = gzip.decompress if suffix == ".csv.gz" else (lambda data: data)
        assert read(written.path.read_bytes()) == read(expected.read_bytes())
    assert (written.patients, written.rows) == (17, len(whole))
    pd.testing.assert_frame_equal(written.preview, whole.head(5))
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([expected.name, written.path.name])


def test_csv_text_a_spreadsheet_would_run_is_quoted_unless_raw_and_parquet_is_as_is(synthesizer, tmp_path):
    safe = pd.read_csv(synthesizer.sample_to_file(tmp_path / "s.csv", 30).path)
    raw = pd.read_csv(synthesizer.sample_to_file(tmp_path / "r.csv", 30, raw_csv=True).path)
    parquet = pd.read_parquet(synthesizer.sample_to_file(tmp_path / "p.parquet", 30).path)
    labels = set(FORMULAS.values())
    assert set(raw["Ethnic"]) <= labels and set(raw["Ethnic"]) and set(parquet["Ethnic"]) == set(raw["Ethnic"])
    assert safe["Ethnic"].tolist() == ["'" + label for label in raw["Ethnic"]]
    pd.testing.assert_frame_equal(safe.drop(columns="Ethnic"), raw.drop(columns="Ethnic"))   # numbers untouched


def test_a_disk_too_small_is_refused_after_the_first_batch_and_nothing_is_left(synthesizer, tmp_path, monkeypatch):
    Usage = namedtuple("Usage", "total used free")
    monkeypatch.setattr("hgym_core.data.table_writer.shutil.disk_usage", lambda path: Usage(10**9, 10**9, 100_000))
    batches = []
    with pytest.raises(HGymError) as refused:
        synthesizer.sample_to_file(tmp_path / "big.csv", 1_000, batch_size=10,
                                   progress=lambda done, total: batches.append(done))
    message = str(refused.value)
    assert message.startswith("1,000 synthetic patients need about ") and " MB in 'big.csv', but " in message
    assert message.endswith(" free; ask for fewer patients, write Parquet (several times smaller than CSV) or free "
                            "some space.")
    assert batches == [] and list(tmp_path.iterdir()) == []   # stopped at the first batch, no half file


def test_an_error_midway_leaves_no_file(tmp_path):
    def batches():
        yield 1, pd.DataFrame({"PatientID": [0], "Timestep": [0]})
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_batches(batches(), tmp_path / "out.parquet", 2)
    assert list(tmp_path.iterdir()) == []


def test_the_sample_command_writes_raw_csv_when_asked_and_refuses_huge_numbers(run, tmp_path, capsys):
    out = tmp_path / "raw.csv"
    assert main(["sample", str(run), "--patients", "20", "--out", str(out), "--raw-csv", "--device", "cpu"]) == 0
    assert set(pd.read_csv(out)["Ethnic"]) <= set(FORMULAS.values())
    assert "wrote 20 synthetic patients (" in capsys.readouterr().out

    assert main(["sample", str(run), "--patients", "20000000", "--out", str(tmp_path / "huge.csv")]) == 2
    assert capsys.readouterr().err == ("error: --patients 20,000,000 is more than 10,000,000 and would take a long "
                                       "time to generate; add --allow-large if you mean it.\n")


def test_a_folder_that_cannot_be_written_is_one_sentence(synthesizer, tmp_path):
    (tmp_path / "taken").write_text("a file, not a folder")
    with pytest.raises(HGymError, match=r"^Opening '.*taken/out.csv' failed \(File exists\); nothing was kept: free "
                                        r"some space, choose another folder or write fewer patients\.$"):
        synthesizer.sample_to_file(tmp_path / "taken" / "out.csv", 3)
