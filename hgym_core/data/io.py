"""Reading and writing patient tables: CSV, CSV.gz and Parquet, chosen by file name.

Reading is bounded (``hgym_core.data.limits``): gzip is decompressed through a counter that
stops at the byte limit, CSV parsing stops one row past the row (or cell) limit, and a Parquet
file's metadata is checked before any of it is read. A CSV's header and separator are read from
its first lines first, so a repeated column name or a semicolon-separated file is handled
before pandas renames the one or reads the other as a single column.

Common missing markers ("n/a", "NA", "?", "-", "null", an empty cell; ``MISSING_MARKERS``) are
read as empty cells in every column of CSV and Parquet alike, and the table says which it read
so (``read_as_empty``): pandas alone took "n/a" as empty and "?" as text, and Parquet neither.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import gzip
import io
import itertools
import os
import re
import unicodedata
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import BinaryIO

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from hgym_core.data.csv_safety import spreadsheet_safe
from hgym_core.data.limits import (TableLimits, current_limits, too_many_cells, too_many_patients, too_many_rows,
                                   too_much_text)
from hgym_core.data.schema import _find_id_column
from hgym_core.data.validation import READ_AS_EMPTY
from hgym_core.errors import HGymError

Source = str | os.PathLike | BinaryIO

HEAD_BYTES = 1 << 20      # the first lines, read before parsing: header, separator, decimal mark
SNIFF_ROWS = 20
SEPARATORS = (",", ";", "\t")   # in order of preference when two fit equally well
MAX_STEM_BYTES = 100      # an upload's kept name, in UTF-8 bytes: room below a disk's 255-byte names
# Text that means "no value" in exported tables, compared without case or surrounding spaces:
# pandas' own CSV list, plus "?" and "-". A "-" stays a label in a column that also holds "+"
# (a test result).
MISSING_MARKERS = frozenset({"", "-", "?", "n/a", "na", "nan", "-nan", "null", "none", "#n/a", "#n/a n/a", "#na",
                             "<na>", "-1.#ind", "1.#ind", "-1.#qnan", "1.#qnan"})
BOOLEAN_TEXT = {"true": True, "false": False}


def table_format(name: str) -> str:
    """'csv' or 'parquet' from a file name; HGymError for anything else."""
    lowered = name.lower()
    if lowered.endswith(".parquet") or lowered.endswith(".pq"):
        return "parquet"
    if lowered.endswith(".csv") or lowered.endswith(".csv.gz"):
        return "csv"
    raise HGymError(f"Cannot tell the format of '{name}': use a file ending in .csv, .csv.gz or .parquet.")


# --------------------------------------------------------------------------- reading

def read_table(source: Source, name: str | None = None, limits: TableLimits | None = None,
               id_column: str | None = None) -> pd.DataFrame:
    """Read a table from a path or a seekable file object (then ``name`` gives its format).

    ``limits`` default to ``current_limits()``; past one, HGymError and reading stops. The
    patient limit counts ``id_column``, else the column ``Schema.infer`` would take as the id.
    """
    name = name or str(source)
    fmt = table_format(name)
    limits = limits or current_limits()
    try:
        frame = _read_parquet(source, name, limits) if fmt == "parquet" else _read_csv(source, name, limits)
    except HGymError:
        raise
    except (FileNotFoundError, IsADirectoryError):
        raise HGymError(f"File '{name}' was not found; check the path.") from None
    except UnicodeDecodeError:
        raise _not_utf8(source, name, limits) from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, OSError, ValueError, csv.Error) as problem:
        first_line = str(problem).strip().splitlines()[0] if str(problem).strip() else type(problem).__name__
        raise HGymError(f"Could not read '{name}' as {fmt.upper()}: {first_line}. "
                        f"Save it as a {fmt.upper()} file with a header row and one row per patient per time step.") from None
    _check_patients(frame, name, limits, id_column)
    return _blank_missing_markers(frame)


def _read_csv(source: Source, name: str, limits: TableLimits) -> pd.DataFrame:
    with _decompressed(source, name) as stream:
        head = stream.read(HEAD_BYTES)
        stream.seek(0)
        text = head.decode("utf-8", errors="replace").removeprefix("\ufeff")
        if len(head) == HEAD_BYTES:
            text = text[: text.rfind("\n") + 1] or text   # whole lines only
        separator = _separator(text)
        header = next(csv.reader(io.StringIO(text), delimiter=separator), [])
        _refuse_repeated_columns(header, name)
        body = text.partition("\n")[2]
        # Excel in locales that separate with ';' writes decimal commas (1,5); elsewhere '.' stays.
        decimal = "," if separator != "," and re.search(r"\d,\d", body) else "."
        rows_allowed = min(limits.max_rows, limits.max_cells // max(len(header), 1))
        counted = io.BufferedReader(_LimitedReader(stream, name, limits), buffer_size=HEAD_BYTES)
        # Only empty cells are NaN here: every other marker is read after, the same way for Parquet.
        frame = pd.read_csv(counted, sep=separator, decimal=decimal, nrows=rows_allowed + 1,
                            keep_default_na=False, na_values=[""])
    if len(frame) > limits.max_rows:
        raise too_many_rows(name, limits)
    if len(frame) > rows_allowed:
        raise too_many_cells(name, len(frame.columns), limits)
    return frame


def _read_parquet(source: Source, name: str, limits: TableLimits) -> pd.DataFrame:
    file = pq.ParquetFile(source)
    meta = file.metadata
    _refuse_repeated_columns(file.schema_arrow.names, name)
    if meta.num_rows > limits.max_rows:
        raise too_many_rows(name, limits)
    if meta.num_rows * meta.num_columns > limits.max_cells:
        raise too_many_cells(name, meta.num_columns, limits)
    if sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups)) > limits.max_bytes:
        raise too_much_text(name, limits)
    # The metadata counts encoded bytes: a dictionary of one long text repeated in every row is
    # small there and large once read, so the batches are counted as they arrive too.
    batches, size = [], 0
    for batch in file.iter_batches():
        size += batch.nbytes
        if size > limits.max_bytes:
            raise too_much_text(name, limits)
        batches.append(batch)
    return pa.Table.from_batches(batches, schema=file.schema_arrow).to_pandas()


@contextlib.contextmanager
def _decompressed(source: Source, name: str) -> Iterator[BinaryIO]:
    """The file's bytes from the start, gunzipped when the name ends in .gz (a caller's object stays open)."""
    with contextlib.ExitStack() as stack:
        if isinstance(source, (str, os.PathLike)):
            raw = stack.enter_context(open(source, "rb"))
        else:
            raw = source
            raw.seek(0)
        yield stack.enter_context(gzip.GzipFile(fileobj=raw)) if name.lower().endswith(".gz") else raw


class _LimitedReader(io.RawIOBase):
    """Passes a stream's bytes on and refuses the table once more than the byte limit went through."""

    def __init__(self, stream: BinaryIO, name: str, limits: TableLimits):
        self.stream, self.name, self.limits, self.count = stream, name, limits, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        read = self.stream.readinto(buffer)
        self.count += read
        if self.count > self.limits.max_bytes:
            raise too_much_text(self.name, self.limits)
        return read


