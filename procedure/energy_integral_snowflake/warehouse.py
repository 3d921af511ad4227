"""Where a backfill or reconciliation runs: one interface, a warehouse and a local engine.

:func:`~.backfill.run_backfill` and :func:`~.reconcile.run_reconcile` speak to
a :class:`Warehouse` only. Two implementations:

* :class:`~.warehouse_snowflake.SnowflakeWarehouse` — the partition functions
  run on the warehouse through ``group_by("METER_ID").apply_in_pandas`` (per
  ``(METER_ID, CHUNK)`` when chunked per day); results stay there and are
  merged in one transaction;
* :class:`LocalWarehouse` — Snowpark local testing: ``to_pandas()`` and the
  same partition functions per meter on pandas
  (:func:`~.partition.integrate_windows`), writes made idempotent by batch.

Local testing cannot stand in for the warehouse call: its emulation of a
vectorised UDTF hands ``end_partition`` the whole input once (partitions are
ignored), calls it several times, and pads the output with NaN rows to the
input's length — silently wrong kWh. Hence the local engine groups on pandas.

A restatement replaces, for each meter, the results in its :class:`Window`
(``after < TIMESTAMP <= through``) with a re-integration of the meter's
source rows there, continuing the state at ``after``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import reduce
from typing import Any, Protocol

import numpy as np
import pandas as pd

import energy_integral as ei

from ._values import py_times
from .batch import Policy, state_from_json, state_to_json
from .partition import MERGED, integrate_windows
from .schema import DEFAULT_NAMES, STATUS_LANDED, ObjectNames, Table, tables

__all__ = ["LocalWarehouse", "Restated", "Warehouse", "Window", "Writes", "anchor_state"]


@dataclass(frozen=True)
class Window:
    """One meter's stretch to restate: ``after < TIMESTAMP <= through`` (None: unbounded).

    ``incoming`` is the meter's state at ``after`` — that of its stored result
    row there — or empty when the meter starts afresh; ``before`` is its latest
    stored state, whose energy the audit reports as kWh before. With
    ``inclusive`` the window is ``after <= TIMESTAMP`` (a range start with no
    stored result before it).
    """

    meter: str
    after: dt.datetime | None
    through: dt.datetime | None
    incoming: ei.CumulativeState
    before: ei.CumulativeState
    inclusive: bool = False


@dataclass(frozen=True)
class Restated:
    """A restatement computed but not yet written.

    ``states`` holds each meter's state after its window (meters whose window
    has no integrated row keep their incoming state); ``integrated`` counts
    each meter's integrated source rows, ``merged`` of which (over all
    meters) have no result row of their own (:data:`~.partition.MERGED`);
    ``rows`` is the engine's handle on the restated rows (pandas locally, a
    Snowpark DataFrame on the warehouse).
    """

    states: dict[str, ei.CumulativeState]
    integrated: dict[str, int]
    rejected: int
    rows: Any = None
    merged: int = 0


@dataclass(frozen=True)
class Writes:
    """Everything one backfill or reconcile batch writes, rows in their tables' column order."""

    batch_id: int
    method: str
    windows: Sequence[Window]
    restated: Restated
    states: list[tuple[Any, ...]]
    resolved: list[tuple[Any, ...]] = field(default_factory=list)
    audit: list[tuple[Any, ...]] = field(default_factory=list)
    marker: tuple[Any, ...] = ()
    now: dt.datetime | None = None


