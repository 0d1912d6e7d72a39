"""Reading tables within limits, with one clear sentence for each file it refuses, and writing
CSV that a spreadsheet shows rather than runs."""

from __future__ import annotations

import gzip
import io

import pandas as pd
import pytest

from hgym_core.cli import main
from hgym_core.data.csv_safety import spreadsheet_safe
from hgym_core.data.io import read_table, safe_file_stem, table_bytes
from hgym_core.data.limits import TableLimits, current_limits, using_limits
from hgym_core.errors import HGymError


class CountingBytes(io.BytesIO):
    """An in-memory file that remembers how many of its bytes were read."""

    def __init__(self, data: bytes):
        super().__init__(data)
        self.taken = 0

    def read(self, size: int = -1) -> bytes:
        chunk = super().read(size)
        self.taken += len(chunk)
        return chunk

    def readinto(self, buffer) -> int:
        count = super().readinto(buffer)
        self.taken += count
        return count


def gzip_of_rows(n_rows: int) -> bytes:
    """A CSV.gz of ``n_rows`` short rows whose numbers change row by row (so gzip cannot shrink it to
    nothing), built in pieces: the test never holds the whole text."""
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb") as out:
        out.write(b"PatientID,Timestep,CD4\n")
        for start in range(0, n_rows, 100_000):
            out.write("".join(f"{i // 60},{i % 60},{i * 7919 % 1000}\n"
                              for i in range(start, min(start + 100_000, n_rows))).encode())
    return buffer.getvalue()


# --------------------------------------------------------------------------- limits

@pytest.fixture(scope="module")
def bomb() -> bytes:
    return gzip_of_rows(1_500_000)   # about 20 MB of text in about 4 MB of gzip


def test_a_gzip_expanding_past_the_byte_limit_is_refused_and_reading_stops_there(bomb, monkeypatch):
    monkeypatch.setenv("HGYM_MAX_TABLE_BYTES", "1000000")
    source = CountingBytes(bomb)
    with pytest.raises(HGymError) as refused:
        read_table(source, "bomb.csv.gz")
    assert str(refused.value) == ("'bomb.csv.gz' expands past 1.0 MB of data (limit HGYM_MAX_TABLE_BYTES); "
                                  "sample it or raise the limit.")
    assert source.taken < len(bomb) / 4    # the rest of the file was never read


def test_a_table_past_the_row_limit_is_refused_after_reading_one_row_more(bomb, monkeypatch):
    monkeypatch.setenv("HGYM_MAX_ROWS", "1000")
    source = CountingBytes(bomb)
    with pytest.raises(HGymError, match=r"^'bomb.csv.gz' has more than 1,000 rows \(limit HGYM_MAX_ROWS\)"):
        read_table(source, "bomb.csv.gz")
    assert source.taken < len(bomb) / 4


def test_the_cell_and_patient_limits(hiv_cohort):
    data = table_bytes(hiv_cohort, "cohort.csv")   # 200 patients x 60 months, 15 columns
    with pytest.raises(HGymError, match=r"has more than 15,000 cells \(rows x 15 columns; limit HGYM_MAX_CELLS\)"):
        read_table(io.BytesIO(data), "cohort.csv", TableLimits(max_cells=15_000))
    with pytest.raises(HGymError, match=r"^'cohort.csv' has 200 patients in 'PatientID', more than 150 "
                                        r"\(limit HGYM_MAX_PATIENTS\); sample patients or raise the limit\.$"):
        read_table(io.BytesIO(data), "cohort.csv", TableLimits(max_patients=150))
    assert len(read_table(io.BytesIO(data), "cohort.csv", TableLimits(max_patients=200))) == len(hiv_cohort)


def test_parquet_is_refused_from_its_metadata_and_while_its_batches_arrive(hiv_cohort):
    data = table_bytes(hiv_cohort, "cohort.parquet")
    with pytest.raises(HGymError, match="has more than 1,000 rows"):
        read_table(io.BytesIO(data), "cohort.parquet", TableLimits(max_rows=1_000))
    # One long label in every row: dictionary-encoded, it is small on disk and in the metadata.
    repeated = pd.DataFrame({"PatientID": range(20_000), "Timestep": 0, "Note": "x" * 1_000})
    data = table_bytes(repeated, "notes.parquet")
    assert len(data) < 1_000_000
    with pytest.raises(HGymError, match="'notes.parquet' expands past 5.0 MB of data"):
        read_table(io.BytesIO(data), "notes.parquet", TableLimits(max_bytes=5_000_000))


