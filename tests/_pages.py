"""Shared set-up for the page tests (Streamlit AppTest): temporary folders, small data, tiny runs.

Every test gets its own models and uploads folders (HGYM_MODELS_DIR, HGYM_DATA_DIR) and a
40-patient built-in cohort instead of the default 8,916, so the whole page suite stays fast
on 2 CPU cores.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from hgym_core.gan.config import TrainConfig
from hgym_core.synthesizer import Synthesizer
from pages._datasets import Dataset, demo_dataset
from pages._session import App

APP = Path(__file__).resolve().parents[1] / "app.py"
SMALL_PATIENTS = 40
# Small enough that an epoch takes a fraction of a second on one CPU thread. Half the patients are
# kept out of training, so Compare scores 20 training patients against a 20-patient holdout.
TINY = TrainConfig(epochs=1, batch_size=16, hidden_dim=8, latent_dim=8, curriculum=(5, 10), cpu_threads=1,
                   holdout=0.5)


@pytest.fixture
def folders(tmp_path, monkeypatch) -> tuple[Path, Path]:
    models, uploads = tmp_path / "models", tmp_path / "uploads"
    monkeypatch.setenv("HGYM_MODELS_DIR", str(models))
    monkeypatch.setenv("HGYM_DATA_DIR", str(uploads))
    return models, uploads


def small_dataset() -> Dataset:
    return demo_dataset(SMALL_PATIENTS, 0)


def open_app(page: str | None = None, dataset: Dataset | None = None) -> AppTest:
    """The app with ``dataset`` (the small cohort by default) loaded, showing pages/<page>.py."""
    at = AppTest.from_file(str(APP), default_timeout=90)
    at.session_state[App.dataset.key] = dataset or small_dataset()
    at.run()
    if page is not None:
        at.switch_page(f"pages/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def train_tiny_run(models: Path, name: str = "tiny", epochs: int = 1) -> Path:
    """A finished run trained synchronously on the small cohort, as the Train page would record it."""
    dataset = small_dataset()
    Synthesizer(dataset.schema, TINY.replace(epochs=epochs)).fit(
        dataset.frame, models / name, data_source=dataset.source)
    return models / name


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory) -> Path:
    """One finished one-epoch run, trained once per test session; ``copy_run`` places copies."""
    return train_tiny_run(tmp_path_factory.mktemp("template"))


def copy_run(template: Path, models: Path, name: str) -> Path:
    """A copy of the run folder: a run of its own, named by its folder (run.json's name is the template's)."""
    folder = models / name
    shutil.copytree(template, folder)
    return folder


def generate_from(template: Path, models: Path, patients: int) -> AppTest:
    """The Generate page after one click of Generate with ``patients`` patients of a copy of ``template``."""
    copy_run(template, models, "tiny")
    at = open_app("generate")
    at.number_input(key="generate.patients").set_value(patients)
    at.button(key="btn.generate").click().run()
    return at


def texts(elements) -> str:
    """All values of a list of AppTest text elements, joined, for 'is this shown' assertions."""
    return "\n".join(str(element.value) for element in elements)
