"""Peak memory while refusing a gzip bomb: a small .csv.gz of short rows that expands to 2 GB.

Builds the bomb in a temporary folder by streaming (never holding its text), then reports the
peak RSS of two fresh processes that refuse it: one through the uploader's own path
(``pages._datasets.accept_upload`` on the file's bytes, as the Data page calls it) and
``python -m hgym_core schema BOMB``. Target: each under 2 GB, with the default limits.

    .venv/bin/python benchmarks/hostile_input.py [--expands-to-gb 2] [--note-bytes 0]

With short rows the row limit refuses it; ``--note-bytes 80`` adds a text column that long to
each row, so the rows reach the byte limit (1 GB of text) before the row limit, the most a
refusal has to parse.
"""

from __future__ import annotations

import argparse
import gzip
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._peak_rss import mb, peak_rss  # noqa: E402

CHUNK_BYTES = 25_000   # inside deflate's 32 kB window, so each repeat of the chunk costs a few bytes
UPLOAD = """
import resource, sys, time
from pathlib import Path
from hgym_core.errors import HGymError
from pages._datasets import accept_upload
imported = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
path = Path(sys.argv[1])
started = time.perf_counter()
try:
    accept_upload(path.read_bytes(), path.name)
    print("accepted (not refused)")
except HGymError as problem:
    print(f"refused in {time.perf_counter() - started:.1f} s: {problem}")
print(f"peak RSS after the imports: {imported * 1024 / 1e6:,.0f} MB")
"""


def build_bomb(path: Path, text_bytes: int, note_bytes: int) -> None:
    """Rows of a valid table (id, time, value, and a note of ``note_bytes`` if any), one chunk of
    text repeated until ``text_bytes``."""
    note = "," + "n" * note_bytes if note_bytes else ""
    rows_per_chunk = max(1, CHUNK_BYTES // (12 + len(note)))
    rows = "".join(f"{i // 60},{i % 60},{500 + i % 7}{note}\n" for i in range(rows_per_chunk)).encode()
    with gzip.open(path, "wb") as out:
        out.write(b"PatientID,Timestep,CD4" + (b",Note" if note else b"") + b"\n")
        for _ in range(max(1, text_bytes // len(rows))):
            out.write(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--expands-to-gb", type=float, default=2.0, help="decompressed size of the bomb (GB)")
    parser.add_argument("--note-bytes", type=int, default=0, help="length of a text column added to each row")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        bomb = Path(folder) / "bomb.csv.gz"
        started = time.perf_counter()
        build_bomb(bomb, int(args.expands_to_gb * 1e9), args.note_bytes)
        print(f"bomb: {bomb.stat().st_size / 1e6:.1f} MB of gzip expanding to {args.expands_to_gb:g} GB "
              f"(built in {time.perf_counter() - started:.0f} s)")
        env = {"HGYM_DATA_DIR": str(Path(folder) / "uploads"), "HGYM_MODELS_DIR": str(Path(folder) / "models")}
        for label, command in (("uploader path (accept_upload)", [sys.executable, "-c", UPLOAD, str(bomb)]),
                               ("python -m hgym_core schema BOMB", [sys.executable, "-m", "hgym_core", "schema",
                                                                    str(bomb)])):
            code, peak, output = peak_rss(command, env)
            print(f"{label}: exit {code}, peak RSS {mb(peak)} (target < 2,000 MB)")
            for line in output.strip().splitlines()[-3:]:
                print(f"    {line}")


if __name__ == "__main__":
    main()
