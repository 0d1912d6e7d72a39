"""Where the dashboard keeps files: runs under the models folder, accepted uploads under the data folder.

Both are read from the environment each time (tests and the browser harness point them at
temporary folders).
"""

from __future__ import annotations

import os
from pathlib import Path

APP_DIR = Path(__file__).resolve().parent.parent


def models_dir() -> Path:
    """Where runs live: $HGYM_MODELS_DIR, else models/ next to app.py."""
    return Path(os.environ.get("HGYM_MODELS_DIR") or APP_DIR / "models")


def data_dir() -> Path:
    """Where accepted uploads are kept: $HGYM_DATA_DIR, else data/uploads/ next to app.py."""
    return Path(os.environ.get("HGYM_DATA_DIR") or APP_DIR / "data" / "uploads")