def test_limits_come_from_the_environment_and_a_scope_overrides_them(monkeypatch):
    monkeypatch.setenv("HGYM_MAX_ROWS", "2e6")
    monkeypatch.setenv("HGYM_MAX_PATIENTS", "5_000")
    assert current_limits() == TableLimits(max_rows=2_000_000, max_patients=5_000)
    with using_limits(TableLimits(max_rows=7)):
        assert current_limits().max_rows == 7
    assert current_limits().max_rows == 2_000_000
    monkeypatch.setenv("HGYM_MAX_CELLS", "lots")
    with pytest.raises(HGymError, match=r"^HGYM_MAX_CELLS must be a whole number of at least 1 \(got 'lots'\)\.$"):
        current_limits()


def test_the_schema_command_takes_limit_flags_over_the_environment(hiv_cohort, tmp_path, monkeypatch, capsys):
    path = tmp_path / "cohort.csv.gz"
    path.write_bytes(table_bytes(hiv_cohort, path.name))
    monkeypatch.setenv("HGYM_MAX_ROWS", "100")
    assert main(["schema", str(path)]) == 2
    assert capsys.readouterr().err == (f"error: '{path}' has more than 100 rows (limit HGYM_MAX_ROWS); sample it or "
                                       "raise the limit.\n")
    assert main(["schema", str(path), "--max-table-rows", "20000"]) == 0
    assert '"id_column": "PatientID"' in capsys.readouterr().out
    assert main(["schema", str(path), "--max-table-rows", "20000", "--max-table-patients", "10"]) == 2
    assert "has 200 patients in 'PatientID', more than 10" in capsys.readouterr().err
    assert current_limits().max_rows == 100    # the flags held for that command only


# --------------------------------------------------------------------------- messages

def test_a_header_with_a_column_twice_is_refused_naming_both_positions():
    data = b"PatientID,Timestep,CD4,VL,CD4\n1,0,500,20,510\n1,1,520,20,530\n"
    with pytest.raises(HGymError) as refused:
        read_table(io.BytesIO(data), "twice.csv")
    assert str(refused.value) == ("'twice.csv' has the column 'CD4' twice, as columns 3 and 5; rename or drop one "
                                  "of them and load the file again.")


def test_a_latin_1_file_is_refused_with_its_line_and_how_to_save_it():
    data = "PatientID,Timestep,Ethnic\n1,0,asian\n1,1,caf\xe9\n".encode("latin-1")
    with pytest.raises(HGymError) as refused:
        read_table(io.BytesIO(data), "excel.csv")
    assert str(refused.value) == ("'excel.csv' is not UTF-8 text (line 3 holds the byte 0xE9, as Latin-1 and Windows "
                                  "exports do); save it as UTF-8 (in Excel: Save As, 'CSV UTF-8') and load it again.")


@pytest.mark.parametrize("text", [
    "PatientID;Timestep;CD4;Ethnic\n1;0;512,5;asian\n1;1;498;asian\n",     # Excel in a decimal-comma locale
    "PatientID;Timestep;CD4;Ethnic\n1;0;512.5;asian\n1;1;498;asian\n",
    "PatientID\tTimestep\tCD4\tEthnic\n1\t0\t512.5\tasian\n1\t1\t498\tasian\n",
    '"PatientID","Timestep","CD4","Ethnic"\n1,0,512.5,"asian; white"\n1,1,498,"asian; white"\n',
])
def test_semicolon_and_tab_separated_files_are_read_as_such(text):
    table = read_table(io.BytesIO(text.encode()), "visits.csv")
    assert list(table.columns) == ["PatientID", "Timestep", "CD4", "Ethnic"]
    assert table["CD4"].tolist() == [512.5, 498.0]


@pytest.mark.parametrize("name, stem", [
    ("名前.csv", "名前"), ("données patients.csv.gz", "données-patients"), ("नमस्ते.parquet", "नमस्ते"),
    ("../../etc/passwd.csv", "passwd"), ("a/..\\b.csv", "b"), ("???.csv", "upload"), ("x" * 300 + ".csv", "x" * 100),
])
def test_upload_stems_keep_letters_and_digits_of_any_script(name, stem):
    assert safe_file_stem(name) == stem


