"""Exactly once, locally: a crash at every write, re-deliveries, empty and all-bad batches."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
from local_scenarios import (
    InjectedFault,
    WriteFaults,
    assert_same_tables,
    deliveries,
    faults_fixture,  # noqa: F401  (the "faults" fixture)
    new_store,
    snapshot,
)

import energy_integral as ei
from energy_integral_snowflake._values import utc_now
from energy_integral_snowflake.batch import Policy, integrate_batch
from energy_integral_snowflake.demo import check_against_oneshot
from energy_integral_snowflake.generator import insert_readings
from energy_integral_snowflake.local_store import LocalStore, run_task_tick
from energy_integral_snowflake.procedure import run_procedure
from energy_integral_snowflake.schema import STATUS_INTEGRATED

POLICY = Policy("trapezoid")


def _play(store: LocalStore, faults: WriteFaults, *, retry_now: bool, ticks: int = 3) -> None:
    """Deliver each minute and run the task; after a crash retry at once, or at the next tick."""
    for part in deliveries(ticks=ticks):
        insert_readings(store.session, part)
        try:
            with faults.armed():
                run_task_tick(store, POLICY)
        except InjectedFault:
            if retry_now:
                with faults.armed():
                    run_procedure(store, POLICY)
    with faults.armed():
        run_procedure(store, POLICY)  # the run that eventually follows the last crash


def _assert_each_reading_once(store: LocalStore) -> None:
    """Every source row is integrated or quarantined, exactly once; totals match one-shot.

    With POLICY's on_duplicate="reject" no rows are merged, so each integrated row has a
    result row of its own and the counts add up table by table.
    """
    source = store.session.table("RANDOM_VALUES").to_pandas()
    results = store.session.table("INTEGRAL_SUM_VALUES").to_pandas()
    quarantine = store.session.table("QUARANTINED_READINGS").to_pandas()
    assert not results.duplicated(["METER_ID", "TIMESTAMP", "METHOD"]).any()
    assert not quarantine["ID"].duplicated().any()
    assert len(results) + len(quarantine) == len(source)
    checks = check_against_oneshot(store.session, POLICY.method)
    assert checks
    assert all(c.ok for c in checks), checks


def test_baseline_writes_every_table(faults: WriteFaults) -> None:
    store = new_store()
    _play(store, faults, retry_now=True)
    # 1 write per consume (the marker row) + 8 per integrated batch (empty appends are skipped)
    assert faults.count >= 3 * 1 + 3 * 6
    _assert_each_reading_once(store)
    marker = store.session.table("STREAM_CONSUMED_MARKER").to_pandas()
    assert marker["STATUS"].tolist() == [STATUS_INTEGRATED] * 3
    quarantine = store.session.table("QUARANTINED_READINGS").to_pandas()
    assert {"late", "duplicate", "invalid-power"} <= set(quarantine["REASON"])


def test_a_crash_at_every_write_then_a_retry_gives_the_same_tables(faults: WriteFaults) -> None:
    baseline = new_store()
    _play(baseline, faults, retry_now=True, ticks=2)  # two batches: the state is carried once
    want, writes = snapshot(baseline), faults.count
    for k in range(1, writes + 1):
        faults.fail_at, faults.count = k, 0
        store = new_store()
        _play(store, faults, retry_now=True, ticks=2)
        assert faults.count >= k, f"write {k} was never reached"
        try:
            assert_same_tables(snapshot(store), want)
        except AssertionError as exc:
            raise AssertionError(f"after a crash at write {k} of {writes}: {exc}") from None


def test_a_crash_retried_only_by_the_next_tick_loses_and_doubles_nothing(
    faults: WriteFaults,
) -> None:
    faults.fail_at = None
    baseline = new_store()
    _play(baseline, faults, retry_now=False)
    writes = faults.count
    for k in range(1, writes + 1, 3):  # every third write: batches then pile up or merge
        faults.fail_at, faults.count = k, 0
        store = new_store()
        _play(store, faults, retry_now=False)
        _assert_each_reading_once(store)
        marker = store.session.table("STREAM_CONSUMED_MARKER").to_pandas()
        assert set(marker["STATUS"]) == {STATUS_INTEGRATED}, f"crash at write {k}"


def test_a_batch_committed_twice_changes_nothing() -> None:
    store = new_store()
    parts = deliveries()
    for part in parts[:-1]:
        insert_readings(store.session, part)
        run_procedure(store, POLICY)
    insert_readings(store.session, parts[-1])
    batch_id = store.consume()
    assert batch_id == len(parts)
    landed, states = store.load_batch(batch_id, POLICY.method)
    assert states  # the meters carry their state from the earlier batches
    outcome = integrate_batch(landed, states, batch_id, POLICY, utc_now())
    store.commit_batch(outcome, 0.0)
    once = snapshot(store)
    store.commit_batch(outcome, 0.0)
    assert_same_tables(snapshot(store), once)
    assert run_procedure(store, POLICY).integrated == []  # nothing is pending any more
    assert_same_tables(snapshot(store), once)


def test_the_same_readings_delivered_twice_add_no_energy() -> None:
    store = new_store()
    parts = deliveries(late_fraction=0.0)
    for part in parts:
        insert_readings(store.session, part)
        run_procedure(store, POLICY)
    before = store.session.table("INTEGRAL_SUM_VALUES").to_pandas()
    insert_readings(store.session, parts[-1])  # the last minute again, under new IDs
    summary = run_procedure(store, POLICY)
    (batch,) = summary.integrated
    assert batch["rows_integrated"] == 0
    assert batch["kwh_added"] == 0.0
    after = store.session.table("INTEGRAL_SUM_VALUES").to_pandas()
    pd.testing.assert_frame_equal(after, before)
    reasons = store.session.table("QUARANTINED_READINGS").to_pandas()
    again = reasons[reasons["BATCH_ID"] == batch["batch_id"]]
    assert len(again) == len(parts[-1])
    assert set(again["REASON"]) <= {"already-integrated", "late", "duplicate", "invalid-power"}
    assert "already-integrated" in set(again["REASON"])


def test_an_empty_stream_writes_nothing(faults: WriteFaults) -> None:
    store = new_store()
    assert run_task_tick(store, POLICY) is None
    with faults.armed():
        summary = run_procedure(store, POLICY)
    assert faults.count == 0
    assert json.loads(summary.to_json()) == {
        "status": "ok",
        "consumed_batch": None,
        "integrated": [],
        "pending": [],
        "message": "",
        "kwh_added": 0.0,
    }
    assert all(len(frame) == 0 for frame in snapshot(store).values())


def test_a_batch_of_only_rejected_rows_keeps_every_state() -> None:
    store = new_store()
    t0 = np.datetime64("2026-01-01T00:00", "ns")
    minute = np.timedelta64(1, "m")
    good = ei.synthetic.Readings(
        np.array(["a", "a"], dtype=object), np.array([t0, t0 + minute]), np.array([6.0, 6.0])
    )
    bad = ei.synthetic.Readings(
        np.array(["a", "a", "b"], dtype=object),
        np.array([t0, t0 + 2 * minute, t0]),  # late; NaN power; inf power
        np.array([1.0, np.nan, np.inf]),
    )
    insert_readings(store.session, good)
    run_procedure(store, POLICY)
    insert_readings(store.session, bad)
    summary = run_procedure(store, POLICY)
    (batch,) = summary.integrated
    assert (batch["rows_read"], batch["rows_integrated"], batch["rows_rejected"]) == (3, 0, 3)
    quarantine = store.session.table("QUARANTINED_READINGS").to_pandas().sort_values("ID")
    assert quarantine["REASON"].tolist() == ["late", "invalid-power", "invalid-power"]
    # 6 kW for one minute = 0.1 kWh; one more good minute continues from the kept state.
    nxt = ei.synthetic.Readings(
        np.array(["a"], dtype=object), np.array([t0 + 3 * minute]), np.array([6.0])
    )
    insert_readings(store.session, nxt)
    run_procedure(store, POLICY)
    results = store.session.table("INTEGRAL_SUM_VALUES").to_pandas().sort_values("TIMESTAMP")
    assert math.isclose(results["CUMULATIVE_KWH"].iloc[-1], 0.1 + 0.2, rel_tol=1e-12)


def test_source_rows_deleted_before_their_batch_is_integrated_stop_the_run() -> None:
    """Locally a batch is landed by reference, so a lost source row must not pass unnoticed."""
    from snowflake.snowpark.functions import col

    store = new_store()
    part = deliveries()[0]
    insert_readings(store.session, part)
    batch_id = store.consume()
    source = store.session.table("RANDOM_VALUES")
    source.delete(col("ID") == int(source.to_pandas()["ID"].max()))
    summary = run_procedure(store, POLICY)
    assert summary.status == "error"
    assert summary.pending == [batch_id]
    assert f"batch {batch_id} consumed {len(part)} rows of RANDOM_VALUES" in summary.message
    assert f"now holds {len(part) - 1}" in summary.message
    assert store.pending_batches() == [batch_id]
    assert len(store.session.table("INTEGRAL_SUM_VALUES").to_pandas()) == 0
