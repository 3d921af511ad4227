"""Shared builders for the procedure tests: embedded pipelines, deliveries, faults, snapshots."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd

import energy_integral as ei
from energy_integral_snowflake import embedded
from energy_integral_snowflake.demo import tick_of_rows
from energy_integral_snowflake.schema import tables
from energy_integral_snowflake.store import SqlStore
from energy_integral_snowflake.warehouse import SqlWarehouse

# Columns that hold wall-clock times of the run itself, not data.
VOLATILE = {
    "COMPUTED_AT",
    "LANDED_AT",
    "CONSUMED_AT",
    "PROCESSED_AT",
    "UPDATED_AT",
    "QUARANTINED_AT",
    "RESOLVED_AT",
    "AUDITED_AT",
    "DURATION_S",
}
START = np.datetime64("2026-01-01T07:00", "ns")


class InjectedFault(RuntimeError):
    """The crash a test injects."""


class FaultySession(embedded.EmbeddedSession):
    """An embedded session that counts the statements it runs while armed and fails one.

    The ``fail_at``-th statement raises :class:`InjectedFault` before it runs,
    as if the procedure's process died there; :meth:`crash` then does what the
    end of that process does on Snowflake: the open transaction rolls back.
    """

    def __init__(self, session: embedded.EmbeddedSession) -> None:
        super().__init__(session.connection, session.database_name, session.path)
        self.fail_at: int | None = None
        self.count = 0
        self.is_armed = False

    def _run(self, text: str, params: Sequence[Any], *, frame: bool) -> Any:
        if self.is_armed:
            self.count += 1
            if self.count == self.fail_at:
                raise InjectedFault(f"injected failure at statement {self.count}: {text[:60]}")
        return super()._run(text, params, frame=frame)

    @contextmanager
    def armed(self) -> Iterator[None]:
        """Count (and fail) statements inside the block; a crash rolls back."""
        self.is_armed = True
        try:
            yield
        except InjectedFault:
            self.is_armed = False
            self.crash()
            raise
        finally:
            self.is_armed = False

    def crash(self) -> None:
        """The process died: whatever transaction it had open rolls back."""
        self._end(commit=False)


def new_session() -> FaultySession:
    """A fresh in-memory pipeline, set up by setup.sql."""
    session = embedded.connect()
    embedded.setup(session)
    return FaultySession(session)


def new_store() -> SqlStore:
    """A store on a fresh in-memory pipeline (its session is a :class:`FaultySession`)."""
    return SqlStore(new_session())


def warehouse(store: SqlStore) -> SqlWarehouse:
    """The backfill/reconcile warehouse on the store's session."""
    return SqlWarehouse(store.session, store.names)


def sql_rows(session: Any, text: str, params: list[Any] | None = None) -> list[Any]:
    """The rows one statement returns, as Snowpark's ``collect`` has them."""
    rows: list[Any] = session.sql(text, params=params).collect()
    return rows


def table(session: Any, name: str) -> pd.DataFrame:
    """Every row of table ``name``."""
    frame: pd.DataFrame = session.table(name).to_pandas()
    return frame


def deliveries(meters: int = 3, ticks: int = 3, seed: int = 1, **defects: float) -> list[Any]:
    """Readings split into per-minute deliveries, late rows one minute late."""
    kinds = {"late_fraction": 0.06, "duplicate_fraction": 0.05, "invalid_fraction": 0.05}
    kinds.update(defects)
    readings = ei.generate_readings(
        meters, start=START, periods=6 * ticks, cadence="10s", seed=seed, **kinds
    )
    tick = tick_of_rows(readings, START, ticks)
    return [
        ei.synthetic.Readings(
            readings.meter[tick == k], readings.timestamp[tick == k], readings.power[tick == k]
        )
        for k in range(ticks)
    ]


def snapshot(store: SqlStore) -> dict[str, pd.DataFrame]:
    """Every table without its wall-clock columns, sorted by key; states reduced to the latest.

    Batch ids are renumbered 1, 2, ... in their order: a rolled-back call spends a
    value of the batch-id sequence (as on Snowflake), so ids may skip.
    """
    marker = table(store.session, store.names.marker)
    rank = {b: i for i, b in enumerate(sorted(set(marker["BATCH_ID"])), 1)}
    out = {}
    for t in tables(store.names):
        frame = table(store.session, t.name)
        frame = frame.drop(columns=[c for c in frame.columns if c in VOLATILE])
        for column in ("BATCH_ID", "QUARANTINE_BATCH_ID"):
            if column in frame and t.name != store.names.source:
                frame[column] = frame[column].map(rank).astype("int64")
        if t.name == store.names.state:
            latest = frame.sort_values("BATCH_ID", kind="stable")
            frame = latest.drop_duplicates(["METER_ID", "METHOD"], keep="last")
        keys = list(t.key) if t.key else list(frame.columns)
        out[t.name] = frame.sort_values(keys, kind="stable").reset_index(drop=True)
    return out


def assert_same_tables(got: dict[str, pd.DataFrame], want: dict[str, pd.DataFrame]) -> None:
    for name, frame in want.items():
        pd.testing.assert_frame_equal(got[name], frame, check_exact=True, obj=name)
