"""Calls that overlap: two or three sessions on one database file, calling in threads.

DuckDB isolates the sessions by snapshots and refuses the second of two
conflicting writes; the procedure must then lose its claim or its consume
cleanly, so that every reading is still integrated or quarantined exactly once.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from local_scenarios import deliveries

import energy_integral as ei
from energy_integral_snowflake import embedded
from energy_integral_snowflake.backfill import run_backfill
from energy_integral_snowflake.batch import Policy
from energy_integral_snowflake.generator import insert_readings
from energy_integral_snowflake.procedure import RunSummary, run_procedure
from energy_integral_snowflake.reconcile import run_reconcile
from energy_integral_snowflake.restate import (
    STATUS_BACKFILLED,
    STATUS_RECONCILED,
    ScaleOutSummary,
)
from energy_integral_snowflake.schema import STATUS_INTEGRATED
from energy_integral_snowflake.store import SqlStore
from energy_integral_snowflake.warehouse import SqlWarehouse

POLICY = Policy("trapezoid")


def _overlapping_calls(path: Path, callers: int) -> list[Any]:
    """Each caller runs the procedure once (the last one a reconciliation), released together."""
    start = threading.Barrier(callers)
    summaries: list[Any] = [None] * callers

    def call(k: int) -> None:
        session = embedded.connect(path)
        try:
            start.wait()
            if k == callers - 1:
                summaries[k] = run_reconcile(SqlWarehouse(session), POLICY)
            elif k == callers - 2 and callers > 3:
                summaries[k] = run_backfill(SqlWarehouse(session), POLICY)
            else:
                summaries[k] = run_procedure(SqlStore(session), POLICY)
        except BaseException as exc:  # reported by the assertion below
            summaries[k] = exc
        finally:
            session.close()

    threads = [threading.Thread(target=call, args=(k,)) for k in range(callers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return summaries


def test_overlapping_calls_and_reconciliations_equal_a_clean_run(tmp_path: Path) -> None:
    path = tmp_path / "pipeline.duckdb"
    feed = embedded.connect(path)
    embedded.setup(feed)
    rng = np.random.default_rng(3)
    for part in deliveries(meters=4, ticks=6, seed=3):
        insert_readings(feed, part)
        _correct_some(feed, rng)  # corrections of readings integrated in earlier rounds
        *calls, backfilled, reconciled = _overlapping_calls(path, callers=4)
        for summary in calls:
            assert isinstance(summary, RunSummary), summary
            assert summary.status == "ok", summary.message
        # Beside a call, a backfill (which writes when the calls were done before it looked)
        # and a reconciliation refuse, or lose their claim, or write; they never fail.
        for scale_out in (backfilled, reconciled):
            assert isinstance(scale_out, ScaleOutSummary), scale_out
            assert (
                scale_out.status == "ok"
                or "LANDED" in scale_out.message
                or ("nothing was written" in scale_out.message)
            ), scale_out.message
    run_procedure(SqlStore(feed), POLICY)  # whatever a lost race left LANDED
    assert run_reconcile(SqlWarehouse(feed), POLICY).status == "ok"  # the late rows
    marker = feed.table("STREAM_CONSUMED_MARKER").to_pandas()
    assert marker["BATCH_ID"].is_unique
    assert set(marker["STATUS"]) <= {STATUS_INTEGRATED, STATUS_BACKFILLED, STATUS_RECONCILED}
    source = feed.table("RANDOM_VALUES").to_pandas()
    landed = feed.table("LANDED_READINGS").to_pandas()
    first = landed[(landed["ACTION"] == "INSERT") & ~landed["IS_UPDATE"].astype(bool)]
    assert first["ID"].is_unique  # each reading's first delivery landed by one batch
    assert set(source["ID"]) <= set(first["ID"])
    # Every landed row (a correction's halves too) was read by exactly one integrated batch.
    assert marker["ROWS_READ"][marker["STATUS"] == STATUS_INTEGRATED].sum() == len(landed)
    assert not landed.duplicated(["BATCH_ID", "ROW_ID", "ACTION"]).any()
    results = _results(feed)
    assert not results.duplicated(["METER_ID", "TIMESTAMP"]).any()
    # The law: the results equal a clean run over the corrected source rows, in ID order.
    clean = embedded.connect()
    embedded.setup(clean)
    rows = source.sort_values("ID")
    meters = rows["METER_ID"].to_numpy(dtype=object)
    readings = ei.Readings(meters, rows["TIMESTAMP"].to_numpy(), rows["KW"].to_numpy())
    insert_readings(clean, readings)
    assert run_backfill(SqlWarehouse(clean), POLICY).status == "ok"
    want = _results(clean)
    key = ["METER_ID", "TIMESTAMP", "KW"]
    pd.testing.assert_frame_equal(results[key], want[key])
    np.testing.assert_allclose(results["CUMULATIVE_KWH"], want["CUMULATIVE_KWH"], rtol=1e-12)


def _correct_some(session: Any, rng: np.random.Generator) -> None:
    """UPDATE one already integrated reading's kW and DELETE another, when there are some."""
    done = session.table("INTEGRAL_SUM_VALUES").to_pandas()[["METER_ID", "TIMESTAMP"]]
    source = session.table("RANDOM_VALUES").to_pandas().merge(done).sort_values("ID")
    if len(source) < 2:
        return
    updated, deleted = source.iloc[rng.choice(len(source), size=2, replace=False)]["ID"]
    session.sql('UPDATE "RANDOM_VALUES" SET "KW" = "KW" + 1.25 WHERE "ID" = ?',
                params=[int(updated)]).collect()  # fmt: skip
    session.sql('DELETE FROM "RANDOM_VALUES" WHERE "ID" = ?', params=[int(deleted)]).collect()


def _results(session: Any) -> pd.DataFrame:
    frame: pd.DataFrame = session.table("INTEGRAL_SUM_VALUES").to_pandas()
    return frame.sort_values(["METER_ID", "TIMESTAMP"], ignore_index=True)
