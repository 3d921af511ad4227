"""The embedded engine's stream is a standard Snowflake stream: net change since the offset.

Each case is hand-derived from Snowflake's definition (the difference between
the table's version at the offset and its version now; an UPDATE is a DELETE
and an INSERT with METADATA$ISUPDATE; the offset moves only when a
transaction that ran DML reading the stream commits).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from local_scenarios import sql_rows

from energy_integral_snowflake import embedded
from energy_integral_snowflake.store import SqlStore

INSERT = "INSERT INTO RANDOM_VALUES (ID, METER_ID, TIMESTAMP, KW) VALUES (?, ?, ?, ?)"
STREAM = (
    'SELECT "ID", "KW", METADATA$ACTION AS "ACTION", METADATA$ISUPDATE AS "IS_UPDATE", '
    'METADATA$ROW_ID AS "ROW_ID" FROM RANDOM_VALUES_STREAM ORDER BY "ID", "ACTION"'
)
CONSUME = (
    "INSERT INTO LANDED_READINGS SELECT 1, METADATA$ROW_ID, METADATA$ACTION, METADATA$ISUPDATE, "
    '"ID", "METER_ID", "TIMESTAMP", "KW", CURRENT_TIMESTAMP() FROM RANDOM_VALUES_STREAM'
)


def _stream(session: Any) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in sql_rows(session, STREAM)]


def _insert(session: Any, *rows: tuple[int, float]) -> None:
    for row_id, kw in rows:
        sql_rows(session, INSERT, [row_id, "m", f"2026-01-01 00:0{row_id % 10}:00", kw])


def _consume(session: Any) -> None:
    sql_rows(session, CONSUME)


def test_an_insert_appears_once_and_a_select_does_not_consume_it(session: Any) -> None:
    _insert(session, (1, 2.5))
    assert _stream(session) == [(1, 2.5, "INSERT", False, "1")]
    assert _stream(session) == [(1, 2.5, "INSERT", False, "1")]  # reading moved nothing
    assert sql_rows(session, "SELECT SYSTEM$STREAM_HAS_DATA('RANDOM_VALUES_STREAM')")[0][0] is True
    _consume(session)  # autocommit DML reading the stream: consumed at once
    assert _stream(session) == []
    assert sql_rows(session, "SELECT SYSTEM$STREAM_HAS_DATA('RANDOM_VALUES_STREAM')")[0][0] is False


def test_a_delete_of_a_consumed_row_is_a_delete(session: Any) -> None:
    _insert(session, (1, 2.5), (2, 3.0))
    _consume(session)
    sql_rows(session, "DELETE FROM RANDOM_VALUES WHERE ID = ?", [2])
    assert _stream(session) == [(2, 3.0, "DELETE", False, "2")]


def test_an_update_is_a_delete_and_an_insert_sharing_a_row_id(session: Any) -> None:
    _insert(session, (1, 2.5))
    _consume(session)
    sql_rows(session, "UPDATE RANDOM_VALUES SET KW = ? WHERE ID = ?", [3.0, 1])
    assert _stream(session) == [(1, 2.5, "DELETE", True, "1"), (1, 3.0, "INSERT", True, "1")]


def test_an_update_of_an_unconsumed_row_is_just_its_new_insert(session: Any) -> None:
    _insert(session, (1, 2.5))
    sql_rows(session, "UPDATE RANDOM_VALUES SET KW = ? WHERE ID = ?", [3.0, 1])
    assert _stream(session) == [(1, 3.0, "INSERT", False, "1")]


def test_a_row_inserted_then_deleted_since_the_offset_is_not_there(session: Any) -> None:
    _insert(session, (1, 2.5), (2, 3.0))
    sql_rows(session, "DELETE FROM RANDOM_VALUES WHERE ID = ?", [2])
    assert _stream(session) == [(1, 2.5, "INSERT", False, "1")]


def test_a_rollback_moves_no_offset_and_a_commit_moves_it_past_every_row(session: Any) -> None:
    _insert(session, (1, 2.5), (2, 3.0))
    sql_rows(session, "BEGIN")
    sql_rows(
        session,
        CONSUME.replace("FROM RANDOM_VALUES_STREAM", 'FROM RANDOM_VALUES_STREAM WHERE "ID" = 1'),
    )
    assert len(_stream(session)) == 2  # inside the transaction every read sees the same rows
    sql_rows(session, "ROLLBACK")
    assert len(_stream(session)) == 2
    assert sql_rows(session, "SELECT COUNT(*) FROM LANDED_READINGS")[0][0] == 0
    sql_rows(session, "BEGIN")
    sql_rows(
        session,
        CONSUME.replace("FROM RANDOM_VALUES_STREAM", 'FROM RANDOM_VALUES_STREAM WHERE "ID" = 1'),
    )
    sql_rows(session, "COMMIT")
    assert _stream(session) == []  # the row the WHERE filtered out is consumed too
    assert sql_rows(session, "SELECT COUNT(*) FROM LANDED_READINGS")[0][0] == 1


def test_rows_written_by_another_session_during_a_consume_are_kept(tmp_path: Any) -> None:
    path = tmp_path / "pipeline.duckdb"
    one = embedded.connect(path)
    embedded.setup(one)
    two = embedded.connect(path)
    _insert(one, (1, 2.5))
    sql_rows(one, "BEGIN")
    sql_rows(one, CONSUME)
    _insert(two, (2, 3.0))  # committed while one's transaction is open
    sql_rows(one, "COMMIT")
    assert _stream(one) == [(2, 3.0, "INSERT", False, "2")]


def test_a_row_with_an_id_below_consumed_ones_is_still_consumed(session: Any) -> None:
    store = SqlStore(session)
    _insert(session, (5, 1.0), (6, 1.0))
    assert store.consume() == 1
    _insert(session, (3, 2.0))  # a lower ID, into a gap of the consumed range
    assert store.consume() == 2
    landed = session.table("LANDED_READINGS").to_pandas()
    assert sorted(landed.loc[landed["BATCH_ID"] == 2, "ID"]) == [3]
    assert store.consume() is None


def test_timestamps_keep_their_nanoseconds_through_the_stream(session: Any) -> None:
    stamp = "2026-01-01 00:00:00.000000001"
    sql_rows(session, INSERT, [1, "m", stamp, 2.5])
    sql_rows(session, INSERT, [2, "m", pd.Timestamp("2026-01-01 00:00:00.000000002"), 2.5])
    SqlStore(session).consume()
    landed = session.table("LANDED_READINGS").to_pandas().sort_values("ID")
    got = landed["TIMESTAMP"].to_numpy(dtype="datetime64[ns]")
    want = np.array([stamp, "2026-01-01T00:00:00.000000002"], dtype="datetime64[ns]")
    assert (got == want).all()


def test_identical_rows_are_counted_as_a_multiset(session: Any) -> None:
    _insert(session, (1, 2.5), (1, 2.5), (2, 3.0))  # the same row twice
    assert _stream(session) == [(1, 2.5, "INSERT", False, "1")] * 2 + [
        (2, 3.0, "INSERT", False, "2")
    ]
    _consume(session)
    # Deleting both copies and inserting one back is one net DELETE of that row.
    sql_rows(session, "DELETE FROM RANDOM_VALUES WHERE ID = ?", [1])
    _insert(session, (1, 2.5))
    assert _stream(session) == [(1, 2.5, "DELETE", False, "1")]
    sql_rows(session, "UPDATE RANDOM_VALUES SET KW = ? WHERE ID = ?", [4.0, 2])
    assert _stream(session) == [
        (1, 2.5, "DELETE", False, "1"),
        (2, 3.0, "DELETE", True, "2"),
        (2, 4.0, "INSERT", True, "2"),
    ]
