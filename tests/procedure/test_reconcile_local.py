"""Reconciliation on the embedded engine: late rows and corrections restated like a clean run."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from local_scenarios import FaultySession, InjectedFault, deliveries, new_store, snapshot

import energy_integral as ei
from energy_integral_snowflake.backfill import run_backfill
from energy_integral_snowflake.batch import Policy, state_from_json
from energy_integral_snowflake.generator import insert_readings
from energy_integral_snowflake.procedure import run_procedure
from energy_integral_snowflake.reconcile import reconcile, run_reconcile
from energy_integral_snowflake.statements import run
from energy_integral_snowflake.store import SqlStore
from energy_integral_snowflake.warehouse import SqlWarehouse

POLICY = Policy("trapezoid")
# Wall-clock columns of the new tables, left out of comparisons.
CLOCKS = ["RESOLVED_AT", "AUDITED_AT"]


def _streamed(ticks: int = 3, policy: Policy = POLICY) -> SqlStore:
    """The stream procedure run over deliveries with late, duplicate and invalid rows."""
    store = new_store()
    for part in deliveries(meters=3, ticks=ticks, late_fraction=0.1):
        insert_readings(store.session, part)
        assert run_procedure(store, policy).status == "ok"
    return store


def _correct(store: SqlStore) -> None:
    """UPDATE one integrated reading's kW and DELETE another; the stream quarantines both."""
    source = store.session.table("RANDOM_VALUES").to_pandas()
    results = store.session.table("INTEGRAL_SUM_VALUES").to_pandas()
    done = source.merge(results[["METER_ID", "TIMESTAMP", "KW"]]).sort_values("ID")
    updated, deleted = done.iloc[5], done[done["METER_ID"] != done.iloc[5]["METER_ID"]].iloc[8]
    run(store.session, 'UPDATE "RANDOM_VALUES" SET "KW" = ? WHERE "ID" = ?',
        [float(updated["KW"]) + 1.5, int(updated["ID"])])  # fmt: skip
    run(store.session, 'DELETE FROM "RANDOM_VALUES" WHERE "ID" = ?', [int(deleted["ID"])])
    summary = run_procedure(store, POLICY)
    assert summary.status == "ok", summary.message
    quarantine = store.session.table("QUARANTINED_READINGS").to_pandas()
    mine = quarantine[quarantine["BATCH_ID"] == summary.consumed_batch]
    assert sorted(mine["ID"]) == sorted([int(updated["ID"])] * 2 + [int(deleted["ID"])])
    assert sorted(mine["REASON"]) == ["correction", "correction", "replaced"]
    assert not mine.duplicated(["BATCH_ID", "ROW_ID", "REASON"]).any()  # its natural key


def _clean(store: SqlStore, policy: Policy = POLICY) -> SqlStore:
    """A clean run: the corrected source table, in ID order, backfilled in one go."""
    source = store.session.table("RANDOM_VALUES").to_pandas().sort_values("ID")
    clean = new_store()
    meters = source["METER_ID"].to_numpy(dtype=object)
    readings = ei.Readings(meters, source["TIMESTAMP"].to_numpy(), source["KW"].to_numpy())
    insert_readings(clean.session, readings)
    assert run_backfill(SqlWarehouse(clean.session), policy).status == "ok"
    return clean


def _results(store: SqlStore) -> pd.DataFrame:
    frame: pd.DataFrame = store.session.table("INTEGRAL_SUM_VALUES").to_pandas()
    return frame.sort_values(["METER_ID", "TIMESTAMP"], ignore_index=True)


def _energies(store: SqlStore) -> dict[str, float]:
    rows = store.session.table("METER_STATE").to_pandas().sort_values("BATCH_ID")
    latest = rows.drop_duplicates("METER_ID", keep="last")
    return {
        m: state_from_json(s).energy
        for m, s in zip(latest["METER_ID"], latest["STATE"], strict=True)
    }


