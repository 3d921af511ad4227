"""The local end-to-end run behind ``energy-integral demo``: no account, no network.

On the embedded engine (:mod:`.embedded`: DuckDB running the Snowflake SQL of
``setup.sql``, the store and the task) it sets the pipeline up, then per tick
inserts a minute of readings for several meters (with late, duplicate and
invalid rows), runs the task once (``CALL`` only when the stream has data) and
reports the tick. It ends by
checking the result against an independent one-shot integration: each
meter's last ``CUMULATIVE_KWH`` must equal :func:`energy_integral.integrate`
over that meter's accepted source rows (those not in the quarantine).

Late rows are delivered one tick after their minute, so they reach the
procedure in a later batch than the meter's newer readings — the case the
per-meter state exists for. With an output directory it writes every table
as CSV and a PNG of each meter's power and stored cumulative kWh.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

import energy_integral as ei

from . import embedded
from ._values import checked_times
from .generator import insert_readings
from .procedure import RunSummary
from .schema import DEFAULT_NAMES, ObjectNames, tables

__all__ = [
    "DemoResult",
    "MeterCheck",
    "Written",
    "check_against_oneshot",
    "export_tables",
    "plot_tables",
    "run_demo",
    "tick_of_rows",
]

#: Readings per meter per tick (one tick = one minute).
READINGS_PER_TICK = 6


@dataclass(frozen=True)
class MeterCheck:
    """One meter's procedure total against a one-shot integration of its accepted rows."""

    meter: str
    procedure_kwh: float
    oneshot_kwh: float

    @property
    def ok(self) -> bool:
        """Equal to rounding (relative 1e-9)."""
        return math.isclose(self.procedure_kwh, self.oneshot_kwh, rel_tol=1e-9, abs_tol=1e-12)


@dataclass
class DemoResult:
    """What the demo did: per-tick summaries, the final check and the files written."""

    ticks: list[RunSummary | None] = field(default_factory=list)
    checks: list[MeterCheck] = field(default_factory=list)
    files: list[Written] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Every meter matches its one-shot integration (and there is at least one)."""
        return bool(self.checks) and all(c.ok for c in self.checks)


def tick_of_rows(readings: ei.synthetic.Readings, start: np.datetime64, ticks: int) -> Any:
    """The tick each reading is delivered in: its minute, or the next one if it is late.

    A reading is late when its meter already delivered a newer one; delivering it
    a minute later puts it in a later batch than that newer reading.
    """
    frame = pd.DataFrame({"m": readings.meter, "t": readings.timestamp})
    newest_before = frame.groupby("m")["t"].cummax().groupby(frame["m"]).shift()
    late = (frame["t"] < newest_before).to_numpy()
    minute = (readings.timestamp - start) // np.timedelta64(1, "m")
    return np.clip(minute.astype(np.int64) + late, 0, ticks - 1)


def run_demo(
    meters: int = 5,
    ticks: int = 8,
    seed: int = 0,
    method: str = "trapezoid",
    out: Path | None = None,
    on_tick: Callable[[int, int, RunSummary | None], None] | None = None,
    session: Any = None,
    names: ObjectNames = DEFAULT_NAMES,
) -> DemoResult:
    """Run the stream → task → procedure → tables loop for ``ticks`` minutes, embedded.

    Parameters
    ----------
    meters, ticks, seed : int
        Fleet size, number of one-minute ticks, random seed.
    method : str
        Integration strategy of the procedure (and of the check).
    out : Path, optional
        Directory for the tables as CSV and a PNG of power and cumulative kWh.
    on_tick : callable, optional
        Called after each tick with (tick, rows inserted, summary or None).
    session : EmbeddedSession, optional
        Where the pipeline runs; a fresh in-memory one by default. The task is
        replaced so that it calls the procedure with ``method``.
    """
    if meters < 1 or ticks < 1:
        raise ei.InvalidArgumentError(f"meters={meters} and ticks={ticks} must both be at least 1")
    if out is not None:  # before anything is written, not after the CSVs
        ei.plotting.require_matplotlib()
    if session is None:
        session = embedded.connect()
    embedded.setup(session, names)
    if method != "trapezoid":  # the task as setup.sql writes it, calling with this method
        session.sql(
            f"CREATE OR REPLACE TASK \"{names.task}\" SCHEDULE = '1 MINUTE' "
            f"WHEN SYSTEM$STREAM_HAS_DATA('{names.stream}') "
            f'AS CALL "{names.procedure}"(METHOD => ?)'.replace("?", f"'{method}'")
        ).collect()
    start = np.datetime64("2026-01-01T07:00", "ns")
    readings = ei.generate_readings(
        meters,
        start=start,
        periods=ticks * READINGS_PER_TICK,
        cadence=f"{60 // READINGS_PER_TICK}s",
        seed=seed,
        late_fraction=0.04,
        duplicate_fraction=0.03,
        invalid_fraction=0.03,
    )
    tick = tick_of_rows(readings, start, ticks)
    result = DemoResult()
    for k in range(ticks):
        rows = np.flatnonzero(tick == k)
        part = ei.synthetic.Readings(
            readings.meter[rows], readings.timestamp[rows], readings.power[rows]
        )
        inserted = insert_readings(session, part, names)
        value = embedded.tick(session, names.task)
        summary = None if value is None else RunSummary.from_json(value)
        result.ticks.append(summary)
        if on_tick is not None:
            on_tick(k, inserted, summary)
    result.checks = check_against_oneshot(session, method, names)
    if out is not None:
        result.files = [
            *export_tables(session, Path(out), names),
            Written(plot_tables(session, Path(out), method, names)),
        ]
    return result


def check_against_oneshot(
    session: Any, method: str, names: ObjectNames = DEFAULT_NAMES
) -> list[MeterCheck]:
    """Each meter's last ``CUMULATIVE_KWH`` against ``ei.integrate`` of its accepted rows."""
    source = session.table(names.source).to_pandas()
    rejected = session.table(names.quarantine).to_pandas()["ID"].dropna()
    results = session.table(names.results).to_pandas()
    results = results[results["METHOD"] == method]
    accepted = source[~source["ID"].isin(rejected)]
    checks = []
    for meter, rows in accepted.groupby("METER_ID", sort=True):
        rows = rows.sort_values("TIMESTAMP")
        oneshot = ei.integrate(
            checked_times(rows["TIMESTAMP"])[0],
            rows["KW"].to_numpy(dtype=np.float64),
            method=method,
        ).total
        mine = results[results["METER_ID"] == meter].sort_values("TIMESTAMP")
        last = float(mine["CUMULATIVE_KWH"].iloc[-1]) if len(mine) else math.nan
        checks.append(MeterCheck(str(meter), last, float(oneshot)))
    return checks


# -- what the demo writes -----------------------------------------------------------------
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
