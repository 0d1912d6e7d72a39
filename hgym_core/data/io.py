"""Reading and writing patient tables: CSV, CSV.gz and Parquet, chosen by file name."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import BinaryIO

import pandas as pd

from hgym_core.errors import HGymError

def table_format(name: str) -> str:
    """'csv' or 'parquet' from a file name; HGymError for anything else."""
    lowered = name.lower()
    if lowered.endswith(".parquet") or lowered.endswith(".pq"):
        return "parquet"
    if lowered.endswith(".csv") or lowered.endswith(".csv.gz"):
        return "csv"
    raise HGymError(f"Cannot tell the format of '{name}': use a file ending in .csv, .csv.gz or .parquet.")


def read_table(source: str | os.PathLike | BinaryIO, name: str | None = None) -> pd.DataFrame:
    """Read a table from a path or an uploaded file object (then ``name`` gives its format)."""
    name = name or str(source)
    fmt = table_format(name)
    try:
        if fmt == "parquet":
            return pd.read_parquet(source)
        compression = "gzip" if name.lower().endswith(".gz") else None
        return pd.read_csv(source, compression=compression)
    except (FileNotFoundError, IsADirectoryError):
        raise HGymError(f"File '{name}' was not found; check the path.") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError, ValueError) as problem:
        first_line = str(problem).strip().splitlines()[0] if str(problem).strip() else type(problem).__name__
        raise HGymError(f"Could not read '{name}' as {fmt.upper()}: {first_line}. "
                        f"Save it as a {fmt.upper()} file with a header row and one row per patient per time step.") from None


def write_table(df: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write by extension, atomically, so a crash never leaves half a file under the final name."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    data = table_bytes(df, path.name)
    tmp.write_bytes(data)
    os.replace(tmp, path)
    return path


def table_bytes(df: pd.DataFrame, name: str) -> bytes:
    """The file contents for a download button or a file, by the format the name implies."""
    fmt = table_format(name)
    buffer = io.BytesIO()
    if fmt == "parquet":
        df.to_parquet(buffer, index=False)
    else:
        df.to_csv(buffer, index=False, compression="gzip" if name.lower().endswith(".gz") else None)
    return buffer.getvalue()