class Warehouse(Protocol):
    """The engine-specific half of a backfill or reconciliation."""

    names: ObjectNames

    def stream_task_started(self) -> bool:
        """Whether the stream task is scheduled to run (a restatement must not run beside it)."""
        ...

    def pending_batches(self) -> list[int]:
        """Stream batches landed but not integrated (a restatement waits for them)."""
        ...

    def next_batch_id(self) -> int:
        """The id the next batch gets; debris of an unfinished run under it is cleared."""
        ...

    def source_meters(self, meters: Sequence[str] | None) -> list[str]:
        """Meters with rows in the source table (of ``meters``, if given), sorted."""
        ...

    def latest_states(self, method: str, meters: Sequence[str]) -> dict[str, ei.CumulativeState]:
        """Each meter's latest stored ``method`` state (meters without one are left out)."""
        ...

    def anchors(self, method: str, starts: dict[str, dt.datetime]) -> dict[str, ei.CumulativeState]:
        """Each meter's state at its last result row *before* ``starts[meter]``."""
        ...

    def open_quarantine(self) -> pd.DataFrame:
        """Quarantined ``late``/``correction`` rows not resolved yet."""
        ...

    def stored_matches(self, method: str, rows: pd.DataFrame) -> np.ndarray[Any, Any]:
        """Which ``rows`` (METER_ID, TIMESTAMP, KW) equal a stored result row."""
        ...

    def integrate(self, windows: Sequence[Window], policy: Policy, chunked: bool) -> Restated:
        """Run the partition functions over the windows' source rows."""
        ...

    def commit(self, writes: Writes) -> None:
        """Write a batch: results, quarantine, states, resolved, audit, marker."""
        ...


def anchor_state(method: str, rows: pd.DataFrame) -> ei.CumulativeState:
    """A state recovered from one meter's result rows (``TIMESTAMP, KW, CUMULATIVE_KWH``).

    The rows are the meter's results up to the anchor; the state is that of a
    run which ended at the last of them: first and last samples, the last
    ``CUMULATIVE_KWH`` as energy and the number of distinct timestamps as count.
    """
    if rows.empty:
        return ei.CumulativeState.empty(method)
    rows = rows.sort_values("TIMESTAMP", kind="stable")
    t = ei.timestamps.to_ns(rows["TIMESTAMP"].to_numpy(dtype="datetime64[ns]"))
    return ei.CumulativeState(
        method=method,
        first_ts=int(t[0]),
        first_power=float(rows["KW"].iloc[0]),
        last_ts=int(t[-1]),
        last_power=float(rows["KW"].iloc[-1]),
        energy=float(rows["CUMULATIVE_KWH"].iloc[-1]),
        count=int(np.unique(t).size),
    )


def _states_of(frame: pd.DataFrame, windows: Sequence[Window]) -> dict[str, ei.CumulativeState]:
    """Each meter's state after its window: the STATE of its last row that has one."""
    states = {w.meter: w.incoming for w in windows}
    done = frame[frame["STATE"].notna()].sort_values(["METER_ID", "TIMESTAMP"], kind="stable")
    for meter, text in zip(done["METER_ID"], done["STATE"], strict=True):
        states[str(meter)] = state_from_json(str(text))  # the last one per meter wins
    return states


