"""Read power readings from CSV, Parquet or a directory of Parquet files, chunk by chunk.

A file larger than memory is read as a sequence of :class:`Chunk` s of at most
``chunk_rows`` rows each (pyarrow's streaming readers: ``pyarrow.csv.open_csv``
and ``ParquetFile.iter_batches``), so memory stays bounded by the chunk size,
whatever the file's size. Each chunk holds numpy arrays ready for
:func:`~energy_integral.integrate_meters`: meter ids, times as UTC
``datetime64[ns]`` and power as float64 (missing values become ``None``/NaT/NaN, for
the engine to reject with a reason).

What a person can act on, raised as :class:`ReadingsFileError`: a column that
does not exist (the message lists the ones that do), a timestamp or power
value that cannot be parsed (the message names the row, counted from 0 as in
the rejected-rows file), a path that is neither.

CSV columns are read as text and parsed here: meter ids stay strings
(``"007"`` is not ``7``); times are ISO 8601, naive (taken as UTC) or with a
UTC offset. Parquet columns keep their types. pyarrow is imported only when a
file is opened.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from .errors import EnergyIntegralError

__all__ = ["Chunk", "ReadingsFile", "ReadingsFileError", "open_readings"]

#: Rows per chunk unless told otherwise: ~40 MB of arrays, a few times that while parsing.
DEFAULT_CHUNK_ROWS = 1_000_000
_TIME_EXAMPLE = "ISO 8601 such as 2026-01-01T00:00:00 or 2026-01-01T00:00:00+01:00"


class ReadingsFileError(EnergyIntegralError, ValueError):
    """A readings file that cannot be read as asked: missing column, unparseable value."""


@dataclass(frozen=True)
class Chunk:
    """A run of consecutive rows of a readings file.

    Attributes
    ----------
    meter : ndarray or None
        Meter id per row (``None`` when the file is one series without a meter column).
    timestamps : ndarray of datetime64[ns]
        UTC; missing times are NaT.
    power : ndarray of float64
        Power per row; missing values are NaN.
    first_row : int
        Row number (from 0, header excluded) of the chunk's first row in the file.
    progress : float
        Share of the file read once this chunk is done (0..1).
    """

    meter: npt.NDArray[Any] | None
    timestamps: npt.NDArray[np.datetime64]
    power: npt.NDArray[np.float64]
    first_row: int
    progress: float

    def __len__(self) -> int:
        return int(self.power.size)


def _parquet_files(path: Path) -> list[Path]:
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.suffix.lower() in (".parquet", ".pq"))
        if not files:
            raise ReadingsFileError(f"readings={str(path)!r} is a directory without .parquet files")
        return files
    return [path]


def _kind(path: Path) -> str:
    if not path.exists():
        raise ReadingsFileError(f"readings={str(path)!r} does not exist")
    if path.is_dir() or path.suffix.lower() in (".parquet", ".pq"):
        return "parquet"
    if path.suffix.lower() in (".csv", ".txt"):
        return "csv"
    raise ReadingsFileError(
        f"readings={str(path)!r} is neither .csv nor .parquet (nor a directory of .parquet files)"
    )


def _csv_header(path: Path) -> list[str]:
    with path.open(newline="", encoding="utf-8-sig") as f:
        return next(csv.reader(f), [])


def _check_columns(wanted: dict[str, str | None], existing: list[str], where: str) -> None:
    for option, name in wanted.items():
        if name is not None and name not in existing:
            raise ReadingsFileError(
                f"{option}={name!r} is not a column of {where}; "
                f"its columns are: {', '.join(existing) or '(none)'}"
            )


def _first_failing(array: Any, target: Any) -> int:
    """Index of the first value of ``array`` that does not cast to ``target`` (by bisection)."""
    import pyarrow as pa

    lo, hi = 0, len(array)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        try:
            array.slice(lo, mid - lo).cast(target)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            hi = mid
        else:
            lo = mid
    return lo


def _plain(array: Any) -> Any:
    import pyarrow as pa

    if pa.types.is_dictionary(array.type):
        array = array.dictionary_decode()
    if pa.types.is_large_string(array.type):
        array = array.cast(pa.string())
    return array


def _at(first_row: int, i: int, first_line: int | None) -> str:
    """Where value ``i`` of a chunk sits: its 0-based data row, and in a CSV its 1-based line."""
    if first_line is None:
        return f"row {first_row + i}"
    return f"row {first_row + i} (line {first_line + i} of the file)"


def _times(
    array: Any, column: str, first_row: int, first_line: int | None = None
) -> npt.NDArray[np.datetime64]:
    import pyarrow as pa

    array = _plain(array)
    naive, aware = pa.timestamp("ns"), pa.timestamp("ns", tz="UTC")
    if pa.types.is_timestamp(array.type) or pa.types.is_date(array.type):
        out = array.cast(naive) if not pa.types.is_timestamp(array.type) else array
        if out.type.tz is not None:
            out = out.cast(aware)
        return np.asarray(out.cast(naive).to_numpy(zero_copy_only=False), dtype="datetime64[ns]")
    if not pa.types.is_string(array.type):
        raise ReadingsFileError(
            f"time={column!r} has type {array.type}; expected timestamps or {_TIME_EXAMPLE}"
        )
    for target in (naive, aware):
        try:
            parsed = array.cast(target)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue
        return np.asarray(parsed.cast(naive).to_numpy(zero_copy_only=False), dtype="datetime64[ns]")
    # Neither reading parses the whole chunk: name the first row that breaks the
    # reading its first value follows.
    valid = array.drop_null()
    mode = naive
    try:
        valid.slice(0, 1).cast(naive)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        mode = aware
    i = _first_failing(array, mode)
    value = array[i].as_py()
    mixed = ""
    try:
        array.slice(i, 1).cast(aware if mode is naive else naive)
        mixed = " (the column mixes times with and without a UTC offset)"
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    raise ReadingsFileError(
        f"time={column!r} at {_at(first_row, i, first_line)} is {value!r}, "
        f"not a timestamp{mixed}; "
        f"expected {_TIME_EXAMPLE}"
    )


def _power(
    array: Any, column: str, first_row: int, first_line: int | None = None
) -> npt.NDArray[np.float64]:
    import pyarrow as pa

    array = _plain(array)
    kinds = (pa.types.is_string, pa.types.is_integer, pa.types.is_floating, pa.types.is_decimal)
    if not any(is_kind(array.type) for is_kind in kinds):
        raise ReadingsFileError(f"power={column!r} has type {array.type}; expected numbers")
    try:
        values = array.cast(pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        i = _first_failing(array, pa.float64())
        raise ReadingsFileError(
            f"power={column!r} at {_at(first_row, i, first_line)} is "
            f"{array[i].as_py()!r}, not a number"
        ) from None
    return np.asarray(values.fill_null(np.nan).to_numpy(zero_copy_only=False), dtype=np.float64)


def _meters(array: Any) -> npt.NDArray[Any]:
    return np.asarray(_plain(array).to_numpy(zero_copy_only=False))


class ReadingsFile:
    """A CSV file, Parquet file or directory of Parquet files of readings, read in chunks.

    Use :func:`open_readings` to make one. Opening checks the columns (of every
    Parquet file of a directory); :meth:`chunks` reads.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        meter: str | None = "METER_ID",
        time: str = "TIMESTAMP",
        power: str = "KW",
        chunk_rows: int = DEFAULT_CHUNK_ROWS,
    ) -> None:
        if not isinstance(chunk_rows, int) or chunk_rows < 1:
            raise ValueError(f"chunk_rows={chunk_rows!r} must be a positive integer")
        self.path = Path(path)
        self.kind = _kind(self.path)
        self.meter, self.time, self.power = meter, time, power
        self.chunk_rows = chunk_rows
        wanted = {"meter": meter, "time": time, "power": power}
        #: Rows in the file (Parquet) or ``None`` (CSV: unknown until read).
        self.total_rows: int | None = None
        if self.kind == "csv":
            self.columns = _csv_header(self.path)
            _check_columns(wanted, self.columns, str(self.path))
        else:
            import pyarrow.parquet as pq

            self._files = _parquet_files(self.path)
            self.total_rows = 0
            for file in self._files:
                schema = pq.read_schema(file)
                self.columns = list(schema.names)
                _check_columns(wanted, self.columns, str(file))
                self.total_rows += pq.ParquetFile(file).metadata.num_rows

    @property
    def _names(self) -> list[str]:
        return [c for c in (self.meter, self.time, self.power) if c is not None]

    def _csv_batches(self) -> Iterator[tuple[Any, float]]:
        import pyarrow as pa
        import pyarrow.csv as pcsv

        size = max(self.path.stat().st_size, 1)
        convert = pcsv.ConvertOptions(
            include_columns=self._names,
            column_types=dict.fromkeys(self._names, pa.string()),
            strings_can_be_null=True,
        )
        # Blocks are bytes; a few dozen bytes per row, sliced to chunk_rows below.
        block = int(min(max(self.chunk_rows * 64, 1 << 16), 1 << 26))
        with self.path.open("rb") as raw:
            reader = pcsv.open_csv(
                raw, read_options=pcsv.ReadOptions(block_size=block), convert_options=convert
            )
            # The reader reads ahead, so the file position runs ahead of the rows handed
            # out (the whole file at the first batch when it fits a block): count blocks
            # instead, each batch being one block, and say 1.0 only at the last one.
            batches = iter(reader)
            current = next(batches, None)
            blocks = 0
            while current is not None:
                following = next(batches, None)
                blocks += 1
                yield current, 1.0 if following is None else min(blocks * block / size, 0.999)
                current = following

    def _parquet_batches(self) -> Iterator[tuple[Any, float]]:
        import pyarrow.parquet as pq

        done, total = 0, max(self.total_rows or 0, 1)
        for file in self._files:
            # Pre-buffering keeps every row group's column chunks in Arrow's pool until
            # the file is done (about 9 MiB per million rows here, cf. apache/arrow#39808);
            # a stream reads each row group once, so there is nothing to gain from it.
            with pq.ParquetFile(file, pre_buffer=False) as parquet:
                for batch in parquet.iter_batches(batch_size=self.chunk_rows, columns=self._names):
                    done += batch.num_rows
                    yield batch, done / total

    def chunks(self) -> Iterator[Chunk]:
        """Yield the file's rows as :class:`Chunk` s of at most ``chunk_rows`` rows, in order."""
        batches = self._csv_batches() if self.kind == "csv" else self._parquet_batches()
        row, before = 0, 0.0
        line = 2 if self.kind == "csv" else None  # a CSV's first data row is its line 2
        for batch, progress in batches:
            for start in range(0, batch.num_rows, self.chunk_rows):
                part = batch.slice(start, self.chunk_rows)
                # A batch larger than a chunk: its share of the progress, by rows.
                share = (start + part.num_rows) / batch.num_rows
                yield Chunk(
                    None if self.meter is None else _meters(part.column(self.meter)),
                    _times(
                        part.column(self.time), self.time, row, None if line is None else line + row
                    ),
                    _power(
                        part.column(self.power),
                        self.power,
                        row,
                        None if line is None else line + row,
                    ),
                    row,
                    progress if share == 1.0 else before + (progress - before) * share,
                )
                row += part.num_rows
            before = progress

    def __repr__(self) -> str:
        return f"<ReadingsFile {str(self.path)!r} ({self.kind})>"


def open_readings(
    path: str | os.PathLike[str],
    *,
    meter: str | None = "METER_ID",
    time: str = "TIMESTAMP",
    power: str = "KW",
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
) -> ReadingsFile:
    """Open a readings file for chunked reading, checking that its columns exist.

    Parameters
    ----------
    path : str or path-like
        A ``.csv`` file, a ``.parquet`` file, or a directory
        whose ``.parquet`` files (recursively, in path order) together hold the readings.
    meter, time, power : str
        Column names; ``meter=None`` reads one series without a meter column.
    chunk_rows : int, optional
        Most rows per chunk; memory use is proportional to it.

    Returns
    -------
    ReadingsFile

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "r.csv").write_text("TIMESTAMP,KW\\n2026-01-01T00:00,1\\n2026-01-01T01:00,3\\n")
    >>> [len(c) for c in open_readings(d / "r.csv", meter=None, chunk_rows=1).chunks()]
    [1, 1]
    >>> open_readings(d / "r.csv", power="POWER")
    Traceback (most recent call last):
    ...
    energy_integral.filereader.ReadingsFileError: meter='METER_ID' is not a column of ...
    """
    return ReadingsFile(path, meter=meter, time=time, power=power, chunk_rows=chunk_rows)
