"""Read power readings from CSV, Parquet or a directory of Parquet files, chunk by chunk.

A file larger than memory is read as a sequence of :class:`Chunk` s of at most
``chunk_rows`` rows each (pyarrow's streaming readers: ``pyarrow.csv.open_csv``
and ``ParquetFile.iter_batches``), so memory stays bounded by the chunk size,
whatever the file's size. Each chunk holds numpy arrays ready for
:func:`~energy_integral.integrate_meters`: meter ids, times as UTC
``datetime64[ns]`` and power as float64 (missing values become ``None``/NaT/NaN, for
the engine to reject with a reason).

What a person can act on, raised as :class:`ReadingsFileError` naming the
file: a column that does not exist (the message lists the ones that do), a
timestamp or power value that cannot be parsed (the message names the CSV
file's 1-based line, or the Parquet file's row, and the row counted from 0
as in the rejected-rows file), bytes that are not UTF-8, a corrupt Parquet
file, the files of a directory that disagree on their columns or types, a
path that is neither. Times outside 1677..2262 are not an error but a
missing time (NaT), which the engine rejects as ``invalid-time``.

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

from ._file_columns import Where, meters, power_values, times
from .errors import InvalidArgumentError, ReadingsFileError, UnreadableFileError

__all__ = ["Chunk", "ReadingsFile", "ReadingsFileError", "open_readings"]

#: Rows per chunk unless told otherwise: ~40 MB of arrays, a few times that while parsing.
DEFAULT_CHUNK_ROWS = 1_000_000


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
    out_of_range : ndarray of bool or None
        Rows whose time was outside 1677..2262 (NaT in ``timestamps``, but not missing).
    """

    meter: npt.NDArray[Any] | None
    timestamps: npt.NDArray[np.datetime64]
    power: npt.NDArray[np.float64]
    first_row: int
    progress: float
    out_of_range: npt.NDArray[np.bool_] | None = None

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
    with path.open("rb") as f:
        first = f.readline()  # only the header: a bad byte further down is named by its line
    try:
        text = first.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnreadableFileError(
            f"{path} line 1: the header is not UTF-8 text ({exc.reason})"
        ) from None
    return next(csv.reader([text]), [])


def _first_bad_utf8_line(path: Path) -> int:
    """The 1-based line of the first byte sequence that is not UTF-8 (0 if none is found)."""
    import codecs

    decoder, line = codecs.getincrementaldecoder("utf-8")(), 1
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            try:
                decoder.decode(block)
            except UnicodeDecodeError as exc:
                return line + block[: exc.start].count(b"\n")
            line += block.count(b"\n")
    return 0


def _check_columns(wanted: dict[str, str | None], existing: list[str], where: str) -> None:
    for option, name in wanted.items():
        if name is not None and name not in existing:
            raise ReadingsFileError(
                f"{option}={name!r} is not a column of {where}; "
                f"its columns are: {', '.join(existing) or '(none)'}"
            )


def _type_kind(kind: Any, column: str, power: str) -> str:
    """What a column's Arrow type reads as: files of one directory must agree on it."""
    import pyarrow as pa

    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return "text"
    if pa.types.is_timestamp(kind) or pa.types.is_date(kind):
        return "timestamps"
    if pa.types.is_integer(kind):
        return "numbers" if column == power else "integers"
    if pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        return "numbers"
    return str(kind)