def _assert_results_equal(got: pd.DataFrame, want: pd.DataFrame) -> None:
    key = ["METER_ID", "TIMESTAMP", "KW"]
    pd.testing.assert_frame_equal(got[key], want[key])
    for c in ("INTERVAL_KWH", "CUMULATIVE_KWH"):
        np.testing.assert_allclose(got[c], want[c], rtol=1e-12, atol=1e-12, err_msg=c)


def _tables(store: SqlStore) -> dict[str, pd.DataFrame]:
    return {
        name: frame.drop(columns=[c for c in CLOCKS if c in frame])
        for name, frame in snapshot(store).items()
    }


def test_reconcile_restates_late_rows_and_corrections_like_a_clean_run() -> None:
    store = _streamed()
    _correct(store)
    quarantine = store.session.table("QUARANTINED_READINGS").to_pandas()
    assert (quarantine["REASON"] == "late").sum() >= 2
    before = _energies(store)
    summary = run_reconcile(SqlWarehouse(store.session), POLICY)
    assert summary.status == "ok", summary.message
    restatable = ["late", "correction", "replaced"]
    assert summary.rows_resolved == int(quarantine["REASON"].isin(restatable).sum())
    clean = _clean(store)
    _assert_results_equal(_results(store), _results(clean))
    after = _energies(store)
    want = _energies(clean)
    assert sorted(after) == sorted(want)
    for m in want:
        assert after[m] == pytest.approx(want[m], rel=1e-12)
    # The audit: one row per restated meter; its deltas add up to the fleet's change.
    audit = store.session.table("RECONCILIATION_AUDIT").to_pandas()
    assert sorted(audit["METER_ID"]) == sorted(m["meter"] for m in summary.meters)
    assert audit["DELTA_KWH"].sum() == pytest.approx(
        sum(after.values()) - sum(before.values()), rel=1e-12, abs=1e-12
    )
    np.testing.assert_allclose(audit["KWH_AFTER"] - audit["KWH_BEFORE"], audit["DELTA_KWH"])
    assert (audit["DELTA_KWH"].abs() > 1e-6).any()  # the late rows and corrections count
    assert (audit["WINDOW_END"] >= audit["WINDOW_START"]).all()
    resolved = store.session.table("RESOLVED_READINGS").to_pandas()
    assert set(resolved["RESOLUTION"]) == {"restated"}


def test_reconciling_twice_changes_nothing() -> None:
    store = _streamed()
    _correct(store)
    run_reconcile(SqlWarehouse(store.session), POLICY)
    once = _tables(store)
    again = run_reconcile(SqlWarehouse(store.session), POLICY)
    assert again.status == "ok"
    assert again.batch_id is None
    assert again.meters == []
    twice = _tables(store)
    for name, frame in once.items():
        pd.testing.assert_frame_equal(twice[name], frame, obj=name)
    # And the stream carries on from the restated states as if nothing had happened.
    extra = deliveries(meters=3, ticks=4, late_fraction=0.0)[-1]
    insert_readings(store.session, extra)
    assert run_procedure(store, POLICY).status == "ok"
    _assert_results_equal(_results(store), _results(_clean(store)))


def test_a_crash_at_any_statement_then_a_rerun_gives_the_reconciled_tables() -> None:
    def scenario() -> SqlStore:
        store = _streamed(ticks=2)
        _correct(store)
        return store

    def faults(store: SqlStore) -> FaultySession:
        assert isinstance(store.session, FaultySession)
        return store.session

    baseline = scenario()
    with faults(baseline).armed():
        run_reconcile(SqlWarehouse(baseline.session), POLICY)
    want, issued = _tables(baseline), faults(baseline).count
    assert issued >= 8
    store = scenario()
    for k in range(1, issued + 1):
        faults(store).fail_at, faults(store).count = k, 0
        with faults(store).armed(), pytest.raises(InjectedFault):
            run_reconcile(SqlWarehouse(store.session), POLICY)
        faults(store).fail_at = None
        run_reconcile(SqlWarehouse(store.session), POLICY)
        got = _tables(store)
        for name, frame in want.items():
            if name == "STREAM_CONSUMED_MARKER":
                frame = frame.drop(columns="KWH_ADDED")
                got[name] = got[name].drop(columns="KWH_ADDED")
            try:
                pd.testing.assert_frame_equal(got[name], frame, obj=name, check_exact=False,
                                              rtol=1e-12)  # fmt: skip
            except AssertionError as exc:
                raise AssertionError(f"after a crash at statement {k} of {issued}: {exc}") from None
        store = scenario() if k < issued else store