def _separator(text: str) -> str:
    """The separator that splits the first lines into the most columns, the same number on each line."""
    best, best_width = SEPARATORS[0], 1
    for separator in SEPARATORS:
        try:
            rows = [row for row in itertools.islice(csv.reader(io.StringIO(text), delimiter=separator), SNIFF_ROWS)
                    if row]
        except csv.Error:
            continue
        widths = {len(row) for row in rows}
        if len(widths) == 1 and (width := widths.pop()) > best_width:
            best, best_width = separator, width
    return best


def _refuse_repeated_columns(names: Sequence[str], name: str) -> None:
    """One column name twice would be read as 'X' and 'X.1' and trained as two variables."""
    seen: dict[str, int] = {}
    for position, column in enumerate(names, start=1):
        if column in seen:
            raise HGymError(f"'{name}' has the column '{column}' twice, as columns {seen[column]} and {position}; "
                            "rename or drop one of them and load the file again.")
        if column.strip():   # empty names are read as 'Unnamed: N', each its own
            seen[column] = position


def _not_utf8(source: Source, name: str, limits: TableLimits) -> HGymError:
    """The refusal of a file that is not UTF-8, naming the line of its first byte that is not."""
    decoder, line, seen = codecs.getincrementaldecoder("utf-8")(), 1, 0
    advice = "save it as UTF-8 (in Excel: Save As, 'CSV UTF-8') and load it again"
    with _decompressed(source, name) as stream:
        while seen < limits.max_bytes and (chunk := stream.read(HEAD_BYTES)):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as bad:
                # bad.object: this chunk after any bytes of a character begun in the last one (no newlines)
                line += bad.object[:bad.start].count(b"\n")
                return HGymError(f"'{name}' is not UTF-8 text (line {line} holds the byte "
                                 f"0x{bad.object[bad.start]:02X}, as Latin-1 and Windows exports do); {advice}.")
            line, seen = line + chunk.count(b"\n"), seen + len(chunk)
    return HGymError(f"'{name}' is not UTF-8 text; {advice}.")


