"""Where results go: a CSV/Parquet file chosen by extension, or a table on the terminal."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

__all__ = [
    "TableWriter",
    "check_out_path",
    "err_console",
    "fail",
    "out_console",
    "show_frame",
    "warn",
    "write_frame",
]

#: Results go to stdout; progress, counts, warnings and errors to stderr.
out_console = Console()
err_console = Console(stderr=True)
_SUFFIXES = (".csv", ".parquet", ".pq")
_SHOWN_ROWS = 50


def warn(message: str) -> None:
    """One line on stderr, starting with 'Warning:'."""
    err_console.print(f"[yellow]Warning:[/yellow] {message}", highlight=False, soft_wrap=True)


def fail(message: str, code: int) -> typer.Exit:
    """Print a one-line error on stderr; return the Exit to raise with ``code``."""
    err_console.print(f"[red]Error:[/red] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def check_out_path(path: Path | None, option: str) -> None:
    """Raise a usage error (exit 2) unless ``path`` ends in .csv, .parquet or .pq and its
    directory exists: checked before any work, not after it."""
    if path is not None and path.suffix.lower() not in _SUFFIXES:
        raise typer.BadParameter(f"{str(path)!r} must end in .csv or .parquet", param_hint=option)
    if path is not None and not path.absolute().parent.is_dir():
        raise typer.BadParameter(
            f"{str(path)!r}: the directory {str(path.absolute().parent)!r} does not exist",
            param_hint=option,
        )


def _arrow_table(frame: Any) -> Any:
    import pyarrow as pa

    return pa.Table.from_pandas(frame, preserve_index=False)


def write_frame(frame: Any, path: Path) -> None:
    """Write a pandas DataFrame to ``path`` as CSV or Parquet, by its extension."""
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    table = _arrow_table(frame)
    if path.suffix.lower() == ".csv":
        pcsv.write_csv(table, path)
    else:
        pq.write_table(table, path)


class TableWriter:
    """Append pyarrow tables of one schema to a CSV or Parquet file, part by part.

    The file is created even when nothing is written, with the columns only.
    """

    def __init__(self, path: Path, schema: Any) -> None:
        self.path = path
        self.schema = schema
        self._writer: Any = None

    def _open(self) -> Any:
        if self._writer is None:
            import pyarrow.csv as pcsv
            import pyarrow.parquet as pq

            csv = self.path.suffix.lower() == ".csv"
            self._writer = (pcsv.CSVWriter if csv else pq.ParquetWriter)(self.path, self.schema)
        return self._writer

    def write(self, table: Any) -> None:
        self._open().write_table(table.cast(self.schema))

    def close(self) -> None:
        self._open().close()


def _cell(value: Any) -> str:
    import pandas as pd

    if isinstance(value, pd.Timestamp):  # full precision goes to --out; a table is for reading
        return value.strftime("%Y-%m-%d %H:%M:%S%z" if value.tzinfo else "%Y-%m-%d %H:%M:%S")
    if isinstance(value, pd.Timedelta):
        return str(value.to_pytimedelta())
    if isinstance(value, float):
        return f"{value:,.6g}" if abs(value) < 1e6 else f"{value:,.1f}"
    return str(value)


def show_frame(frame: Any, title: str) -> None:
    """Print a DataFrame as a rich table (the first rows only when it is long)."""
    table = Table(title=title, title_justify="left")
    for name in frame.columns:
        numeric = frame[name].dtype.kind in "fiu"
        table.add_column(str(name), justify="right" if numeric else "left")
    for row in frame.head(_SHOWN_ROWS).itertuples(index=False):
        table.add_row(*(_cell(v) for v in row))
    out_console.print(table)
    if len(frame) > _SHOWN_ROWS:
        out_console.print(f"… {len(frame) - _SHOWN_ROWS:,} more rows; write them all with --out")
