"""Shared builders for the procedure tests: local stores, deliveries, fault injection, snapshots."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd
import pytest
from snowflake.snowpark import DataFrameWriter, Session, Table

import energy_integral as ei
from energy_integral_snowflake.demo import tick_of_rows
from energy_integral_snowflake.local_store import LocalStore
from energy_integral_snowflake.schema import tables

# Columns that hold wall-clock times of the run itself, not data.
VOLATILE = {
    "COMPUTED_AT",
    "LANDED_AT",
    "CONSUMED_AT",
    "PROCESSED_AT",
    "UPDATED_AT",
    "QUARANTINED_AT",
    "DURATION_S",
}
START = np.datetime64("2026-01-01T07:00", "ns")


def new_store() -> LocalStore:
    """A fresh local-testing session with every table created."""
    store = LocalStore(Session.builder.config("local_testing", True).create())
    store.create_objects()
    return store


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


class InjectedFault(RuntimeError):
    """The crash a test injects."""


class WriteFaults:
    """Counts the procedure's writes (while armed) and raises at the ``fail_at``-th one."""

    def __init__(self, fail_at: int | None = None) -> None:
        self.fail_at = fail_at
        self.count = 0
        self.is_armed = False

    def hit(self) -> None:
        if not self.is_armed:
            return
        self.count += 1
        if self.count == self.fail_at:
            raise InjectedFault(f"injected failure at write {self.count}")

    @contextmanager
    def armed(self) -> Iterator[None]:
        self.is_armed = True
        try:
            yield
        finally:
            self.is_armed = False


@pytest.fixture(name="faults")
def faults_fixture(monkeypatch: pytest.MonkeyPatch) -> WriteFaults:
    """Every Snowpark write path counted: save_as_table, Table.delete/update/merge."""
    counter = WriteFaults()
    for owner, name in (
        (DataFrameWriter, "save_as_table"),
        (Table, "delete"),
        (Table, "update"),
        (Table, "merge"),
    ):
        original = getattr(owner, name)

        def wrapped(self: Any, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
            counter.hit()  # before the write: the write never happens
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(owner, name, wrapped)
    return counter


def snapshot(store: LocalStore) -> dict[str, pd.DataFrame]:
    """Every table without its wall-clock columns, sorted by key; states reduced to the latest."""
    out = {}
    for table in tables(store.names):
        frame = store.session.table(table.name).to_pandas()
        frame = frame.drop(columns=[c for c in frame.columns if c in VOLATILE])
        if table.name == store.names.state:
            latest = frame.sort_values("BATCH_ID", kind="stable")
            frame = latest.drop_duplicates(["METER_ID", "METHOD"], keep="last")
        keys = list(table.key) if table.key else list(frame.columns)
        out[table.name] = frame.sort_values(keys, kind="stable").reset_index(drop=True)
    return out


def assert_same_tables(got: dict[str, pd.DataFrame], want: dict[str, pd.DataFrame]) -> None:
    for name, frame in want.items():
        pd.testing.assert_frame_equal(got[name], frame, check_exact=True, obj=name)
