"""Write the procedure's tables as CSV files and a PNG of power and cumulative kWh."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .schema import DEFAULT_NAMES, ObjectNames, tables

__all__ = ["export_tables", "plot_tables"]


def export_tables(session: Any, out: Path, names: ObjectNames = DEFAULT_NAMES) -> list[Path]:
    """Every table as ``out/<table name in lower case>.csv``, sorted by its key."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for table in tables(names):
        frame = session.table(table.name).to_pandas()
        if table.key and len(frame):
            frame = frame.sort_values(list(table.key), kind="stable", na_position="first")
        path = out / f"{table.name.lower()}.csv"
        frame.to_csv(path, index=False)
        written.append(path)
    return written


def plot_tables(session: Any, out: Path, method: str, names: ObjectNames = DEFAULT_NAMES) -> Path:
    """``out/energy.png``: each meter's power (top) and stored cumulative kWh (bottom).

    Every meter shares one pair of axes, drawn from the results table as the
    procedure wrote it; :func:`energy_integral.plot` draws one series per
    figure and integrates it itself, so it would show a recomputation instead.
    Built on :class:`~matplotlib.figure.Figure`, not ``pyplot``: no backend is
    switched and no figure stays open in the caller's process.
    """
    from matplotlib.figure import Figure

    results = session.table(names.results).to_pandas()
    results = results[results["METHOD"] == method].sort_values(["METER_ID", "TIMESTAMP"])
    fig = Figure(figsize=(9, 6), layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True)
    for meter, rows in results.groupby("METER_ID", sort=True):
        top.plot(rows["TIMESTAMP"], rows["KW"], label=str(meter), linewidth=1)
        bottom.plot(rows["TIMESTAMP"], rows["CUMULATIVE_KWH"], label=str(meter), linewidth=1)
    top.set_ylabel("power (kW)")
    bottom.set_ylabel(f"cumulative energy (kWh, {method})")
    bottom.set_xlabel("time (UTC)")
    top.legend(loc="upper left", fontsize="small", ncol=2)
    top.set_title(f"{names.results}: integrated readings per meter")
    for label in bottom.get_xticklabels():
        label.set_rotation(30)
        label.set_horizontalalignment("right")
    path = out / "energy.png"
    fig.savefig(path, dpi=110)
    return path
