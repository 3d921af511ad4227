"""The procedure's tables on Snowpark local testing: no account, no SQL, no transactions.

Local testing runs no ``session.sql`` at all, so the stream and the task are
emulated:

* the stream is an offset over the source table: the largest ``ID`` already
  landed, kept in the marker's ``LAST_SOURCE_ID``. Its rows are the source rows
  above it (inserts only, like an ``APPEND_ONLY`` stream; IDs must grow in
  insertion order, as the generator's do);
* the task is :meth:`LocalStore.stream_has_data` guarding a call, like
  ``WHEN SYSTEM$STREAM_HAS_DATA`` (see :func:`.procedure.run_task_tick`).

Without transactions a write made before a crash stays, so every write is
idempotent by batch: delete the batch's rows by a filter on ``BATCH_ID``, then
append. (``MERGE`` and joins are evaluated as cross products here and are far
too slow; filters on one table are cheap.) The marker row is each phase's last
write, so it is the commit point: phase 1 without its marker row is redone
under the same batch id, phase 2 without ``INTEGRATED`` is redone from the
same landed rows and the same earlier states.

All reading goes through ``to_pandas()`` and all arithmetic happens in numpy:
local testing rounds MAX/MIN of doubles and misaligns arithmetic after a filter.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

import energy_integral as ei

from ._values import py_times, utc_now
from .batch import BatchOutcome, Policy, state_from_json
from .procedure import RunSummary, run_procedure
from .schema import DEFAULT_NAMES, STATUS_INTEGRATED, STATUS_LANDED, ObjectNames, Table, tables

__all__ = ["LocalStore", "is_local_session", "run_task_tick"]


def is_local_session(session: Any) -> bool:
    """True for a Snowpark session in local testing mode."""
    from snowflake.snowpark.mock._connection import MockServerConnection

    return isinstance(getattr(session, "_conn", None), MockServerConnection)


class LocalStore:
    """A :class:`~.store.Store` over a Snowpark local-testing session.

    Parameters
    ----------
    session : snowflake.snowpark.Session
        A session created with ``Session.builder.config("local_testing", True)``.
    names : ObjectNames, optional
        Table names (the seed's by default).
    """

    def __init__(self, session: Any, names: ObjectNames = DEFAULT_NAMES) -> None:
        self.session = session
        self.names = names
        self.tables = tables(names)

    # -- setup ---------------------------------------------------------------------------
    def create_objects(self) -> None:
        """Create every table that does not exist yet (the local stand-in for the setup SQL)."""
        for table in self.tables:
            empty = self.session.create_dataframe([], schema=table.struct_type())
            empty.write.save_as_table(table.name, mode="ignore")

    # -- the emulated stream -------------------------------------------------------------
    def _marker(self) -> pd.DataFrame:
        marker = self.session.table(self.names.marker)
        frame: pd.DataFrame = marker.select("BATCH_ID", "LAST_SOURCE_ID", "STATUS").to_pandas()
        return frame

    def _offset(self, marker: pd.DataFrame) -> int:
        ids = marker["LAST_SOURCE_ID"].to_numpy(dtype=np.float64, na_value=np.nan)
        ids = ids[~np.isnan(ids)]
        return int(ids.max()) if ids.size else 0

    def _stream(self, offset: int) -> Any:
        from snowflake.snowpark.functions import col

        return self.session.table(self.names.source).filter(col("ID") > offset)

    def stream_has_data(self) -> bool:
        """Whether the emulated stream holds rows (``SYSTEM$STREAM_HAS_DATA``)."""
        return bool(self._stream(self._offset(self._marker())).count() > 0)

    # -- Store ---------------------------------------------------------------------------
    def consume(self) -> int | None:
        """Land the source rows above the offset as a new batch; None if there are none."""
        from snowflake.snowpark.functions import col

        marker = self._marker()
        ids = marker["BATCH_ID"].to_numpy(dtype=np.int64)
        batch_id = int(ids.max()) + 1 if ids.size else 1
        offset = self._offset(marker)
        seen = self._stream(offset).select("ID", "TIMESTAMP").to_pandas()
        if seen.empty:
            return None
        last_id = int(seen["ID"].to_numpy(dtype=np.int64).max())
        times = seen["TIMESTAMP"].to_numpy(dtype="datetime64[ns]")
        valid = times[~np.isnat(times)]
        low, high = py_times(np.array([valid.min(), valid.max()])) if valid.size else (None, None)
        now = utc_now()
        # Debris of a consume that died before its marker row: same batch id, redone.
        self.session.table(self.names.landing).delete(col("BATCH_ID") == batch_id)
        self._land(batch_id, offset, last_id, now)
        marker_row = (batch_id, now, None, len(seen), None, None, None, low, high,
                      last_id, None, None, None, STATUS_LANDED)  # fmt: skip
        self._append(self.tables.marker, [marker_row])
        return batch_id

    def pending_batches(self) -> list[int]:
        """Batches whose marker says ``LANDED``, oldest first."""
        marker = self._marker()
        pending = marker.loc[marker["STATUS"] == STATUS_LANDED, "BATCH_ID"]
        return sorted(int(b) for b in pending)

    def load_batch(
        self, batch_id: int, method: str
    ) -> tuple[pd.DataFrame, dict[str, ei.CumulativeState]]:
        """The batch's landed rows and each of its meters' latest state of an earlier batch."""
        from snowflake.snowpark.functions import col

        landed = self.session.table(self.names.landing).filter(col("BATCH_ID") == batch_id)
        frame = landed.to_pandas()
        state = self.session.table(self.names.state)
        rows = state.filter((col("METHOD") == method) & (col("BATCH_ID") < batch_id)).to_pandas()
        meters = set(frame["METER_ID"].dropna())
        rows = rows[rows["METER_ID"].isin(meters)]
        latest = rows.sort_values("BATCH_ID", kind="stable").drop_duplicates(
            "METER_ID", keep="last"
        )
        states = {
            str(m): state_from_json(s)
            for m, s in zip(latest["METER_ID"], latest["STATE"], strict=True)
        }
        return frame, states

    def commit_batch(self, outcome: BatchOutcome, duration_s: float) -> None:
        """Replace the batch's rows table by table, mark it integrated, prune old states."""
        from snowflake.snowpark.functions import col, lit

        b, m = outcome.batch_id, outcome.method
        this_batch = col("BATCH_ID") == b
        self.session.table(self.names.results).delete(this_batch & (col("METHOD") == m))
        self._append_results(outcome)
        self.session.table(self.names.quarantine).delete(this_batch)
        self._append(self.tables.quarantine, outcome.quarantine)
        self.session.table(self.names.state).delete(this_batch & (col("METHOD") == m))
        self._append(self.tables.state, outcome.states)
        self.session.table(self.names.marker).update(
            {
                "STATUS": lit(STATUS_INTEGRATED),
                "PROCESSED_AT": lit(utc_now()),
                "ROWS_INTEGRATED": lit(outcome.rows_integrated),
                "ROWS_REJECTED": lit(outcome.rows_rejected),
                "METERS": lit(outcome.meters),
                "KWH_ADDED": lit(outcome.kwh_added),
                "DURATION_S": lit(float(duration_s)),
                "METHOD": lit(m),
            },
            this_batch,
        )
        if outcome.state_meters:  # only after the mark: until then batch b needs these rows
            self.session.table(self.names.state).delete(
                (col("METHOD") == m)
                & (col("BATCH_ID") < b)
                & col("METER_ID").isin(outcome.state_meters)
            )

    # -- helpers -------------------------------------------------------------------------
    def _land(self, batch_id: int, offset: int, last_id: int, now: Any) -> None:
        """Copy the stream's rows to the landing table without a trip through Python.

        The projection comes *before* the filter: local testing misaligns rows
        when columns are computed after a filter. Rows move table to table, ~10x
        faster than building them in Python.
        """
        from snowflake.snowpark.functions import col, lit

        landing = self.tables.landing
        constants = {
            "BATCH_ID": lit(batch_id),
            "ROW_ID": col("ID").cast(landing.column("ROW_ID").snowpark_type()),
            "ACTION": lit("INSERT"),
            "IS_UPDATE": lit(False),
            "LANDED_AT": lit(now),
        }
        columns = [
            constants.get(c, col(c)).cast(landing.column(c).snowpark_type()).alias(c)
            for c in landing.column_names
        ]
        rows = self.session.table(self.names.source).select(*columns)
        rows = rows.filter((col("ID") > offset) & (col("ID") <= last_id))
        rows.write.save_as_table(landing.name, mode="append")

    def _append_results(self, outcome: BatchOutcome) -> None:
        """Results with METHOD, BATCH_ID, COMPUTED_AT as literals: fewer cells built in Python."""
        from snowflake.snowpark.functions import col, lit
        from snowflake.snowpark.types import StructType

        if not outcome.results:
            return
        table = self.tables.results
        constant = {"METHOD", "BATCH_ID", "COMPUTED_AT"}
        varying = [c for c in table.column_names if c not in constant]
        assert table.column_names[: len(varying)] == tuple(varying)  # row tuples start with them
        first = outcome.results[0]
        values = dict(zip(table.column_names, first, strict=True))
        schema = StructType([f for f in table.struct_type().fields if f.name in varying])
        frame = self.session.create_dataframe([r[: len(varying)] for r in outcome.results], schema)
        frame = frame.select(
            *[
                col(c)
                if c in varying
                else lit(values[c]).cast(table.column(c).snowpark_type()).alias(c)
                for c in table.column_names
            ]
        )
        frame.write.save_as_table(table.name, mode="append")

    def _append(self, table: Table, rows: list[tuple[Any, ...]]) -> None:
        if rows:  # tuples + StructType: ~10x faster than from pandas in local testing
            frame = self.session.create_dataframe(rows, schema=table.struct_type())
            frame.write.save_as_table(table.name, mode="append")


def run_task_tick(store: LocalStore, policy: Policy | None = None) -> RunSummary | None:
    """One scheduled run of the emulated task: the procedure, only if the stream has data.

    Mirrors ``WHEN SYSTEM$STREAM_HAS_DATA(...)``: without new rows nothing runs
    (None), so a batch left ``LANDED`` by a failed run waits for the next data.
    """
    if not store.stream_has_data():
        return None
    return run_procedure(store, policy)