class LocalWarehouse:
    """A :class:`Warehouse` on a Snowpark local-testing session (see the module docstring).

    Every write is a filter-delete followed by an append (local testing runs
    ``MERGE`` and joins as cross products); the marker row is the last write,
    so a run that died half way is redone under the same batch id.
    """

    def __init__(self, session: Any, names: ObjectNames = DEFAULT_NAMES) -> None:
        self.session = session
        self.names = names
        self.tables = tables(names)

    def _frame(self, table: str, *columns: str, where: Any = None) -> pd.DataFrame:
        df = self.session.table(table)
        if where is not None:
            df = df.filter(where)
        frame: pd.DataFrame = (df.select(*columns) if columns else df).to_pandas()
        return frame

    def stream_task_started(self) -> bool:
        """Never: the emulated task runs only when called (:func:`.local_store.run_task_tick`)."""
        return False

    def pending_batches(self) -> list[int]:
        marker = self._frame(self.names.marker, "BATCH_ID", "STATUS")
        return sorted(int(b) for b in marker.loc[marker["STATUS"] == STATUS_LANDED, "BATCH_ID"])

    def next_batch_id(self) -> int:
        """The marker's next id, after deleting every row a crashed run left under it.

        Its restated results go too: they would pass for stored results and turn
        the late rows they integrated into "already integrated". The hole they
        leave lies inside the windows the rerun restates (the same windows: the
        anchors before them and the states are untouched), so it is filled again.
        """
        from snowflake.snowpark.functions import col

        ids = self._frame(self.names.marker, "BATCH_ID")["BATCH_ID"].to_numpy(dtype=np.int64)
        batch_id = int(ids.max()) + 1 if ids.size else 1
        for table in (
            self.names.results,
            self.names.quarantine,
            self.names.state,
            self.names.resolved,
            self.names.audit,
        ):
            self.session.table(table).delete(col("BATCH_ID") == batch_id)  # debris of a crash
        return batch_id

    def source_meters(self, meters: Sequence[str] | None) -> list[str]:
        found = self._frame(self.names.source, "METER_ID")["METER_ID"].dropna().unique()
        chosen = {str(m) for m in found}
        return sorted(chosen if meters is None else chosen & set(meters))

    def latest_states(self, method: str, meters: Sequence[str]) -> dict[str, ei.CumulativeState]:
        from snowflake.snowpark.functions import col

        rows = self._frame(self.names.state, where=col("METHOD") == method)
        rows = rows[rows["METER_ID"].isin(list(meters))]
        latest = rows.sort_values("BATCH_ID", kind="stable").drop_duplicates(
            "METER_ID", keep="last"
        )
        return {
            str(m): state_from_json(s)
            for m, s in zip(latest["METER_ID"], latest["STATE"], strict=True)
        }

    def anchors(self, method: str, starts: dict[str, dt.datetime]) -> dict[str, ei.CumulativeState]:
        from snowflake.snowpark.functions import col

        results = self._frame(
            self.names.results, "METER_ID", "TIMESTAMP", "KW", "CUMULATIVE_KWH",
            where=(col("METHOD") == method) & _isin("METER_ID", list(starts)),
        )  # fmt: skip
        out = {}
        for meter, start in starts.items():
            mine = results[results["METER_ID"] == meter]
            out[meter] = anchor_state(method, mine[mine["TIMESTAMP"] < pd.Timestamp(start)])
        return out

    def open_quarantine(self) -> pd.DataFrame:

        rows = self._frame(
            self.names.quarantine, where=_isin("REASON", ["late", "correction"])
        ).drop(columns=["DETAIL", "QUARANTINED_AT"])
        done = self._frame(self.names.resolved, "QUARANTINE_BATCH_ID", "ROW_ID", "REASON")
        done = done.rename(columns={"QUARANTINE_BATCH_ID": "BATCH_ID"}).assign(_DONE=True)
        rows = rows.merge(done, on=["BATCH_ID", "ROW_ID", "REASON"], how="left")
        return rows[rows["_DONE"].isna()].drop(columns="_DONE").reset_index(drop=True)

    def stored_matches(self, method: str, rows: pd.DataFrame) -> np.ndarray[Any, Any]:
        from snowflake.snowpark.functions import col

        stored = self._frame(
            self.names.results, "METER_ID", "TIMESTAMP", "KW",
            where=(col("METHOD") == method) & _isin("METER_ID", list(set(rows["METER_ID"]))),
        ).assign(_HIT=True)  # fmt: skip
        keyed = rows[["METER_ID", "TIMESTAMP", "KW"]].merge(
            stored.drop_duplicates(["METER_ID", "TIMESTAMP", "KW"]),
            on=["METER_ID", "TIMESTAMP", "KW"],
            how="left",
        )
        return keyed["_HIT"].notna().to_numpy()

    def integrate(self, windows: Sequence[Window], policy: Policy, chunked: bool) -> Restated:

        meters = [w.meter for w in windows]
        source = self._frame(
            self.names.source, "ID", "METER_ID", "TIMESTAMP", "KW",
            where=_isin("METER_ID", meters),
        )  # fmt: skip
        rows = pd.concat([_in_window(source, w) for w in windows] or [source.iloc[:0]])
        out = integrate_windows(rows, policy, chunked=chunked)
        merged = out["REASON"] == MERGED
        integrated = out[(out["REASON"] == "") | merged].groupby("METER_ID").size()
        return Restated(
            states=_states_of(out, windows),
            integrated={w.meter: int(integrated.get(w.meter, 0)) for w in windows},
            rejected=int(_rejected(out).sum()),
            rows=out,
            merged=int(merged.sum()),
        )

    def commit(self, writes: Writes) -> None:
        from snowflake.snowpark.functions import col

        b, t = writes.batch_id, self.tables
        frame: pd.DataFrame = writes.restated.rows
        method_is = col("METHOD") == writes.method
        if writes.windows:
            in_windows = reduce(lambda a, c: a | c, (_window_filter(w) for w in writes.windows))
            self.session.table(t.results.name).delete(method_is & in_windows)
        accepted = frame[frame["REASON"] == ""]
        results = [
            (m, ts, float(kw), float(i), float(c), writes.method, b, writes.now)
            for m, ts, kw, i, c in zip(
                accepted["METER_ID"], py_times(accepted["TIMESTAMP"]), accepted["KW"],
                accepted["INTERVAL_KWH"], accepted["CUMULATIVE_KWH"], strict=True,
            )
        ]  # fmt: skip
        self._append(t.results, results)
        self._append(t.quarantine, _quarantine_rows(frame, b, writes.now))
        self._append(t.state, writes.states)
        self._append(t.resolved, writes.resolved)
        self._append(t.audit, writes.audit)
        self._append(t.marker, [writes.marker])  # the commit point
        meters = [row[0] for row in writes.states]
        if meters:  # superseded states, only once the batch is marked
            self.session.table(t.state.name).delete(
                method_is & (col("BATCH_ID") < b) & _isin("METER_ID", meters)
            )

    def _append(self, table: Table, rows: list[tuple[Any, ...]]) -> None:
        if rows:
            frame = self.session.create_dataframe(rows, schema=table.struct_type())
            frame.write.save_as_table(table.name, mode="append")