def _blank_missing_markers(frame: pd.DataFrame) -> pd.DataFrame:
    """Text cells holding a missing marker made empty, column by column; a text column of numbers
    (or of True / False) once they are gone gets that type, as pandas gives a clean column. What was
    read as empty is in ``frame.attrs[READ_AS_EMPTY]``: {column: {marker as written: cells}}."""
    found: dict[str, dict[str, int]] = {}
    for name in frame.columns:
        values = frame[name]
        if not (pd.api.types.is_object_dtype(values) or pd.api.types.is_string_dtype(values)):
            continue
        counts = values.value_counts()   # each distinct text once: cheap on long label columns
        texts = [text for text in counts.index if isinstance(text, str)]
        stripped = {text.strip().lower() for text in texts}
        markers = [text for text in texts if text.strip().lower() in MISSING_MARKERS
                   and not (text.strip() == "-" and "+" in stripped)]
        if not markers:
            continue
        found[str(name)] = {text: int(counts[text]) for text in markers}
        values = values.mask(values.isin(markers))
        rest = values.dropna()
        numbers = pd.to_numeric(rest, errors="coerce")
        if len(rest) and numbers.notna().all():
            values = pd.to_numeric(values, errors="coerce")
        elif len(rest) and rest.map(lambda cell: isinstance(cell, str) and cell.strip().lower() in BOOLEAN_TEXT).all():
            values = values.map(lambda cell: BOOLEAN_TEXT[cell.strip().lower()], na_action="ignore")
        frame[name] = values
    frame.attrs[READ_AS_EMPTY] = found
    return frame


def read_as_empty(frame: pd.DataFrame) -> dict[str, dict[str, int]]:
    """What ``read_table`` read as empty cells: {column: {marker as written ('n/a', '?'): cells}}."""
    return dict(frame.attrs.get(READ_AS_EMPTY, {}))


def describe_read_as_empty(frame: pd.DataFrame) -> str | None:
    """"Read as empty: 'n/a' (2 cells) and '?' (1 cell) in Hours; '-' (3 cells) in Rate." or None."""
    found = read_as_empty(frame)
    if not found:
        return None
    def cells(count: int) -> str:
        return f"{count:,} cell{'' if count == 1 else 's'}"
    parts = [" and ".join(f"{marker!r} ({cells(count)})" for marker, count in markers.items()) + f" in {column}"
             for column, markers in found.items()]
    return "Read as empty: " + "; ".join(parts) + "."


def _check_patients(frame: pd.DataFrame, name: str, limits: TableLimits, id_column: str | None) -> None:
    if id_column is None or id_column not in frame.columns:
        try:
            id_column = _find_id_column(frame, exclude=None)
        except HGymError:
            return   # no id column: the schema step refuses the table with its own message
    patients = frame[id_column].nunique()
    if patients > limits.max_patients:
        raise too_many_patients(name, id_column, patients, limits)


# --------------------------------------------------------------------------- writing

def write_table(df: pd.DataFrame, path: str | os.PathLike, raw_csv: bool = False) -> Path:
    """Write by extension, atomically, so a crash never leaves half a file under the final name."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    data = table_bytes(df, path.name, raw_csv)
    tmp.write_bytes(data)
    os.replace(tmp, path)
    return path


def table_bytes(df: pd.DataFrame, name: str, raw_csv: bool = False) -> bytes:
    """The file contents for a download button or a file, by the format the name implies.

    CSV text cells a spreadsheet would run as a formula get a leading ' (``spreadsheet_safe``)
    unless ``raw_csv``; Parquet is typed and never evaluated, so it is written as is.
    """
    fmt = table_format(name)
    buffer = io.BytesIO()
    if fmt == "parquet":
        df.to_parquet(buffer, index=False)
    else:
        table = df if raw_csv else spreadsheet_safe(df)
        table.to_csv(buffer, index=False, compression="gzip" if name.lower().endswith(".gz") else None)
    return buffer.getvalue()


def safe_file_stem(name: str, fallback: str = "upload") -> str:
    """A file name's stem, safe to keep on disk: letters and digits of any script, '.', '_', '-'.

    Separators, spaces, '..' and other marks become '-', so the name cannot leave its folder;
    ``fallback`` when nothing usable is left (a name of punctuation only).
    """
    stem = unicodedata.normalize("NFC", Path(name).name.removesuffix(".gz").rsplit(".", 1)[0])
    # Categories L, N and M: letters, digits and the combining marks some scripts write words with.
    kept = "".join(ch if unicodedata.category(ch)[0] in "LNM" or ch in "._-" else "/" for ch in stem)
    kept = re.sub(r"(?:/|\.{2,})+", "-", kept).strip(".-_")
    while len(kept.encode("utf-8")) > MAX_STEM_BYTES:
        kept = kept[:-1]
    return kept.strip(".-_") or fallback
