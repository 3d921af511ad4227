"""Calls that overlap: two or three sessions on one database file, calling in threads.

DuckDB isolates the sessions by snapshots and refuses the second of two
conflicting writes; the procedure must then lose its claim or its consume
cleanly, so that every reading is still integrated or quarantined exactly once.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from local_scenarios import deliveries

from energy_integral_snowflake import embedded
from energy_integral_snowflake.batch import Policy
from energy_integral_snowflake.demo import check_against_oneshot
from energy_integral_snowflake.generator import insert_readings
from energy_integral_snowflake.procedure import RunSummary, run_procedure
from energy_integral_snowflake.schema import STATUS_INTEGRATED
from energy_integral_snowflake.store import SqlStore

POLICY = Policy("trapezoid")


def _overlapping_calls(path: Path, callers: int) -> list[RunSummary]:
    """Each caller runs the procedure once, all released at the same moment."""
    start = threading.Barrier(callers)
    summaries: list[Any] = [None] * callers

    def call(k: int) -> None:
        session = embedded.connect(path)
        try:
            start.wait()
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


def test_overlapping_calls_integrate_every_reading_exactly_once(tmp_path: Path) -> None:
    path = tmp_path / "pipeline.duckdb"
    feed = embedded.connect(path)
    embedded.setup(feed)
    for part in deliveries(meters=4, ticks=6, seed=3):
        insert_readings(feed, part)
        for summary in _overlapping_calls(path, callers=3):
            assert isinstance(summary, RunSummary), summary
            assert summary.status == "ok", summary.message
    run_procedure(SqlStore(feed), POLICY)  # whatever a lost race left LANDED
    marker = feed.table("STREAM_CONSUMED_MARKER").to_pandas()
    assert marker["BATCH_ID"].is_unique
    assert set(marker["STATUS"]) == {STATUS_INTEGRATED}
    source = feed.table("RANDOM_VALUES").to_pandas()
    results = feed.table("INTEGRAL_SUM_VALUES").to_pandas()
    quarantine = feed.table("QUARANTINED_READINGS").to_pandas()
    landed = feed.table("LANDED_READINGS").to_pandas()
    assert landed["ID"].is_unique  # each reading landed by one batch
    assert sorted(landed["ID"]) == sorted(source["ID"])
    assert not results.duplicated(["METER_ID", "TIMESTAMP", "METHOD"]).any()
    assert not quarantine["ID"].duplicated().any()
    assert len(results) + len(quarantine) == len(source)  # on_duplicate="reject": no merges
    checks = check_against_oneshot(feed, POLICY.method)
    assert checks
    assert all(c.ok for c in checks), checks
    assert marker["ROWS_READ"].sum() == len(source)