def _isin(column: str, values: Sequence[Any]) -> Any:
    from snowflake.snowpark.functions import col

    return col(column).isin(list(values))


def _in_window(source: pd.DataFrame, w: Window) -> pd.DataFrame:
    keep = (source["METER_ID"] == w.meter) & source["TIMESTAMP"].notna()
    if w.after is not None:
        after = pd.Timestamp(w.after)
        keep &= (source["TIMESTAMP"] >= after) if w.inclusive else (source["TIMESTAMP"] > after)
    if w.through is not None:
        keep &= source["TIMESTAMP"] <= pd.Timestamp(w.through)
    incoming = None if w.incoming.is_empty else state_to_json(w.incoming)
    return source[keep].assign(INCOMING=incoming)


def _window_filter(w: Window) -> Any:
    from snowflake.snowpark.functions import col, lit

    cond = col("METER_ID") == w.meter
    if w.after is not None:
        cond &= (
            (col("TIMESTAMP") >= lit(w.after)) if w.inclusive else (col("TIMESTAMP") > lit(w.after))
        )
    if w.through is not None:
        cond &= col("TIMESTAMP") <= lit(w.through)
    return cond


_DETAIL = "rejected when its meter was re-integrated from the source table"


def _rejected(frame: pd.DataFrame) -> pd.Series:
    """Rows the restatement rejected: neither with a result row nor merged into one."""
    return ~frame["REASON"].isin(["", MERGED])


def _quarantine_rows(frame: pd.DataFrame, batch_id: int, now: Any) -> list[tuple[Any, ...]]:
    """The restatement's rejected rows, as quarantine rows of its batch."""
    bad = frame[_rejected(frame)]
    return [
        (batch_id, str(i), int(i), m, ts, None if np.isnan(kw) else float(kw), r, _DETAIL, now)
        for i, m, ts, kw, r in zip(
            bad["ID"], bad["METER_ID"], py_times(bad["TIMESTAMP"]),
            bad["KW"].to_numpy(dtype=np.float64), bad["REASON"], strict=True,
        )
    ]  # fmt: skip
