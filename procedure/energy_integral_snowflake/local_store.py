"""The procedure's tables on Snowpark local testing: no account, no SQL, no transactions.

Local testing runs no ``session.sql`` at all, so the stream and the task are
emulated:

* the stream is an offset over the source table: the largest ``ID`` already
  consumed, kept in the marker's ``LAST_SOURCE_ID``. Its rows are the source rows
  above it (inserts only, like an ``APPEND_ONLY`` stream; IDs must grow in
  insertion order, as the generator's do);
* the task is :meth:`LocalStore.stream_has_data` guarding a call, like
  ``WHEN SYSTEM$STREAM_HAS_DATA`` (see :func:`.procedure.run_task_tick`).

Landing is by reference. On Snowflake a consumed stream's rows can no longer be
read from the stream, so phase 1 copies them (server-side) into the landing
table. Here a batch's rows stay addressable in the append-only source table as
the ID range between the previous batch's offset and its own, so phase 1 writes
only the marker row (one write: atomic without a transaction) and phase 2 reads
the range from the source. Copying them through the emulator would double the
run's time for nothing; the landing table is still created, for parity, and
stays empty. Loading checks the range still holds the count the marker recorded,
so source rows deleted before their batch is integrated are an error, not a
silent loss.

Without transactions a write made before a crash stays, so every phase-2 write
is idempotent by batch: delete the batch's rows by a filter on ``BATCH_ID``, then
append. (``MERGE`` and joins are evaluated as cross products here and are far
too slow; filters on one table are cheap.) The marker's ``INTEGRATED`` status is
phase 2's commit point: a batch without it is redone from the same source rows
and the same earlier states.

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
        columns = ("BATCH_ID", "LAST_SOURCE_ID", "ROWS_READ", "CONSUMED_AT", "STATUS")
        frame: pd.DataFrame = marker.select(*columns).to_pandas()
        return frame

    @staticmethod
    def _offset(marker: pd.DataFrame) -> int:
        """The emulated stream's offset: the largest source ID any batch consumed."""
        ids = marker["LAST_SOURCE_ID"].to_numpy(dtype=np.float64, na_value=np.nan)
        ids = ids[~np.isnan(ids)]
        return int(ids.max()) if ids.size else 0

    def _stream(self, after: int, up_to: int | None = None) -> Any:
        """The source rows with ``after < ID <= up_to``."""
        from snowflake.snowpark.functions import col

        above = col("ID") > after
        return self.session.table(self.names.source).filter(
            above if up_to is None else above & (col("ID") <= up_to)
        )

    def stream_has_data(self) -> bool:
        """Whether the emulated stream holds rows (``SYSTEM$STREAM_HAS_DATA``)."""
        return bool(self._stream(self._offset(self._marker())).count() > 0)

    # -- Store ---------------------------------------------------------------------------
    def consume(self) -> int | None:
        """Record the source rows above the offset as a new batch; None if there are none."""
        from snowflake.snowpark import functions as fn

        marker = self._marker()
        ids = marker["BATCH_ID"].to_numpy(dtype=np.int64)
        batch_id = int(ids.max()) + 1 if ids.size else 1
        stream = self._stream(self._offset(marker))
        # MIN/MAX of timestamps and integers are exact here (only doubles are rounded).
        (seen,) = stream.agg(
            fn.count("ID"), fn.max("ID"), fn.min("TIMESTAMP"), fn.max("TIMESTAMP")
        ).collect()
        rows, last_id, low, high = seen
        if not rows:
            return None
        low, high = py_times(np.array([low, high], dtype="datetime64[ns]"))
        marker_row = (batch_id, utc_now(), None, int(rows), None, None, None, low, high,
                      int(last_id), None, None, None, STATUS_LANDED)  # fmt: skip
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
        """The batch's rows (in the landing table's shape) and its meters' states before it."""
        from snowflake.snowpark.functions import col

        frame = self._landed(batch_id)
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

    def _landed(self, batch_id: int) -> pd.DataFrame:
        """A batch's source rows, as the landing table would hold them; raises if they changed."""
        marker = self._marker()
        this = marker[marker["BATCH_ID"] == batch_id]
        if len(this) != 1:
            raise ValueError(f"batch {batch_id} has {len(this)} rows in {self.names.marker}")
        last_id, rows_read = int(this["LAST_SOURCE_ID"].iloc[0]), int(this["ROWS_READ"].iloc[0])
        after = self._offset(marker[marker["BATCH_ID"] < batch_id])
        frame: pd.DataFrame = self._stream(after, last_id).to_pandas()
        if len(frame) != rows_read:
            raise ValueError(
                f"batch {batch_id} consumed {rows_read} rows of {self.names.source} with "
                f"ID in ({after}, {last_id}], which now holds {len(frame)}: "
                "source rows changed before they were integrated"
            )
        frame["BATCH_ID"] = batch_id
        frame["ROW_ID"] = frame["ID"].astype(str)
        frame["ACTION"] = "INSERT"
        frame["IS_UPDATE"] = False
        frame["LANDED_AT"] = this["CONSUMED_AT"].iloc[0]
        return frame.loc[:, list(self.tables.landing.column_names)]

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
        # No casts: a literal already has its column's type (str, int, naive datetime),
        # and local testing casts a column cell by cell, which would cost as much as the
        # write itself.
        frame = frame.select(
            *[col(c) if c in varying else lit(values[c]).alias(c) for c in table.column_names]
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