def test_the_handler_reports_json_and_rejects_other_options() -> None:
    store = _streamed(ticks=2)
    out = json.loads(reconcile(store.session))
    assert out["status"] == "ok"
    assert out["kind"] == "RECONCILED"
    assert out["rows_resolved"] >= 1
    assert json.loads(reconcile(store.session))["rows_resolved"] == 0
    bad = json.loads(reconcile(store.session, method="left"))
    assert bad["status"] == "ok"  # nothing open: no state of another method is read
    wrong = json.loads(reconcile(store.session, on_duplicate="raise"))
    assert wrong["status"] == "error"
    assert "on_duplicate" in wrong["message"]


def test_a_merged_duplicate_group_is_restated_as_one_row_with_the_mean() -> None:
    policy = Policy("trapezoid", on_duplicate="mean")
    store = new_store()
    t = np.array(["2026-01-01T00:00", "2026-01-01T00:15", "2026-01-01T00:15",
                  "2026-01-01T00:30"], dtype="datetime64[ns]")  # fmt: skip
    m = np.array(["m"] * 4, dtype=object)
    insert_readings(store.session, ei.Readings(m, t, np.array([2.0, 8.0, 4.0, 2.0])))
    assert run_procedure(store, policy).status == "ok"
    # A reading at 00:05 arrives after 00:30 was integrated: late, then reconciled.
    late = np.array(["2026-01-01T00:05"], dtype="datetime64[ns]")
    insert_readings(store.session, ei.Readings(m[:1], late, np.array([2.0])))
    assert run_procedure(store, policy).status == "ok"
    summary = run_reconcile(SqlWarehouse(store.session), policy)
    assert summary.status == "ok", summary.message
    # The window after 00:00 holds 00:05 (2 kW), 00:15 twice (8 and 4: one sample of 6 kW)
    # and 00:30 (2 kW): intervals 2·(5/60) = 1/6, (2 + 6)/2·(10/60) = 2/3, (6 + 2)/2·¼ = 1.
    got = _results(store)
    assert got["TIMESTAMP"].is_unique
    assert got["KW"].tolist() == [2.0, 2.0, 6.0, 2.0]
    np.testing.assert_allclose(got["INTERVAL_KWH"], [0.0, 1 / 6, 2 / 3, 1.0], rtol=1e-12)
    np.testing.assert_allclose(got["CUMULATIVE_KWH"], [0.0, 1 / 6, 5 / 6, 11 / 6], rtol=1e-12)
    # Four source rows restated (00:05, both at 00:15, 00:30), one merged; none rejected.
    assert (summary.rows_integrated, summary.rows_merged, summary.rows_rejected) == (4, 1, 0)
    [meter] = summary.meters
    assert meter["kwh_before"] == pytest.approx(2.0, rel=1e-12)  # (2+6)/2·¼ twice
    assert meter["kwh_after"] == pytest.approx(11 / 6, rel=1e-12)
    assert _energies(store) == {"m": pytest.approx(11 / 6, rel=1e-12)}
    quarantine = store.session.table("QUARANTINED_READINGS").to_pandas()
    assert quarantine["REASON"].tolist() == ["late"]  # the stream's; the restatement's none