# --------------------------------------------------------------------------- spreadsheet-safe CSV

FORMULAS = ['=HYPERLINK("http://x","click")', "+1+1", "@SUM(A1)", "-2+3", "\t=1", "\r=1"]


@pytest.mark.parametrize("label", FORMULAS)
def test_text_a_spreadsheet_would_run_gets_a_leading_quote(label):
    table = pd.DataFrame({"PatientID": [0, 1], "Label": [label, "plain"]})
    assert spreadsheet_safe(table)["Label"].tolist() == ["'" + label, "plain"]
    quoted = table.assign(Label=["'" + label, "plain"])
    assert table_bytes(table, "out.csv") == quoted.to_csv(index=False).encode()


def test_numbers_and_plain_text_are_written_as_they_are():
    table = pd.DataFrame({"Dose": [-2.5, 3.0], "Shift": [-2, 4], "Label": ["-2", "plain"],
                          "Mixed": pd.Series([-1, "=1"], dtype=object), "Kind": pd.Categorical(["=A", "B"])})
    safe = spreadsheet_safe(table)
    assert safe["Dose"].tolist() == [-2.5, 3.0] and safe["Shift"].tolist() == [-2, 4]
    assert safe["Label"].tolist() == ["-2", "plain"]   # a plain number is not a formula
    assert safe["Mixed"].tolist() == [-1, "'=1"]
    assert safe["Kind"].tolist() == ["'=A", "B"] and safe["Kind"].dtype == "category"
    assert table["Kind"].tolist() == ["=A", "B"]       # the caller's table is not changed


def test_raw_csv_and_parquet_keep_the_text_as_it_is():
    table = pd.DataFrame({"PatientID": range(len(FORMULAS)), "Label": FORMULAS})
    assert table_bytes(table, "out.csv", raw_csv=True) == table.to_csv(index=False).encode()
    assert pd.read_parquet(io.BytesIO(table_bytes(table, "out.parquet")))["Label"].tolist() == FORMULAS
    gz = gzip.decompress(table_bytes(table, "out.csv.gz")).decode()
    assert "'=HYPERLINK" in gz and "'@SUM(A1)" in gz


MARKED = ("id,Hours,CD4,Arm,Test,Flag\n"
          "1,0,500,A,+,True\n"
          "1,1,n/a,B,-,False\n"
          "2,0,?,NA,+,-\n"
          "2,1, - ,A,-,True\n"
          "3,0,null,?,+,False\n")


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_common_missing_markers_are_empty_cells_in_every_column_and_format(kind):
    """Issue 24, item 14: "n/a", "NA", "?", "-", "null" read as empty the same way in a CSV and in
    Parquet (which stores them as text), in number and label columns alike, and the table says which."""
    from hgym_core.data.io import describe_read_as_empty, read_as_empty

    if kind == "csv":
        frame = read_table(io.BytesIO(MARKED.encode()), "marked.csv")
    else:
        as_text = pd.read_csv(io.StringIO(MARKED), dtype=str, keep_default_na=False)
        frame = read_table(io.BytesIO(table_bytes(as_text, "marked.parquet")), "marked.parquet")
    assert frame["CD4"].dtype == float and frame["CD4"].isna().tolist() == [False, True, True, True, True]
    assert frame["Arm"].tolist()[:2] == ["A", "B"] and frame["Arm"].isna().tolist() == [False, False, True, False, True]
    assert frame["Test"].tolist() == ["+", "-", "+", "-", "+"]      # beside '+', '-' is a result, not a marker
    assert frame["Flag"].tolist()[:2] == [True, False] and pd.isna(frame["Flag"][2])
    found = read_as_empty(frame)
    assert found["CD4"] == {"n/a": 1, "?": 1, " - ": 1, "null": 1} and found["Arm"] == {"NA": 1, "?": 1}
    assert "Test" not in found and "Hours" not in found
    assert describe_read_as_empty(frame).startswith("Read as empty: 'n/a' (1 cell) and ")
    clean = read_table(io.BytesIO(b"id,t,x\n1,0,1.5\n1,1,\n"), "clean.csv")
    assert read_as_empty(clean) == {} and describe_read_as_empty(clean) is None and clean["x"].isna().sum() == 1
