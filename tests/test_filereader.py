"""Chunked reading of CSV, Parquet and directories of Parquet files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from energy_integral.filereader import Chunk, ReadingsFileError, open_readings
from energy_integral.synthetic import generate_readings


def _concat(chunks: list[Chunk]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    meter = np.concatenate([c.meter for c in chunks if c.meter is not None])
    return (
        meter,
        np.concatenate([c.timestamps for c in chunks]),
        np.concatenate([c.power for c in chunks]),
    )


@pytest.fixture
def frame() -> pd.DataFrame:
    r = generate_readings(4, periods=40, seed=3, invalid_fraction=0.05, duplicate_fraction=0.05)
    return r.to_pandas()


def _write(frame: pd.DataFrame, tmp_path: Path, kind: str) -> Path:
    if kind == "csv":
        path = tmp_path / "r.csv"
        frame.to_csv(path, index=False)
    elif kind == "parquet":
        path = tmp_path / "r.parquet"
        frame.to_parquet(path)
    else:  # a directory of three parquet files, read in path order
        path = tmp_path / "parts"
        path.mkdir()
        for i, lo in enumerate(range(0, len(frame), len(frame) // 3 + 1)):
            frame.iloc[lo : lo + len(frame) // 3 + 1].to_parquet(path / f"part-{i}.parquet")
    return path


@pytest.mark.parametrize("kind", ["csv", "parquet", "dir"])
@pytest.mark.parametrize("chunk_rows", [1, 7, 10_000])
def test_chunks_give_back_the_file(
    frame: pd.DataFrame, tmp_path: Path, kind: str, chunk_rows: int
) -> None:
    source = open_readings(_write(frame, tmp_path, kind), chunk_rows=chunk_rows)
    chunks = list(source.chunks())
    assert all(1 <= len(c) <= chunk_rows for c in chunks)
    assert [c.first_row for c in chunks] == list(np.cumsum([0] + [len(c) for c in chunks])[:-1])
    progress = [c.progress for c in chunks]
    assert progress == sorted(progress)
    assert progress[-1] == 1.0
    meter, ts, power = _concat(chunks)
    assert meter.tolist() == frame["METER_ID"].tolist()
    assert np.array_equal(ts, frame["TIMESTAMP"].to_numpy())
    # NaN and ±inf both survive the round trip (empty CSV cells read as NaN).
    assert np.array_equal(power, frame["KW"].to_numpy(), equal_nan=True)
    if kind != "csv":
        assert source.total_rows == len(frame)


def test_csv_keeps_meter_ids_as_text_and_reads_missing_values(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text(
        "METER_ID,TIMESTAMP,KW\n"
        "007,2026-01-01T00:00:00,1.5\n"
        ",2026-01-01T00:01:00,2\n"
        "007,,3\n"
        "007,2026-01-01T00:03:00,\n"
    )
    (chunk,) = open_readings(path).chunks()
    assert chunk.meter is not None
    assert chunk.meter.tolist() == ["007", None, "007", "007"]
    assert np.isnat(chunk.timestamps).tolist() == [False, False, True, False]
    assert np.isnan(chunk.power).tolist() == [False, False, False, True]


def test_csv_times_with_offsets_become_utc(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text("TIMESTAMP,KW\n2026-01-01T01:00:00+01:00,1\n2026-01-01T00:30:00Z,1\n")
    (chunk,) = open_readings(path, meter=None).chunks()
    assert chunk.meter is None
    expected = np.array(["2026-01-01T00:00", "2026-01-01T00:30"], dtype="datetime64[ns]")
    assert np.array_equal(chunk.timestamps, expected)


def test_parquet_tz_aware_and_dictionary_columns(tmp_path: Path) -> None:
    path = tmp_path / "r.parquet"
    times = pd.to_datetime(["2026-06-01 02:00", "2026-06-01 03:00"]).tz_localize("Europe/Berlin")
    df = pd.DataFrame(
        {"M": pd.Categorical(["a", "b"]), "T": times, "P": np.array([1, 2], dtype=np.int32)}
    )
    df.to_parquet(path)
    (chunk,) = open_readings(path, meter="M", time="T", power="P").chunks()
    assert chunk.meter is not None
    assert chunk.meter.tolist() == ["a", "b"]
    # Berlin is UTC+2 in summer.
    expected = np.array(["2026-06-01T00:00", "2026-06-01T01:00"], dtype="datetime64[ns]")
    assert np.array_equal(chunk.timestamps, expected)
    assert chunk.power.tolist() == [1.0, 2.0]


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_missing_column_lists_the_columns(frame: pd.DataFrame, tmp_path: Path, kind: str) -> None:
    path = _write(frame, tmp_path, kind)
    with pytest.raises(ReadingsFileError, match=r"power='POWER' is not a column of .*"
                       r"its columns are: METER_ID, TIMESTAMP, KW"):  # fmt: skip
        open_readings(path, power="POWER")


def test_missing_column_in_one_file_of_a_directory_names_the_file(tmp_path: Path) -> None:
    good = generate_readings(1, periods=3).to_pandas()
    (tmp_path / "a.parquet").parent.mkdir(exist_ok=True)
    good.to_parquet(tmp_path / "a.parquet")
    good.rename(columns={"KW": "W"}).to_parquet(tmp_path / "b.parquet")
    with pytest.raises(
        ReadingsFileError, match=r"b\.parquet; its columns are: METER_ID, TIMESTAMP, W"
    ):
        open_readings(tmp_path)


@pytest.mark.parametrize("chunk_rows", [1, 2, 100])
def test_unparseable_timestamp_names_the_row(tmp_path: Path, chunk_rows: int) -> None:
    rows = [f"2026-01-01T00:0{i}:00,1" for i in range(8)]
    rows[5] = "soon,1"
    path = tmp_path / "r.csv"
    path.write_text("TIMESTAMP,KW\n" + "\n".join(rows) + "\n")
    source = open_readings(path, meter=None, chunk_rows=chunk_rows)
    with pytest.raises(
        ReadingsFileError,
        match=r"r\.csv line 7 \(row 5\): time='TIMESTAMP' is 'soon', not a timestamp",
    ):
        list(source.chunks())


def test_mixing_naive_and_offset_times_is_named(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text("TIMESTAMP,KW\n2026-01-01T00:00,1\n2026-01-01T00:01+01:00,1\n")
    with pytest.raises(
        ReadingsFileError, match=r"line 3 \(row 1\): .* mixes times with and without"
    ):
        list(open_readings(path, meter=None).chunks())


def test_unparseable_power_names_the_row(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text("TIMESTAMP,KW\n2026-01-01T00:00,1\n2026-01-01T00:01,1 kW\n")
    with pytest.raises(
        ReadingsFileError, match=r"r\.csv line 3 \(row 1\): power='KW' is '1 kW', not a number"
    ):
        list(open_readings(path, meter=None).chunks())


def test_a_parquet_file_has_rows_not_lines(tmp_path: Path) -> None:
    path = tmp_path / "r.parquet"
    pq.write_table(pa.table({"TIMESTAMP": ["2026-01-01T00:00", "soon"], "KW": [1.0, 1.0]}), path)
    with pytest.raises(
        ReadingsFileError, match=r"r\.parquet row 1: time='TIMESTAMP' is 'soon', not a timestamp"
    ):
        list(open_readings(path, meter=None).chunks())


def test_power_of_the_wrong_type_is_named(tmp_path: Path) -> None:
    path = tmp_path / "r.parquet"
    pq.write_table(
        pa.table({"TIMESTAMP": pa.array([0], pa.timestamp("s")), "KW": pa.array([True])}), path
    )
    with pytest.raises(ReadingsFileError, match="power='KW' has type bool; expected numbers"):
        list(open_readings(path, meter=None).chunks())


@pytest.mark.parametrize(
    ("name", "message"),
    [("nothing.csv", "does not exist"), ("r.json", "neither .csv nor .parquet")],
)
def test_bad_paths(tmp_path: Path, name: str, message: str) -> None:
    (tmp_path / "r.json").write_text("{}")
    with pytest.raises(ReadingsFileError, match=message):
        open_readings(tmp_path / name)


def test_directory_without_parquet_files(tmp_path: Path) -> None:
    with pytest.raises(ReadingsFileError, match=r"directory without \.parquet files"):
        open_readings(tmp_path)


def test_chunk_rows_must_be_positive(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text("TIMESTAMP,KW\n")
    with pytest.raises(ValueError, match="chunk_rows=0 must be a positive integer"):
        open_readings(path, meter=None, chunk_rows=0)


@pytest.mark.parametrize("chunk_rows", [500, 4_000, 1_000_000])
def test_csv_progress_follows_the_rows_read(tmp_path: Path, chunk_rows: int) -> None:
    """The reader reads ahead; the bar must still say how much of the file was handed out."""
    frame = generate_readings(20, periods=1_000, seed=1).to_pandas()  # 20,000 rows, ~0.9 MB
    path = tmp_path / "r.csv"
    frame.to_csv(path, index=False)
    chunks = list(open_readings(path, chunk_rows=chunk_rows).chunks())
    rows = np.cumsum([len(c) for c in chunks]) / len(frame)
    progress = np.array([c.progress for c in chunks])
    assert progress[-1] == 1.0
    assert np.all(progress[:-1] < 1.0)  # 100 % only once everything was read
    assert np.all(np.diff(progress) >= 0)
    # Within a block of the file (a block is 64 bytes a chunk row, at least 64 KiB).
    block = max(chunk_rows * 64, 1 << 16) / path.stat().st_size
    assert np.all(np.abs(progress - rows) <= block + 0.02)
