"""Backfill on the embedded engine: equal to the stream and to one-shot, and the handover."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import pytest
from local_scenarios import START, new_store

import energy_integral as ei
from energy_integral_snowflake.backfill import backfill, run_backfill
from energy_integral_snowflake.batch import Policy, state_from_json
from energy_integral_snowflake.generator import insert_readings
from energy_integral_snowflake.procedure import run_procedure
from energy_integral_snowflake.reconcile import run_reconcile
from energy_integral_snowflake.restate import STATUS_BACKFILLED
from energy_integral_snowflake.store import SqlStore
from energy_integral_snowflake.warehouse import SqlWarehouse

METHODS = ["trapezoid", "left", "right", "scipy"]


def _readings(seed: int = 4) -> ei.Readings:
    """Two days of 30-minute readings, 3 meters, with outages, duplicates and invalid power."""
    return ei.generate_readings(
        3, start=START, periods=96, cadence="30min", seed=seed, outages=2,
        duplicate_fraction=0.03, invalid_fraction=0.03,
    )  # fmt: skip


def _part(r: ei.Readings, rows: np.ndarray) -> ei.Readings:
    return ei.Readings(r.meter[rows], r.timestamp[rows], r.power[rows])


def _results(store: SqlStore) -> pd.DataFrame:
    frame: pd.DataFrame = store.session.table("INTEGRAL_SUM_VALUES").to_pandas()
    return frame.sort_values(["METER_ID", "TIMESTAMP"], ignore_index=True)


def _states(store: SqlStore) -> dict[str, ei.CumulativeState]:
    rows = store.session.table("METER_STATE").to_pandas().sort_values("BATCH_ID")
    latest = rows.drop_duplicates("METER_ID", keep="last")
    return {m: state_from_json(s) for m, s in zip(latest["METER_ID"], latest["STATE"], strict=True)}


def _assert_same_results(got: pd.DataFrame, want: pd.DataFrame) -> None:
    cols = ["METER_ID", "TIMESTAMP", "KW"]
    pd.testing.assert_frame_equal(got[cols], want[cols])
    for c in ("INTERVAL_KWH", "CUMULATIVE_KWH"):
        np.testing.assert_allclose(got[c], want[c], rtol=1e-12, atol=1e-12, err_msg=c)


def _assert_same_states(
    got: dict[str, ei.CumulativeState], want: dict[str, ei.CumulativeState]
) -> None:
    assert sorted(got) == sorted(want)
    for m, s in want.items():
        g = got[m]
        assert (g.first_ts, g.first_power, g.last_ts, g.last_power, g.count) == (
            s.first_ts, s.first_power, s.last_ts, s.last_power, s.count,
        ), m  # fmt: skip
        assert g.energy == pytest.approx(s.energy, rel=1e-12, abs=1e-12), m


@pytest.mark.parametrize("method", METHODS)
def test_backfill_equals_the_stream_in_batches_and_one_shot(method: str) -> None:
    readings, policy = _readings(), Policy(method, "75min")
    streamed = new_store()
    ticks = np.array_split(np.arange(len(readings)), 4)  # time-ordered deliveries
    for rows in ticks:
        insert_readings(streamed.session, _part(readings, rows))
        assert run_procedure(streamed, policy).status == "ok"
    for chunked in (False, True):
        store = new_store()
        insert_readings(store.session, readings)
        summary = run_backfill(SqlWarehouse(store.session), policy, chunk_by_day=chunked)
        assert summary.status == "ok", summary.message
        _assert_same_results(_results(store), _results(streamed))
        _assert_same_states(_states(store), _states(streamed))
    oneshot = ei.integrate_meters(readings.meter, readings.timestamp, readings.power,
                                  method=method, max_gap="75min")  # fmt: skip
    _assert_same_states(_states(store), {str(m): s for m, s in oneshot.states.items()})
    quarantine = store.session.table("QUARANTINED_READINGS").to_pandas()
    assert sorted(quarantine["REASON"]) == sorted(oneshot.rejected.reason.tolist())


def test_backfill_to_t_hands_over_to_the_stream_without_gap_or_overlap() -> None:
    readings = _readings(seed=8)
    policy = Policy("trapezoid")
    cut = START + np.timedelta64(20, "h")
    store = new_store()
    insert_readings(store.session, readings)  # the stream sees all of it, history included
    summary = run_backfill(SqlWarehouse(store.session), policy, end=str(cut))
    assert summary.status == "ok", summary.message
    assert all(m["window_end"] == cut.astype("datetime64[us]").item() for m in summary.meters)
    backfilled = _results(store)
    assert backfilled["TIMESTAMP"].max() <= cut
    # The task runs: readings after T continue the backfilled states; those up to T come
    # back through the stream and are quarantined, never integrated twice.
    assert run_procedure(store, policy).status == "ok"
    clean = new_store()
    insert_readings(clean.session, readings)
    run_procedure(clean, policy)  # one batch of everything: the uninterrupted run
    _assert_same_results(_results(store), _results(clean))
    _assert_same_states(_states(store), _states(clean))
    reasons = store.session.table("QUARANTINED_READINGS").to_pandas()
    early = reasons[reasons["TIMESTAMP"] <= cut]
    assert {"late", "already-integrated"} >= set(early["REASON"]) - {"duplicate", "invalid-power"}
    # Reconcile finds those identical to a stored result already integrated; the others
    # (second readings the backfill rejected as duplicates) restate their meter to no effect.
    before = _results(store)
    result = run_reconcile(SqlWarehouse(store.session), policy)
    assert result.status == "ok"
    assert result.rows_resolved == int((reasons["REASON"] == "late").sum()) > 0
    assert all(abs(m["delta_kwh"]) < 1e-9 for m in result.meters)
    resolved = store.session.table("RESOLVED_READINGS").to_pandas()
    late = reasons[reasons["REASON"] == "late"].merge(
        before[["METER_ID", "TIMESTAMP", "KW"]], on=["METER_ID", "TIMESTAMP", "KW"]
    )
    assert (resolved["RESOLUTION"] == "already-integrated").sum() == len(late) > 0
    _assert_same_results(_results(store), before)


def test_a_range_backfill_continues_from_the_stored_result_before_start() -> None:
    readings, policy = _readings(seed=11), Policy("left")
    store = new_store()
    insert_readings(store.session, readings)
    run_procedure(store, policy)
    want = _results(store)
    start = START + np.timedelta64(30, "h")
    summary = run_backfill(SqlWarehouse(store.session), policy, start=str(start),
                           meters=["meter-001"])  # fmt: skip
    assert summary.status == "ok", summary.message
    [meter] = summary.meters
    assert meter["window_start"] < start.astype("datetime64[us]").item()
    assert meter["delta_kwh"] == pytest.approx(0.0, abs=1e-12)
    got = _results(store)
    _assert_same_results(got, want)
    restated = got[got["BATCH_ID"] == summary.batch_id]
    assert set(restated["METER_ID"]) == {"meter-001"}
    assert restated["TIMESTAMP"].min() >= start


def test_bad_requests_are_refused_with_the_reason() -> None:
    store = new_store()
    insert_readings(store.session, _readings())
    warehouse = SqlWarehouse(store.session)
    unknown = run_backfill(warehouse, meters=["nope"])
    assert unknown.status == "error"
    assert "['nope']" in unknown.message
    backwards = run_backfill(warehouse, start="2026-01-02", end="2026-01-01")
    assert "after end" in backwards.message
    store.consume()  # a batch LANDED but not integrated
    pending = run_backfill(warehouse)
    assert "LANDED" in pending.message
    run_procedure(store, Policy())
    early = run_backfill(warehouse, end=str(START))
    assert early.status == "error"
    assert "reconcile" in early.message
    bad = json.loads(backfill(store.session, method="nope"))
    assert bad["status"] == "error"
    assert "nope" in bad["message"]


def test_backfill_and_reconcile_refuse_to_run_beside_a_started_stream_task() -> None:
    store = new_store()
    insert_readings(store.session, _readings())
    before = {t.name: store.session.table(t.name).to_pandas() for t in store.tables}
    store.session.sql("ALTER TASK INTEGRATE_STREAM_TASK RESUME").collect()
    warehouse = SqlWarehouse(store.session)
    for summary in (run_backfill(warehouse), run_reconcile(warehouse)):
        assert summary.status == "error"
        assert "task INTEGRATE_STREAM_TASK is started" in summary.message
        assert "ALTER TASK INTEGRATE_STREAM_TASK SUSPEND" in summary.message
    for table, frame in before.items():
        pd.testing.assert_frame_equal(store.session.table(table).to_pandas(), frame)


def test_the_handler_backfills_named_meters_as_a_marked_batch() -> None:
    store = new_store()
    insert_readings(store.session, _readings())
    out = json.loads(backfill(store.session, meters="meter-000, meter-002", chunk_by_day=True))
    assert out["status"] == "ok"
    assert [m["meter"] for m in out["meters"]] == ["meter-000", "meter-002"]
    marker = store.session.table("STREAM_CONSUMED_MARKER").to_pandas()
    assert marker["STATUS"].tolist() == [STATUS_BACKFILLED]
    audit = store.session.table("RECONCILIATION_AUDIT").to_pandas()
    assert audit["DELTA_KWH"].sum() == pytest.approx(out["delta_kwh"], rel=1e-12)
    assert set(_results(store)["METER_ID"]) == {"meter-000", "meter-002"}


def _duplicate_group() -> ei.Readings:
    """One meter every 15 minutes across midnight, two readings (4 and 8 kW) at 00:00."""
    t = np.array(["2026-01-01T23:30", "2026-01-01T23:45", "2026-01-02T00:00",
                  "2026-01-02T00:00", "2026-01-02T00:15"], dtype="datetime64[ns]")  # fmt: skip
    return ei.Readings(np.array(["m"] * 5, dtype=object), t, np.array([2.0, 2.0, 8.0, 4.0, 2.0]))


@pytest.mark.parametrize("chunked", [False, True])
def test_a_merged_duplicate_group_is_backfilled_as_one_row_with_the_mean(chunked: bool) -> None:
    store = new_store()
    insert_readings(store.session, _duplicate_group())
    policy = Policy("trapezoid", on_duplicate="mean")
    summary = run_backfill(SqlWarehouse(store.session), policy, chunk_by_day=chunked)
    assert summary.status == "ok", summary.message
    # Samples 2, 2, (8 + 4)/2 = 6, 2 kW, 15 minutes apart: intervals 2·¼ = 0.5, then
    # (2 + 6)/2·¼ = 1 (across midnight: the day chunks' bridge), then (6 + 2)/2·¼ = 1 kWh.
    got = _results(store)
    assert got["TIMESTAMP"].is_unique
    assert got["KW"].tolist() == [2.0, 2.0, 6.0, 2.0]
    np.testing.assert_allclose(got["INTERVAL_KWH"], [0.0, 0.5, 1.0, 1.0], rtol=1e-12)
    np.testing.assert_allclose(got["CUMULATIVE_KWH"], [0.0, 0.5, 1.5, 2.5], rtol=1e-12)
    # All five source rows are integrated, one of them merged; none is quarantined.
    assert (summary.rows_integrated, summary.rows_merged, summary.rows_rejected) == (5, 1, 0)
    assert len(store.session.table("QUARANTINED_READINGS").to_pandas()) == 0
    marker = store.session.table("STREAM_CONSUMED_MARKER").to_pandas()
    assert marker[["ROWS_READ", "ROWS_INTEGRATED", "ROWS_REJECTED"]].values.tolist() == [[5, 5, 0]]
    state = _states(store)["m"]
    assert (state.last_power, state.count) == (2.0, 4)
    assert state.energy == pytest.approx(2.5, rel=1e-12)


def test_under_mean_the_backfill_equals_the_stream_in_one_batch() -> None:
    readings, policy = _readings(seed=5), Policy("trapezoid", "75min", on_duplicate="mean")
    streamed = new_store()
    insert_readings(streamed.session, readings)
    run = run_procedure(streamed, policy)
    assert run.status == "ok"
    assert run.integrated[0]["rows_merged"] > 0  # the readings do hold duplicate groups
    want = _results(streamed)
    assert not want.duplicated(["METER_ID", "TIMESTAMP"]).any()
    for chunked in (False, True):
        store = new_store()
        insert_readings(store.session, readings)
        summary = run_backfill(SqlWarehouse(store.session), policy, chunk_by_day=chunked)
        assert summary.status == "ok", summary.message
        _assert_same_results(_results(store), want)
        _assert_same_states(_states(store), _states(streamed))


def test_a_stream_batch_landing_during_a_backfill_makes_it_write_nothing(tmp_path: Any) -> None:
    from energy_integral_snowflake import embedded
    from energy_integral_snowflake.store import SqlStore

    path = tmp_path / "pipeline.duckdb"
    session = embedded.connect(path)
    embedded.setup(session)
    readings = _readings()
    insert_readings(session, _part(readings, np.arange(len(readings) // 2)))
    other = SqlStore(embedded.connect(path))  # a manual CALL in another session
    warehouse = SqlWarehouse(session)
    integrate = warehouse.integrate

    def integrate_while_a_batch_lands(*args: Any, **kwargs: Any) -> Any:
        out = integrate(*args, **kwargs)
        assert other.consume() is not None  # the other call lands the readings meanwhile
        return out

    warehouse.integrate = integrate_while_a_batch_lands  # type: ignore[method-assign]
    summary = run_backfill(warehouse, Policy())
    assert summary.status == "error"
    assert "nothing was written" in summary.message
    assert _results(SqlStore(session)).empty
    marker = session.table("STREAM_CONSUMED_MARKER").to_pandas()
    assert marker["STATUS"].tolist() == ["LANDED"]  # the other call's batch alone
