"""Where results go: a CSV/Parquet file chosen by extension, or a table on the terminal."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

__all__ = [
    "TableWriter",
    "by_meter",
    "check_out_path",
    "dictionary_columns",
    "err_console",
    "fail",
    "meter_order",
    "out_console",
    "plural",
    "show_frame",
    "warn",
    "write_frame",
    "write_table",
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
    """Write a pandas DataFrame to ``path`` as CSV or Parquet, by its extension, by meter."""
    write_table(_arrow_table(by_meter(frame)), path)


def write_table(table: Any, path: Path) -> None:
    """Write a pyarrow Table to ``path`` as CSV or Parquet, by its extension."""
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    if path.suffix.lower() == ".csv":
        pcsv.write_csv(table, path)
    else:
        pq.write_table(table, path, use_dictionary=dictionary_columns(table.schema))


def dictionary_columns(schema: Any) -> list[str]:
    """The columns worth dictionary-encoding in Parquet: all but the floating-point ones.

    Meters, times and counts repeat; measured energies and powers hardly
    ever do, and trying a dictionary on them first (pyarrow's default) about
    doubles the time to write a table of intervals and makes the file larger.
    """
    import pyarrow as pa

    return [field.name for field in schema if not pa.types.is_floating(field.type)]


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
            self._writer = (
                pcsv.CSVWriter(self.path, self.schema)
                if csv
                else pq.ParquetWriter(
                    self.path, self.schema, use_dictionary=dictionary_columns(self.schema)
                )
            )
        return self._writer

    def write(self, table: Any) -> None:
        self._open().write_table(table.cast(self.schema))

    def close(self) -> None:
        self._open().close()


def plural(n: int, word: str) -> str:
    """``1 meter``, ``3 meters``: a count with its noun."""
    return f"{n:,} {word}" if n == 1 else f"{n:,} {word}s"


def by_meter(frame: Any) -> Any:
    """The rows sorted by their ``meter`` column (if any), each meter's rows kept in order."""
    if "meter" not in frame.columns or frame.empty:
        return frame
    order = meter_order(frame["meter"])
    return frame if order is None else frame.iloc[order].reset_index(drop=True)


def meter_order(meters: Any) -> Any:
    """The positions of the rows sorted stably by their meter's text; None if they already are.

    >>> meter_order(np.array(["b", "b", "a", "c"], dtype=object)).tolist()
    [2, 0, 1, 3]
    >>> meter_order(np.array(["a", "b", "b"], dtype=object)) is None
    True
    """
    import pandas as pd

    from .._column_runs import column_runs

    n = len(meters)
    runs = column_runs(meters, "meter")
    if runs is not None:  # each meter's rows together: the runs move, whole
        by_text = np.argsort(np.asarray(runs[0]).astype(str), kind="stable")
        if np.array_equal(by_text, np.arange(by_text.size)):
            return None
        starts = runs[1]
        sizes = np.diff(np.append(starts, n))[by_text]
        return np.repeat(starts[by_text] - (np.cumsum(sizes) - sizes), sizes) + np.arange(n)
    # Sort the few distinct meters by their text, then the rows by their meter's rank:
    # the order of sorting every row's text, at a fraction of its cost.
    codes, uniques = pd.factorize(meters, use_na_sentinel=False)
    by_text = np.argsort(np.asarray(uniques).astype(str), kind="stable")
    rank = np.empty_like(by_text)
    rank[by_text] = np.arange(by_text.size)
    order = np.argsort(rank[codes], kind="stable")
    return None if np.array_equal(order, np.arange(n)) else order


def _decimals(values: Any) -> int:
    """One number of decimals for a whole column: about five significant digits at its largest."""
    finite = np.abs(values[np.isfinite(values)])
    largest = float(finite.max()) if finite.size else 0.0
    return 3 if largest == 0.0 else int(np.clip(4 - np.floor(np.log10(largest)), 0, 6))


def _cells(column: Any) -> list[str]:
    """A column's values as text, formatted alike so that they line up."""
    import pandas as pd

    kind = column.dtype.kind
    if kind == "M":  # full precision goes to --out; a table is for reading
        fmt = "%Y-%m-%d %H:%M:%S" if bool((column.dt.second != 0).any()) else "%Y-%m-%d %H:%M"
        fmt += "%z" if column.dt.tz is not None else ""
        return [v.strftime(fmt) if v is not pd.NaT else "" for v in column]
    if kind == "m":
        return [str(v.to_pytimedelta()) if v is not pd.NaT else "" for v in column]
    if kind == "f":
        decimals = _decimals(column.to_numpy())
        return [f"{v:,.{decimals}f}" for v in column]
    if kind in "iu":
        return [f"{v:,}" for v in column]
    return [str(v) for v in column]


#: Columns a narrow terminal may leave out, the first first (a name stands for itself and
#: for itself with a unit, e.g. ``energy_min_kWh``); --out always writes all.
_DROPPABLE = (
    "end", "extrapolated", "largest_gap", "energy_min", "energy_max", "mean_power", "covered",
    "samples", "first",
)  # fmt: skip


def _fitting(columns: dict[str, list[str]], width: int) -> list[str]:
    """The columns that fit ``width`` (rich's box: 3 characters a column, 1 more)."""
    names = list(columns)

    def needed(shown: list[str]) -> int:
        return sum(max([len(n), *map(len, columns[n])]) + 3 for n in shown) + 1

    for droppable in _DROPPABLE:
        if needed(names) <= width:
            break
        for name in [n for n in names if n == droppable or n.startswith(f"{droppable}_")]:
            names.remove(name)
    return names


def show_frame(frame: Any, title: str) -> None:
    """Print a DataFrame as a rich table: sorted by meter, the first rows only when it is long,
    and without the less needed columns when the terminal is too narrow for all of them."""
    frame = by_meter(frame)
    head = frame.head(_SHOWN_ROWS)
    columns = {str(name): _cells(head[name]) for name in head.columns}
    shown = _fitting(columns, out_console.width)
    table = Table(title=title, title_justify="left")
    for name in shown:
        numeric = head[name].dtype.kind in "fiu"
        table.add_column(name, justify="right" if numeric else "left", no_wrap=True)
    for row in zip(*(columns[name] for name in shown), strict=True):
        table.add_row(*row)
    out_console.print(table)
    if len(frame) > _SHOWN_ROWS:
        out_console.print(f"… {len(frame) - _SHOWN_ROWS:,} more rows; write them all with --out")
    hidden = [name for name in columns if name not in shown]
    if hidden:
        out_console.print(
            f"Not shown at {out_console.width} columns: {', '.join(hidden)}; "
            "a wider terminal or --out shows them."
        )
