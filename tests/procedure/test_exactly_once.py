"""Exactly once on real transactions: a crash at every statement, re-deliveries, bad batches."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
from local_scenarios import (
    FaultySession,
    InjectedFault,
    assert_same_tables,
    deliveries,
    new_store,
    snapshot,
    table,
)

import energy_integral as ei
from energy_integral_snowflake import embedded
from energy_integral_snowflake._values import utc_now
from energy_integral_snowflake.batch import Policy, integrate_batch
from energy_integral_snowflake.demo import check_against_oneshot
from energy_integral_snowflake.generator import insert_readings
from energy_integral_snowflake.procedure import run_procedure
from energy_integral_snowflake.schema import STATUS_INTEGRATED
from energy_integral_snowflake.store import SqlStore

POLICY = Policy("trapezoid")


def _faulty(store: SqlStore) -> FaultySession:
    assert isinstance(store.session, FaultySession)
    return store.session


def _play(store: SqlStore, *, retry_now: bool, ticks: int = 3) -> None:
    """Deliver each minute and run the task; after a crash retry at once, or at the next tick."""
    faults = _faulty(store)
    for part in deliveries(ticks=ticks):
        insert_readings(store.session, part)
        try:
            with faults.armed():
                embedded.tick(store.session)
        except InjectedFault:
            if retry_now:
                with faults.armed():
                    run_procedure(store, POLICY)
    for _ in range(2):  # the run that eventually follows the last crash (it may crash too)
        try:
            with faults.armed():
                run_procedure(store, POLICY)
            break
        except InjectedFault:
            pass


def _assert_each_reading_once(store: SqlStore) -> None:
    """Every source row is integrated or quarantined, exactly once; totals match one-shot.

    With POLICY's on_duplicate="reject" no rows are merged, so each integrated row has a
    result row of its own and the counts add up table by table.
    """
    source = table(store.session, "RANDOM_VALUES")
    results = table(store.session, "INTEGRAL_SUM_VALUES")
    quarantine = table(store.session, "QUARANTINED_READINGS")
    assert not results.duplicated(["METER_ID", "TIMESTAMP", "METHOD"]).any()
    assert not quarantine["ID"].duplicated().any()
    assert len(results) + len(quarantine) == len(source)
    checks = check_against_oneshot(store.session, POLICY.method)
    assert checks
    assert all(c.ok for c in checks), checks


def test_baseline_writes_every_table() -> None:
    store = new_store()
    _play(store, retry_now=True)
    # per tick: the condition, CALL, a 6-statement consume and an 11-statement commit at least
    assert _faulty(store).count >= 3 * (2 + 6 + 11)
    _assert_each_reading_once(store)
    marker = table(store.session, "STREAM_CONSUMED_MARKER")
    assert marker["STATUS"].tolist() == [STATUS_INTEGRATED] * 3
    quarantine = table(store.session, "QUARANTINED_READINGS")
    assert {"late", "duplicate", "invalid-power"} <= set(quarantine["REASON"])


def test_a_crash_at_every_statement_then_a_retry_gives_the_same_tables() -> None:
    baseline = new_store()
    _play(baseline, retry_now=True, ticks=2)  # two batches: the state is carried once
    want, issued = snapshot(baseline), _faulty(baseline).count
    for k in range(1, issued + 1):
        store = new_store()
        _faulty(store).fail_at = k
        _play(store, retry_now=True, ticks=2)
        assert _faulty(store).count >= k, f"statement {k} was never reached"
        try:
            assert_same_tables(snapshot(store), want)
        except AssertionError as exc:
            raise AssertionError(f"after a crash at statement {k} of {issued}: {exc}") from None


def test_a_crash_retried_only_by_the_next_tick_loses_and_doubles_nothing() -> None:
    baseline = new_store()
    _play(baseline, retry_now=False)
    issued = _faulty(baseline).count
    for k in range(1, issued + 1, 3):  # every third statement: batches then pile up or merge
        store = new_store()
        _faulty(store).fail_at = k
        _play(store, retry_now=False)
        _assert_each_reading_once(store)
        marker = table(store.session, "STREAM_CONSUMED_MARKER")
        assert set(marker["STATUS"]) == {STATUS_INTEGRATED}, f"crash at statement {k}"


def test_a_batch_committed_twice_changes_nothing() -> None:
    store = new_store()
    parts = deliveries()
    for part in parts[:-1]:
        insert_readings(store.session, part)
        run_procedure(store, POLICY)
    insert_readings(store.session, parts[-1])
    batch_id = store.consume()
    assert batch_id == len(parts)
    landed, states, _ = store.load_batch(batch_id, POLICY.method)
    assert states  # the meters carry their state from the earlier batches
    row_ids = lambda rows: store.landed_row_ids(batch_id, rows)  # noqa: E731
    outcome = integrate_batch(landed, states, batch_id, POLICY, utc_now(), row_ids)
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
    before = table(store.session, "INTEGRAL_SUM_VALUES")
    insert_readings(store.session, parts[-1])  # the last minute again, under new IDs
    summary = run_procedure(store, POLICY)
    (batch,) = summary.integrated
    assert batch["rows_integrated"] == 0
    assert batch["kwh_added"] == 0.0
    after = table(store.session, "INTEGRAL_SUM_VALUES")
    pd.testing.assert_frame_equal(after, before)
    reasons = table(store.session, "QUARANTINED_READINGS")
    again = reasons[reasons["BATCH_ID"] == batch["batch_id"]]
    assert len(again) == len(parts[-1])
    assert set(again["REASON"]) <= {"already-integrated", "late", "duplicate", "invalid-power"}
    assert "already-integrated" in set(again["REASON"])


def test_an_empty_stream_writes_nothing() -> None:
    store = new_store()
    assert embedded.tick(store.session) is None
    summary = run_procedure(store, POLICY)
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
    quarantine = table(store.session, "QUARANTINED_READINGS").sort_values("ID")
    assert quarantine["REASON"].tolist() == ["late", "invalid-power", "invalid-power"]
    # 6 kW for one minute = 0.1 kWh; one more good minute continues from the kept state.
    nxt = ei.synthetic.Readings(
        np.array(["a"], dtype=object), np.array([t0 + 3 * minute]), np.array([6.0])
    )
    insert_readings(store.session, nxt)
    run_procedure(store, POLICY)
    results = table(store.session, "INTEGRAL_SUM_VALUES").sort_values("TIMESTAMP")
    assert math.isclose(results["CUMULATIVE_KWH"].iloc[-1], 0.1 + 0.2, rel_tol=1e-12)
