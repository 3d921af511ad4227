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

import shutil
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


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    """The pipeline's database file (closed), and the results of a clean run of its source."""
    path = tmp_path_factory.mktemp("interleaving") / "template.duckdb"
    feed = _pipeline(path)
    want = _clean_run(table(feed, "RANDOM_VALUES"))  # no call or restatement changes it
    feed.close()
    return path, want


def _copy(template: tuple[Path, pd.DataFrame], path: Path) -> embedded.EmbeddedSession:
    shutil.copyfile(template[0], path)
    return embedded.connect(path)


def _statements_of(
    template: tuple[Path, pd.DataFrame], path: Path, run: Callable[[Any], Any]
) -> int:
    session = PausingSession(_copy(template, path), at=0, hook=lambda: None)
    run(session)
    return session.count


def _call(session: Any) -> Any:
    return run_procedure(SqlStore(session), POLICY)


def _assert_settles_to_a_clean_run(
    feed: embedded.EmbeddedSession, want: pd.DataFrame, where: str
) -> None:
    """One more call and a reconciliation; then the law, and each reading read once."""
    assert run_procedure(SqlStore(feed), POLICY).status == "ok", where
    assert run_reconcile(SqlWarehouse(feed), POLICY).status == "ok", where
    marker = table(feed, "STREAM_CONSUMED_MARKER")
    assert marker["BATCH_ID"].is_unique, where
    assert set(marker["STATUS"]) <= {STATUS_INTEGRATED, STATUS_RECONCILED, "BACKFILLED"}, where
    landed = table(feed, "LANDED_READINGS")
    integrated_rows = marker["ROWS_READ"][marker["STATUS"] == STATUS_INTEGRATED].sum()
    assert integrated_rows == len(landed), where  # every landed row read by one batch
    results = _results(feed)
    assert not results.duplicated(["METER_ID", "TIMESTAMP"]).any(), where
    key = ["METER_ID", "TIMESTAMP", "KW"]
    pd.testing.assert_frame_equal(results[key], want[key], obj=where)
    np.testing.assert_allclose(
        results["CUMULATIVE_KWH"], want["CUMULATIVE_KWH"], rtol=1e-12, err_msg=where
    )


def _restated_or_refused(outcome: ScaleOutSummary) -> str:
    """What it did: ``won``, ``refused`` (a batch was LANDED) or ``lost`` (nothing written)."""
    if outcome.status == "ok":
        return "won" if outcome.batch_id is not None else "nothing to do"
    if "LANDED" in outcome.message:
        return "refused"
    assert "nothing was written" in outcome.message, outcome.message
    return "lost"


@pytest.mark.parametrize("kind", sorted(RESTATEMENTS))
def test_a_restatement_between_any_two_statements_of_a_call(
    template: tuple[Path, pd.DataFrame], tmp_path: Path, kind: str
) -> None:
    statements = _statements_of(template, tmp_path / "count.duckdb", _call)
    assert statements >= 10
    outcomes: dict[int, str] = {}
    for k in range(1, statements + 1):
        path = tmp_path / f"{kind}-{k}.duckdb"
        feed, other = _copy(template, path), embedded.connect(path)

        def restate_now(k: int = k, other: embedded.EmbeddedSession = other) -> None:
            outcomes[k] = _restated_or_refused(RESTATEMENTS[kind](SqlWarehouse(other), POLICY))

        call = PausingSession(embedded.connect(path), at=k, hook=restate_now)
        summary = _call(call)
        assert k in outcomes, f"the call issued fewer than {k} statements"
        assert summary.status == "ok", (k, summary.message)
        _assert_settles_to_a_clean_run(feed, template[1], f"{kind} before statement {k} of a call")
        for s in (feed, other, call):
            s.close()
    # Until the call's consume commits no batch is LANDED, and the restatement wins (the
    # call's batch is then moved after it); from then on it refuses.
    won = [k for k, o in outcomes.items() if o == "won"]
    assert won == list(range(1, len(won) + 1)), outcomes
    assert 1 < len(won) < statements, outcomes
    assert set(outcomes.values()) == {"won", "refused"}, outcomes


@pytest.mark.parametrize("kind", sorted(RESTATEMENTS))
def test_a_call_between_any_two_statements_of_a_restatement(
    template: tuple[Path, pd.DataFrame], tmp_path: Path, kind: str
) -> None:
    def restate(session: Any) -> ScaleOutSummary:
        return RESTATEMENTS[kind](SqlWarehouse(session), POLICY)

    statements = _statements_of(template, tmp_path / "count.duckdb", restate)
    assert statements >= 5
    outcomes: dict[int, str] = {}
    for k in range(1, statements + 1):
        path = tmp_path / f"{kind}-{k}.duckdb"
        feed, other = _copy(template, path), embedded.connect(path)
        calls: list[Any] = []

        def call_now(calls: list[Any] = calls, other: embedded.EmbeddedSession = other) -> None:
            calls.append(_call(other))

        session = PausingSession(embedded.connect(path), at=k, hook=call_now)
        outcomes[k] = _restated_or_refused(restate(session))
        assert len(calls) == 1, f"the {kind} issued fewer than {k} statements"
        assert calls[0].status == "ok", (k, calls[0].message)
        # It landed the pending rows; it integrated them, or lost its claim to the
        # restatement's open writes and left them LANDED for the next call.
        assert calls[0].consumed_batch is not None, k
        _assert_settles_to_a_clean_run(
            feed, template[1], f"a call before statement {k} of a {kind}"
        )
        for s in (feed, other, session):
            s.close()
    # A call before the restatement has read the states leaves it a quiet stream: it wins.
    # A call after that changes the states under it: it writes nothing. (A call inside its
    # final transaction loses its own claim to the open writes instead: it wins again.)
    assert outcomes[1] == "won", outcomes
    assert set(outcomes.values()) == {"won", "lost"}, outcomes


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
