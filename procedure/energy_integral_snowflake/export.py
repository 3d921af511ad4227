"""Write the procedure's tables as CSV files and a PNG of power and cumulative kWh."""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

from .schema import DEFAULT_NAMES, ObjectNames, tables

__all__ = ["Written", "export_tables", "plot_tables"]


class Written(NamedTuple):
    """A file the demo wrote, and why it holds no rows when it holds none."""

    path: Path
    empty_because: str = ""


def _why_empty(table: str, names: ObjectNames) -> str:
    """What an empty table of a demo run means (the stream task alone never fills some)."""
    reasons = {
        names.resolved: "nothing was reconciled: RECONCILE_READINGS (energy-integral reconcile) "
        "writes the late and corrected readings it restates here",
        names.audit: "RECONCILE_READINGS has not run: each reconciliation writes one row per "
        "meter it restated here",
        names.quarantine: "every reading was integrated",
        names.landing: "no batch was landed",
    }
    return reasons.get(table, "the run wrote no rows to it")


def export_tables(session: Any, out: Path, names: ObjectNames = DEFAULT_NAMES) -> list[Written]:
    """Every table as ``out/<table name in lower case>.csv``, sorted by its key.

    An empty table is still written (its header says what it would hold), with
    the reason it is empty.
    """
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for table in tables(names):
        frame = session.table(table.name).to_pandas()
        if table.key and len(frame):
            frame = frame.sort_values(list(table.key), kind="stable", na_position="first")
        path = out / f"{table.name.lower()}.csv"
        frame.to_csv(path, index=False)
        written.append(Written(path, "" if len(frame) else _why_empty(table.name, names)))
    return written


def plot_tables(session: Any, out: Path, method: str, names: ObjectNames = DEFAULT_NAMES) -> Path:
    """``out/energy.png``: each meter's power (top) and stored cumulative kWh (bottom).

    Drawn from the results table as the procedure wrote it, with
    :func:`energy_integral.plotting.plot_meters`: nothing is integrated again,
    so the picture shows what was stored, not a recomputation.
    """
    from energy_integral.plotting import plot_meters

    results = session.table(names.results).to_pandas()
    results = results[results["METHOD"] == method]
    fig = plot_meters(
        results["METER_ID"].to_numpy(dtype=object),
        results["TIMESTAMP"].to_numpy(dtype="datetime64[ns]"),
        results["KW"].to_numpy(dtype="float64"),
        results["CUMULATIVE_KWH"].to_numpy(dtype="float64"),
        title=f"Power and the cumulative energy the procedure stored ({method})",
    )
    path = out / "energy.png"
    fig.savefig(path, dpi=110)
    return path
