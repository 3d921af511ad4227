"""Every bad input to the CLI ends in one line naming the file, line or option, with the
exit code of its kind: 1 for the data, 2 for the call (issue: no silent wrong answer)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from energy_integral.cli import app

runner = CliRunner()


def _run(*args: str | Path) -> tuple[int, str, str]:
    result = runner.invoke(app, [str(a) for a in args])
    return result.exit_code, result.stdout, result.stderr


def _one_error_line(err: str) -> str:
    """The error as one line (rich may wrap a long one), with no traceback."""
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert any(line.startswith("Error:") or "Invalid value" in line for line in lines), err
    return " ".join(line.strip(" │╭╮╰╯─") for line in lines)


def _csv(tmp_path: Path, body: bytes, name: str = "r.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(b"METER_ID,TIMESTAMP,KW\n" + body)
    return path


def test_non_utf8_csv_names_the_file_and_line(tmp_path: Path) -> None:
    path = _csv(tmp_path, b"a,2026-01-01T00:00,1\nb\xff,2026-01-01T00:01,1\n")
    code, _, err = _run("integrate", path)
    assert code == 1
    assert "r.csv line 3: not UTF-8" in _one_error_line(err)


def test_corrupt_parquet_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "r.parquet"
    path.write_bytes(b"PAR1 this is not a parquet file PAR1")
    code, _, err = _run("integrate", path)
    assert code == 1
    assert "r.parquet: not a readable Parquet file" in _one_error_line(err)


@pytest.mark.parametrize("option", ["--out", "--rejected"])
def test_output_into_a_missing_directory_is_refused_before_the_work(
    tmp_path: Path, option: str
) -> None:
    path = _csv(tmp_path, b"a,2026-01-01T00:00,1\n")
    code, _, err = _run("integrate", path, option, tmp_path / "nowhere" / "out.csv")
    assert code == 2
    line = _one_error_line(err)
    assert option in line
    assert "does not exist" in line
    assert "Integrated" not in err  # nothing was integrated first


def test_generate_into_a_missing_directory_is_refused(tmp_path: Path) -> None:
    code, _, err = _run("generate", tmp_path / "nowhere" / "r.csv")
    assert code == 2
    assert "does not exist" in _one_error_line(err)


def test_header_only_file_with_every_gives_no_buckets(tmp_path: Path) -> None:
    path = _csv(tmp_path, b"")
    out = tmp_path / "out.csv"
    code, _, err = _run("integrate", path, "--every", "15min", "--out", out)
    assert code == 0, err
    assert out.read_text().splitlines()[0].split(",")[:3] == ['"meter"', '"start"', '"end"']
    assert len(out.read_text().splitlines()) == 1


def test_every_1ns_is_refused_naming_the_option_and_the_count(tmp_path: Path) -> None:
    path = _csv(tmp_path, b"a,2026-01-01T00:00,1\na,2026-01-01T01:00,1\n")
    code, _, err = _run("integrate", path, "--every", "1ns")
    assert code == 2
    line = _one_error_line(err)
    assert "--every" in line
    assert "MAX_BUCKETS=50,000,000" in line


def test_a_time_beyond_2262_is_a_rejected_row_not_a_wrapped_one(tmp_path: Path) -> None:
    """A 9999-12-31 sentinel must not wrap to 1816 and add energy."""
    path = _csv(tmp_path, b"a,2026-01-01T00:00,1\na,9999-12-31T00:00,1\na,2026-01-01T01:00,1\n")
    rejected = tmp_path / "bad.csv"
    code, _, err = _run("integrate", path, "--rejected", rejected, "--out", tmp_path / "e.csv")
    assert code == 0, err
    assert "invalid-time 1" in err
    assert (
        rejected.read_text()
        .splitlines()[1]
        .endswith('"invalid-time","time outside 1677-09-21..2262-04-11"')
    )
    energy = (tmp_path / "e.csv").read_text().splitlines()[1].split(",")[-1]
    assert float(energy) == 1.0  # 1 kW for the one hour between the two real readings


def test_a_pyarrow_cast_error_is_data_exit_1(tmp_path: Path) -> None:
    path = _csv(tmp_path, b"a,2026-01-01T00:00,1\na,2026-01-01T00:01,lots\n")
    code, _, err = _run("integrate", path)
    assert code == 1
    assert "r.csv line 3 (row 1): power='KW' is 'lots', not a number" in _one_error_line(err)


def test_generate_past_2262_names_the_options(tmp_path: Path) -> None:
    out = tmp_path / "r.csv"
    code, _, err = _run("generate", out, "--start", "2262-04-11T00:00", "--periods", "10000")
    assert code == 2
    line = _one_error_line(err)
    assert "--start/--periods" in line
    assert "2262-04-11" in line
    assert not out.exists()


def _parquet(path: Path, meters: pa.Array | None) -> None:
    columns = {} if meters is None else {"METER_ID": meters}
    n = len(meters) if meters is not None else 2
    columns |= {
        "TIMESTAMP": pa.array(list(range(n)), pa.timestamp("s")),
        "KW": pa.array([1.0] * n),
    }
    pq.write_table(pa.table(columns), path)


def test_a_directory_whose_last_file_lacks_the_meter_column_is_refused(tmp_path: Path) -> None:
    _parquet(tmp_path / "a.parquet", pa.array(["a", "b"]))
    _parquet(tmp_path / "b.parquet", None)
    code, _, err = _run("integrate", tmp_path)
    assert code == 1
    line = _one_error_line(err)
    assert "b.parquet has the columns TIMESTAMP, KW" in line
    assert "must have the same columns" in line


def test_a_directory_mixing_int_and_string_ids_is_refused(tmp_path: Path) -> None:
    _parquet(tmp_path / "a.parquet", pa.array([1, 2]))
    _parquet(tmp_path / "b.parquet", pa.array(["1", "2"]))
    code, _, err = _run("integrate", tmp_path)
    assert code == 1
    line = _one_error_line(err)
    assert "b.parquet: column 'METER_ID' holds text but in" in line
    assert "a.parquet it holds integers" in line


def test_nullable_int_ids_above_2_53_stay_two_meters(tmp_path: Path) -> None:
    """18-digit meter codes in a Parquet file with one null: no merge through float64."""
    big = 2**53
    path = tmp_path / "r.parquet"
    pq.write_table(
        pa.table(
            {
                "METER_ID": pa.array([big, big + 1, None, big, big + 1]),
                "TIMESTAMP": pa.array([0, 0, 0, 3600, 3600], pa.timestamp("s")),
                "KW": pa.array([1.0, 2.0, 1.0, 1.0, 2.0]),
            }
        ),
        path,
    )
    out = tmp_path / "e.csv"
    code, _, err = _run("integrate", path, "--out", out)
    assert code == 0, err
    rows = [line.split(",") for line in out.read_text().splitlines()[1:]]
    energy = {row[0].strip('"'): float(row[-1]) for row in rows}
    assert energy == {str(big): 1.0, str(big + 1): 2.0}
    assert "invalid-meter 1" in err
