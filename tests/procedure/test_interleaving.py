"""A backfill or a reconciliation run between any two statements of a stream call.

The threads of ``test_concurrency`` race freely, and there the stream call
nearly always lands first, so the restatement refuses or loses. Here the
interleaving is chosen: the stream call's session stops before its k-th
statement, for every k, and a whole backfill (or reconciliation) runs on a
second session over the same database file, inside whatever transaction the
call has open. The restatement wins its claim wherever no batch is visibly
``LANDED`` yet, and must refuse or write nothing everywhere else; the call
must then integrate, quarantine or lose its claim cleanly. Whatever the order,
after one more call and a reconciliation the results equal a clean run over
the corrected source table.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from local_scenarios import deliveries, table

import energy_integral as ei
from energy_integral_snowflake import embedded
from energy_integral_snowflake.backfill import run_backfill
from energy_integral_snowflake.batch import Policy
from energy_integral_snowflake.generator import insert_readings
from energy_integral_snowflake.procedure import run_procedure
from energy_integral_snowflake.reconcile import run_reconcile
from energy_integral_snowflake.restate import STATUS_RECONCILED, ScaleOutSummary
from energy_integral_snowflake.schema import STATUS_INTEGRATED
from energy_integral_snowflake.store import SqlStore
from energy_integral_snowflake.warehouse import SqlWarehouse

POLICY = Policy("trapezoid")
RESTATEMENTS: dict[str, Callable[[SqlWarehouse, Policy], ScaleOutSummary]] = {
    "backfill": run_backfill,
    "reconcile": run_reconcile,
}


class PausingSession(embedded.EmbeddedSession):
    """A session that runs ``hook`` once, just before its ``at``-th statement."""

    def __init__(self, session: embedded.EmbeddedSession, at: int, hook: Callable[[], Any]):
        super().__init__(session.connection, session.database_name, session.path)
        self.at, self.hook, self.count = at, hook, 0

    def _run(self, text: str, params: Sequence[Any], *, frame: bool) -> Any:
        self.count += 1
        if self.count == self.at:
            self.hook()
        return super()._run(text, params, frame=frame)


def _pipeline(path: Path) -> embedded.EmbeddedSession:
    """A first round integrated, one correction of it quarantined and open (for reconcile),
    then a second round and a deletion pending in the stream."""
    feed = embedded.connect(path)
    embedded.setup(feed)
    first, second = deliveries(meters=3, ticks=2, seed=5)
    insert_readings(feed, first)
    assert run_procedure(SqlStore(feed), POLICY).status == "ok"
    done = table(feed, "INTEGRAL_SUM_VALUES")[["METER_ID", "TIMESTAMP"]]
    integrated = table(feed, "RANDOM_VALUES").merge(done).sort_values("ID")["ID"].to_numpy()
    feed.sql('UPDATE "RANDOM_VALUES" SET "KW" = "KW" + 1.25 WHERE "ID" = ?',
             params=[int(integrated[0])]).collect()  # fmt: skip
    assert run_procedure(SqlStore(feed), POLICY).status == "ok"  # quarantines the correction
    insert_readings(feed, second)
    feed.sql('DELETE FROM "RANDOM_VALUES" WHERE "ID" = ?', params=[int(integrated[1])]).collect()
    return feed


def _results(session: Any) -> pd.DataFrame:
    frame = table(session, "INTEGRAL_SUM_VALUES")
    return frame.sort_values(["METER_ID", "TIMESTAMP"], ignore_index=True)


def _clean_run(source: pd.DataFrame) -> pd.DataFrame:
    """The results of one backfill over ``source`` on a fresh pipeline."""
    clean = embedded.connect()
    embedded.setup(clean)
    rows = source.sort_values("ID")
    meters = rows["METER_ID"].to_numpy(dtype=object)
    insert_readings(clean, ei.Readings(meters, rows["TIMESTAMP"].to_numpy(), rows["KW"].to_numpy()))
    assert run_backfill(SqlWarehouse(clean), POLICY).status == "ok"
    return _results(clean)


def _statements_of_one_call(tmp_path: Path) -> int:
    session = PausingSession(_pipeline(tmp_path / "count.duckdb"), at=0, hook=lambda: None)
    run_procedure(SqlStore(session), POLICY)
    return session.count


@pytest.mark.parametrize("kind", sorted(RESTATEMENTS))
def test_a_restatement_between_any_two_statements_of_a_call(tmp_path: Path, kind: str) -> None:
    statements = _statements_of_one_call(tmp_path)
    assert statements >= 10
    outcomes: dict[int, ScaleOutSummary] = {}
    want: pd.DataFrame | None = None
    for k in range(1, statements + 1):
        path = tmp_path / f"{kind}-{k}.duckdb"
        feed = _pipeline(path)
        other = embedded.connect(path)

        def restate_now(k: int = k, other: embedded.EmbeddedSession = other) -> None:
            outcomes[k] = RESTATEMENTS[kind](SqlWarehouse(other), POLICY)

        call = PausingSession(embedded.connect(path), at=k, hook=restate_now)
        summary = run_procedure(SqlStore(call), POLICY)
        assert k in outcomes, f"the call issued fewer than {k} statements"
        outcome = outcomes[k]
        assert (
            outcome.status == "ok"
            or "LANDED" in outcome.message
            or ("nothing was written" in outcome.message)
        ), (k, outcome.message)
        assert summary.status == "ok", (k, summary.message)
        # Whatever the order: one more call, then reconcile what was quarantined.
        assert run_procedure(SqlStore(feed), POLICY).status == "ok"
        assert run_reconcile(SqlWarehouse(feed), POLICY).status == "ok", k
        marker = table(feed, "STREAM_CONSUMED_MARKER")
        assert marker["BATCH_ID"].is_unique, k
        assert set(marker["STATUS"]) <= {STATUS_INTEGRATED, STATUS_RECONCILED, "BACKFILLED"}, k
        landed = table(feed, "LANDED_READINGS")
        integrated_rows = marker["ROWS_READ"][marker["STATUS"] == STATUS_INTEGRATED].sum()
        assert integrated_rows == len(landed), k  # every landed row read by one batch
        results = _results(feed)
        assert not results.duplicated(["METER_ID", "TIMESTAMP"]).any(), k
        if want is None:
            want = _clean_run(table(feed, "RANDOM_VALUES"))
        key = ["METER_ID", "TIMESTAMP", "KW"]
        pd.testing.assert_frame_equal(results[key], want[key], obj=f"{kind} before statement {k}")
        np.testing.assert_allclose(
            results["CUMULATIVE_KWH"], want["CUMULATIVE_KWH"], rtol=1e-12, err_msg=str(k)
        )
        for s in (feed, other, call):
            s.close()
    won = sorted(k for k, o in outcomes.items() if o.status == "ok" and o.batch_id is not None)
    # Before the call's consume commits, no batch is LANDED: the restatement wins there.
    assert won, {k: o.message for k, o in outcomes.items()}
    assert won[0] == 1, won
    # Once the call's batch has landed and until it is integrated, it refuses or loses.
    assert len(won) < statements, won


def test_overtaken_batches_move_after_the_committed_one_in_their_order(tmp_path: Path) -> None:
    feed = embedded.connect(tmp_path / "p.duckdb")
    embedded.setup(feed)
    store = SqlStore(feed)
    first, second = deliveries(meters=2, ticks=2, seed=2)
    insert_readings(feed, first)
    one = store.consume()
    insert_readings(feed, second)
    two = store.consume()
    assert one is not None
    assert two is not None
    assert one < two
    rows = {b: len(table(feed, "LANDED_READINGS").query("BATCH_ID == @b")) for b in (one, two)}
    assert store.renumber_overtaken() is False  # nothing committed above them
    # A restatement that took a later id committed while both were landing.
    restated = [two + 5, "BACKFILLED"]
    feed.sql('INSERT INTO "STREAM_CONSUMED_MARKER" ("BATCH_ID", "CONSUMED_AT", "ROWS_READ", '
             '"STATUS") VALUES (?, SYSDATE(), 0, ?)', params=restated).collect()  # fmt: skip
    assert store.renumber_overtaken() is True
    landed = store.pending_batches()
    assert len(landed) == 2
    assert min(landed) > two + 5  # both now after the restatement ...
    counts = table(feed, "LANDED_READINGS")["BATCH_ID"].value_counts().to_dict()
    assert counts == {landed[0]: rows[one], landed[1]: rows[two]}  # ... in their order
    assert store.renumber_overtaken() is False
