"""Start the dashboard and a headless Chromium for browser checks: one implementation for the
end-to-end tests (tests/e2e/conftest.py) and the responsiveness benchmark
(benchmarks/dashboard_responsiveness.py).

The server gets its own models and uploads folders, so a browser run never touches a user's
runs. Playwright cannot download browsers here, so it drives Debian's /usr/bin/chromium
(installed by `make test`).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
SERVER_START_TIMEOUT_S = 90
VIEWPORT = {"width": 1400, "height": 1000}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_health(url: str, process: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited with {process.returncode}:\n{log_path.read_text()[-4000:]}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"streamlit did not answer /_stcore/health within {SERVER_START_TIMEOUT_S} s:\n"
                       f"{log_path.read_text()[-4000:]}")


@contextlib.contextmanager
def streamlit_server(workdir: Path, extra_env: dict[str, str] | None = None, via_make: bool = False) -> Iterator[str]:
    """``streamlit run app.py`` on a free 127.0.0.1 port with runs and uploads under ``workdir``;
    yields its URL once /_stcore/health answers, and stops it on exit. ``via_make`` starts it
    the way users do, ``make run`` (with its warm-up run), using this interpreter's venv; the
    server's output is in ``workdir / "streamlit.log"``."""
    workdir.mkdir(parents=True, exist_ok=True)
    log_path = workdir / "streamlit.log"
    port = free_port()
    env = {
        **os.environ,
        "HGYM_MODELS_DIR": str(workdir / "models"),
        "HGYM_DATA_DIR": str(workdir / "uploads"),
        "PYTHONUNBUFFERED": "1",
        **(extra_env or {}),
    }
    if via_make:
        command = ["make", "--no-print-directory", "run", f"PORT={port}", f"VENV={Path(sys.executable).parents[1]}"]
    else:
        command = [
            sys.executable, "-m", "streamlit", "run", "app.py",
            "--server.address", "127.0.0.1", "--server.port", str(port), "--server.headless", "true",
            "--browser.gatherUsageStats", "false",
        ]
    with log_path.open("w") as log:   # its own session: stopping it stops make's children too
        process = subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_health(url, process, log_path)
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def missing_chromium_message() -> str | None:
    """Why the browser cannot start, or None when it can."""
    if Path(CHROMIUM).exists():
        return None
    return (f"{CHROMIUM} is missing: run `make test` (it installs Debian's chromium) "
            "or `apt-get install -y chromium`.")


@contextlib.contextmanager
def chromium() -> Iterator:
    """A headless Playwright Chromium (Debian's binary, with the flags CI needs)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
