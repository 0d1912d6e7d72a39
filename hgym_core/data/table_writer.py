"""Write a table batch by batch, so a file of any size takes the memory of one batch.

Parquet gets one row group per batch (``pyarrow.parquet.ParquetWriter``), CSV the header once
and then each batch's rows, CSV.gz one gzip stream. The file reads back as what
``write_table`` writes for the whole table (for CSV, byte for byte). It is written under a
temporary name and renamed when complete, so an error or Ctrl-C never leaves half a file
under the final name.
"""

from __future__ import annotations

import contextlib
import gzip
import os
import shutil
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from hgym_core.data.csv_safety import spreadsheet_safe
from hgym_core.data.io import table_format
from hgym_core.data.limits import format_bytes
from hgym_core.errors import HGymError


@dataclass(frozen=True)
class WrittenTable:
    path: Path
    patients: int
    rows: int
    preview: pd.DataFrame   # the first rows (``preview_rows``), with the table's own dtypes


class TableWriter:
    """``with TableWriter(path) as writer: writer.write(batch)`` for each batch, in order."""

    def __init__(self, path: str | os.PathLike, raw_csv: bool = False):
        self.path = Path(path)
        self.format = table_format(self.path.name)
        self.raw_csv = raw_csv
        self.tmp = self.path.with_name(self.path.name + ".tmp")
        self.rows = self.batches = 0
        self.file: BinaryIO | None = None
        self.stream: BinaryIO | None = None   # what CSV text goes into: the file, or a gzip stream over it
        self.parquet: pq.ParquetWriter | None = None

    def __enter__(self) -> "TableWriter":
        with self._said("Opening"):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.file = open(self.tmp, "wb")
        # mtime 0: the same patients give the same bytes, whenever they are written
        gzipped = self.path.name.lower().endswith(".gz")
        self.stream = gzip.GzipFile(fileobj=self.file, mode="wb", mtime=0) if gzipped else self.file
        return self

    def write(self, frame: pd.DataFrame) -> None:
        with self._said("Writing"):
            if self.format == "parquet":
                self._write_parquet(frame)
            else:
                table = frame if self.raw_csv else spreadsheet_safe(frame)
                self.stream.write(table.to_csv(index=False, header=self.batches == 0).encode("utf-8"))
        self.rows, self.batches = self.rows + len(frame), self.batches + 1

    def _write_parquet(self, frame: pd.DataFrame) -> None:
        if self.parquet is None:   # the first batch sets every column's type; later ones follow it
            table = pa.Table.from_pandas(frame, preserve_index=False)
            self.parquet = pq.ParquetWriter(self.file, table.schema)
        else:
            table = pa.Table.from_pandas(frame, schema=self.parquet.schema, preserve_index=False)
        self.parquet.write_table(table)

    def bytes_written(self) -> int:
        """Bytes in the file so far (a gzip stream holds back a few kilobytes)."""
        return self.file.tell()

    def __exit__(self, kind, error, traceback) -> None:
        try:
            with self._said("Writing"):
                if self.parquet is not None:
                    self.parquet.close()
                if self.stream is not self.file:
                    self.stream.close()
                self.file.close()
        except HGymError:
            self.tmp.unlink(missing_ok=True)
            raise
        if kind is None:
            os.replace(self.tmp, self.path)
        else:
            self.tmp.unlink(missing_ok=True)

    @contextlib.contextmanager
    def _said(self, doing: str) -> Iterator[None]:
        """A full disk or a folder without write permission, as one sentence."""
        try:
            yield
        except OSError as problem:
            raise HGymError(f"{doing} '{self.path}' failed ({problem.strerror or problem}); nothing was kept: free "
                            "some space, choose another folder or write fewer patients.") from None


def write_batches(batches: Iterable[tuple[int, pd.DataFrame]], path: str | os.PathLike, n_patients: int,
                  raw_csv: bool = False, preview_rows: int = 0) -> WrittenTable:
    """Write (patients, table) batches of ``n_patients`` in all to ``path``.

    After the first batch the file's size so far gives its final size, and a disk that cannot
    hold it refuses the rest before it is generated.
    """
    path = Path(path)
    done, preview = 0, None
    with TableWriter(path, raw_csv) as writer:
        for count, frame in batches:
            writer.write(frame)
            if done == 0 and count < n_patients:
                _check_disk(path, n_patients, writer.bytes_written() / count * n_patients, writer.bytes_written())
            if preview is None:
                preview = frame.head(preview_rows)
            done += count
    return WrittenTable(path, done, writer.rows, preview)


def _check_disk(path: Path, n_patients: int, estimate: float, written: int) -> None:
    free = shutil.disk_usage(path.parent).free + written
    if estimate > free:
        raise HGymError(f"{n_patients:,} synthetic patients need about {format_bytes(estimate)} in '{path.name}', "
                        f"but {path.parent} has {format_bytes(free)} free; ask for fewer patients, write Parquet "
                        "(several times smaller than CSV) or free some space.")