def _parquet_layout(files: list[Path], wanted: dict[str, str | None]) -> tuple[list[str], int]:
    """The files' common columns and their total rows; refuse a file that disagrees."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    columns: list[str] = []
    kinds: dict[str, tuple[str, Path]] = {}
    rows = 0
    for file in files:
        try:
            meta = pq.read_metadata(file)
            schema = meta.schema.to_arrow_schema()
        except (pa.ArrowException, OSError) as exc:
            raise UnreadableFileError(f"{file}: not a readable Parquet file ({exc})") from None
        _check_columns(wanted, list(schema.names), str(file))
        if not columns:
            columns = list(schema.names)
        elif set(schema.names) != set(columns):
            raise UnreadableFileError(
                f"{file} has the columns {', '.join(schema.names)} but {files[0]} has "
                f"{', '.join(columns)}; the files of a directory must have the same columns"
            )
        for name in (n for n in wanted.values() if n is not None):
            kind = _type_kind(schema.field(name).type, name, str(wanted["power"]))
            seen = kinds.setdefault(name, (kind, file))
            if seen[0] != kind:
                raise UnreadableFileError(
                    f"{file}: column {name!r} holds {kind} but in {seen[1]} it holds {seen[0]}; "
                    "the files of a directory must agree (e.g. meter ids all strings)"
                )
        rows += meta.num_rows
    return columns, rows


def _parquet_where(file: Path, first: int) -> Where:
    return lambda i: f"{file} row {first + i}"


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
            raise InvalidArgumentError(f"chunk_rows={chunk_rows!r} must be a positive integer")
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
            self._files = _parquet_files(self.path)
            self.columns, self.total_rows = _parquet_layout(self._files, wanted)

    @property
    def _names(self) -> list[str]:
        return [c for c in (self.meter, self.time, self.power) if c is not None]

    def _csv_batches(self) -> Iterator[tuple[Any, float, Where]]:
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
        row = 0
        with self.path.open("rb") as raw:
            try:
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
                    progress = 1.0 if following is None else min(blocks * block / size, 0.999)
                    # Line 1 is the header, so row r (from 0) is line r + 2 (one line per row).
                    yield current, progress, self._csv_where(row)
                    row += current.num_rows
                    current = following
            except pa.ArrowInvalid as exc:
                if "UTF8" in str(exc):
                    line = _first_bad_utf8_line(self.path)
                    raise UnreadableFileError(
                        f"{self.path} line {line}: not UTF-8 text; re-encode the file as UTF-8"
                    ) from None
                raise UnreadableFileError(f"{self.path}: not a readable CSV file ({exc})") from None

    def _csv_where(self, first: int) -> Where:
        return lambda i: f"{self.path} line {first + i + 2} (row {first + i})"

    def _parquet_batches(self) -> Iterator[tuple[Any, float, Where]]:
        import pyarrow as pa
        import pyarrow.parquet as pq

        done, total = 0, max(self.total_rows or 0, 1)
        for file in self._files:
            in_file = 0
            try:
                # Pre-buffering keeps every row group's column chunks in Arrow's pool until
                # the file is done (about 9 MiB per million rows here, cf. apache/arrow#39808);
                # a stream reads each row group once, so there is nothing to gain from it.
                with pq.ParquetFile(file, pre_buffer=False) as parquet:
                    for batch in parquet.iter_batches(
                        batch_size=self.chunk_rows, columns=self._names
                    ):
                        done += batch.num_rows
                        yield batch, done / total, _parquet_where(file, in_file)
                        in_file += batch.num_rows
            except (pa.ArrowException, OSError) as exc:
                raise UnreadableFileError(f"{file}: not a readable Parquet file ({exc})") from None

    def chunks(self) -> Iterator[Chunk]:
        """Yield the file's rows as :class:`Chunk` s of at most ``chunk_rows`` rows, in order."""
        batches = self._csv_batches() if self.kind == "csv" else self._parquet_batches()
        row, before = 0, 0.0
        for batch, progress, batch_where in batches:
            for start in range(0, batch.num_rows, self.chunk_rows):
                part = batch.slice(start, self.chunk_rows)
                # A batch larger than a chunk: its share of the progress, by rows.
                share = (start + part.num_rows) / batch.num_rows

                def where(i: int, start: int = start, batch_where: Where = batch_where) -> str:
                    return batch_where(start + i)

                when, far = times(part.column(self.time), self.time, where)
                yield Chunk(
                    None if self.meter is None else meters(part.column(self.meter), self.meter),
                    when,
                    power_values(part.column(self.power), self.power, where),
                    row,
                    progress if share == 1.0 else before + (progress - before) * share,
                    far if far.any() else None,
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
    energy_integral.errors.ReadingsFileError: meter='METER_ID' is not a column of ...
    """
    return ReadingsFile(path, meter=meter, time=time, power=power, chunk_rows=chunk_rows)
