"""The Snowflake path against a recording fake session: exact statements, order, transactions."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import pytest
from statement_recording import DDL, VERSION, RecordingSession, assert_well_formed

import energy_integral as ei
from energy_integral_snowflake.batch import BatchOutcome, Policy, integrate_batch, state_to_json
from energy_integral_snowflake.handler import integrate_stream
from energy_integral_snowflake.procedure import run_procedure
from energy_integral_snowflake.schema import ObjectNames, tables
from energy_integral_snowflake.statements import CHUNK_ROWS
from energy_integral_snowflake.store import SqlStore

NOW = dt.datetime(2026, 1, 1, 12, 0)
CONSUME = [
    "BEGIN",
    'SELECT "BATCH_ID_SEQUENCE".NEXTVAL, '
    '(SELECT COALESCE(MAX("BATCH_ID"), 0) + 1 FROM "STREAM_CONSUMED_MARKER")',
    'INSERT INTO "LANDED_READINGS" ("BATCH_ID", "ROW_ID", "ACTION", "IS_UPDATE", "ID", '
    '"METER_ID", "TIMESTAMP", "KW", "LANDED_AT") SELECT ?, METADATA$ROW_ID, METADATA$ACTION, '
    'METADATA$ISUPDATE, "ID", "METER_ID", "TIMESTAMP", "KW", '
    'SYSDATE() FROM "RANDOM_VALUES_STREAM"',  # UTC, as Python writes audit times
    'INSERT INTO "STREAM_CONSUMED_MARKER" ("BATCH_ID", "CONSUMED_AT", "ROWS_READ", '
    '"MIN_TIMESTAMP", "MAX_TIMESTAMP", "LAST_SOURCE_ID", "STATUS") SELECT ?, '
    'SYSDATE(), COUNT(*), MIN("TIMESTAMP"), MAX("TIMESTAMP"), '
    'MAX("ID"), ? FROM "LANDED_READINGS" WHERE "BATCH_ID" = ? HAVING COUNT(*) > 0',
    "COMMIT",
]
NEXT_ID = 'SELECT "'
#: The batch's rows, read without ROW_ID and with the action as a boolean...
READ = (
    'SELECT "ACTION" = \'DELETE\' AS "IS_DELETE", "IS_UPDATE", "ID", "METER_ID", '
    '"TIMESTAMP", "KW" FROM "LANDED_READINGS" WHERE "BATCH_ID" = ?'
)
#: ... and the ROW_ID of the rows it quarantines, with the same columns to match them by.
LOOKUP = 'SELECT "ROW_ID", "ACTION" = \'DELETE\' AS "IS_DELETE", "IS_UPDATE", "ID", '
OTHER_METHODS = 'SELECT DISTINCT "METHOD" FROM "METER_STATE" WHERE "METHOD" <> ? ORDER BY "METHOD"'


def _landed(rows: list[tuple[Any, ...]]) -> pd.DataFrame:
    columns = tables().landing.column_names
    return pd.DataFrame([(1, *r, NOW) for r in rows], columns=columns)


def _as_read(landed: pd.DataFrame, *, row_id: bool = False) -> pd.DataFrame:
    """Landing rows as the store selects them: ``IS_DELETE`` for ``ACTION``, ROW_ID if asked."""
    out = landed.assign(IS_DELETE=landed["ACTION"] == "DELETE")
    columns = ["IS_DELETE", "IS_UPDATE", "ID", "METER_ID", "TIMESTAMP", "KW"]
    return out[(["ROW_ID"] if row_id else []) + columns].reset_index(drop=True)


def test_consume_is_one_transaction_of_exactly_these_statements() -> None:
    session = RecordingSession({NEXT_ID: lambda p: [(7, 1)]})
    assert SqlStore(session).consume() == 7
    assert session.statements == CONSUME
    assert [p for _, p in session.calls] == [None, None, [7], [7, "LANDED", 7], None]
    assert_well_formed(session)


def test_an_empty_stream_commits_and_reports_no_batch() -> None:
    session = RecordingSession(
        {NEXT_ID: lambda p: [(3, 1)], 'INSERT INTO "STREAM': lambda p: [(0,)]}
    )
    assert SqlStore(session).consume() is None
    assert session.statements[-1] == "COMMIT"


def test_a_failing_statement_rolls_back_and_raises() -> None:
    def boom(params: Sequence[Any]) -> Any:
        raise RuntimeError("stream is stale")

    session = RecordingSession({NEXT_ID: lambda p: [(1, 1)], 'INSERT INTO "STREAM': boom})
    with pytest.raises(RuntimeError, match="stale"):
        SqlStore(session).consume()
    assert session.statements[-1] == "ROLLBACK"
    assert "COMMIT" not in session.statements


def test_configured_names_are_quoted_everywhere() -> None:
    session = RecordingSession({NEXT_ID: lambda p: [(1, 1)]})
    names = ObjectNames(stream="raw_changes", marker="batches", sequence="ids")
    SqlStore(session, names).consume()
    assert '"RAW_CHANGES"' in session.statements[2]
    assert session.statements[1] == (
        'SELECT "IDS".NEXTVAL, (SELECT COALESCE(MAX("BATCH_ID"), 0) + 1 FROM "BATCHES")'
    )


def test_a_batch_id_is_above_every_marker_row_even_before_the_sequence_caught_up() -> None:
    # A pipeline that ran before the sequence existed: the sequence says 1, the marker 9.
    session = RecordingSession({NEXT_ID: lambda p: [(1, 9)]})
    assert SqlStore(session).consume() == 9


def _outcome(n_results: int, n_states: int = 1, n_bad: int = 1) -> BatchOutcome:
    nasty = "O'Brien\"; DROP TABLE X; --"
    results = [(nasty, NOW + dt.timedelta(seconds=i), 1.0, 0.1, 0.1 * i, "trapezoid", 4, NOW)
               for i in range(n_results)]  # fmt: skip
    quarantine = [(4, f"r{i}", 11 + i, nasty, NOW, None, "invalid-power", "KW is missing", NOW)
                  for i in range(n_bad)]  # fmt: skip
    states = [(f"{nasty}{i}", "trapezoid", state_to_json(ei.CumulativeState()), 4, NOW)
              for i in range(n_states)]  # fmt: skip
    return BatchOutcome(4, "trapezoid", results, quarantine, states, n_results + 1, n_results, 1,
                        1, 0.5, NOW, NOW)  # fmt: skip


def _kinds(statements: list[str]) -> list[str]:
    return [s.split(" ")[0] + " " + re.findall(r'"\w+"', s)[0] for s in statements]


PHASE_TWO_AFTER_RESULTS = [
    'DELETE "QUARANTINED_READINGS"',
    'INSERT "QUARANTINED_READINGS"',
    'MERGE "METER_STATE"',
    'DELETE "METER_STATE"',
]
CLAIM = 'UPDATE "STREAM_CONSUMED_MARKER"'  # LANDED -> INTEGRATED, first in the transaction


def test_commit_batch_is_one_transaction_in_a_fixed_order() -> None:
    n = CHUNK_ROWS  # up to a chunk: bound VALUES, no staging
    session = RecordingSession()
    assert SqlStore(session).commit_batch(_outcome(n), 0.25) == "committed"
    assert session.statements[0] == "BEGIN"
    assert session.statements[-1] == "COMMIT"
    assert _kinds(session.statements[1:-1]) == [CLAIM, 'MERGE "INTEGRAL_SUM_VALUES"',
                                                *PHASE_TWO_AFTER_RESULTS]  # fmt: skip
    assert session.staged == []
    claim, merge = session.calls[1], session.calls[2]
    assert claim[0].endswith(
        'WHERE "BATCH_ID" = ? AND "STATUS" = ? AND NOT EXISTS (SELECT 1 FROM '
        '"STREAM_CONSUMED_MARKER" AS e WHERE e."STATUS" = ? AND e."BATCH_ID" < ?) '
        'AND NOT EXISTS (SELECT 1 FROM "STREAM_CONSUMED_MARKER" AS f WHERE f."STATUS" <> ? '
        'AND f."BATCH_ID" > ?)'
    )  # no earlier batch still LANDED, and no later one committed (it was overtaken)
    assert claim[1] == ["INTEGRATED", n, 1, 1, 0.5, 0.25, "trapezoid", 4, "LANDED", "LANDED", 4,
                        "LANDED", 4]  # fmt: skip
    assert '"METHOD" = ?, "DETAIL" = NULL WHERE' in claim[0]  # a failure's reason goes
    assert len(merge[1] or []) == 8 * CHUNK_ROWS
    on = 'ON t."METER_ID" = s."METER_ID" AND t."TIMESTAMP" = s."TIMESTAMP" AND t."METHOD" = '
    assert on + 's."METHOD" WHEN MATCHED' in merge[0]
    assert_well_formed(session)
    # Values only ever travel as binds: the hostile meter id is in no statement's text.
    assert not any("O'Brien" in s for s in session.statements)


def test_many_rows_are_staged_before_the_transaction_and_written_at_once() -> None:
    n, bad, meters = 2 * CHUNK_ROWS + 1, CHUNK_ROWS + 2, CHUNK_ROWS + 1
    outcome = _outcome(n, meters, bad)
    session = RecordingSession()
    SqlStore(session).commit_batch(outcome, 0.25)
    names = [f'"DB"."PUBLIC"."SNOWPARK_TEMP_TABLE_{i}"' for i in (1, 2, 3)]
    assert session.statements[:4] == [
        f"<stage {n} rows as {names[0]}>",
        f"<stage {bad} rows as {names[1]}>",
        f"<stage {meters} rows as {names[2]}>",
        "BEGIN",
    ]
    assert session.statements[-1] == "COMMIT"
    assert _kinds(session.statements[4:-1]) == [CLAIM, 'MERGE "INTEGRAL_SUM_VALUES"',
                                                *PHASE_TWO_AFTER_RESULTS]  # fmt: skip
    t = tables()
    written = [(outcome.results, t.results, "MERGE", session.calls[5]),
               (outcome.quarantine, t.quarantine, "INSERT", session.calls[7]),
               (outcome.states, t.state, "MERGE", session.calls[8])]  # fmt: skip
    for (rows, table, verb, (sql, params)), (staged, schema), source in zip(
        written, session.staged, names, strict=True
    ):
        assert staged == rows
        assert [f.name for f in schema.fields] == list(table.column_names)
        columns = ", ".join(f'"{c}"' for c in table.column_names)
        assert sql.startswith(f"{verb} INTO {table.quoted}")
        assert f"SELECT {columns} FROM {source}" in sql
        assert params is None
    assert_well_formed(session)
    assert not any("O'Brien" in s for s in session.statements)


def test_a_failure_in_phase_two_rolls_back_before_the_mark() -> None:
    def boom(params: Sequence[Any]) -> Any:
        raise RuntimeError("warehouse suspended")

    session = RecordingSession({'MERGE INTO "METER_STATE"': boom})
    with pytest.raises(RuntimeError):
        SqlStore(session).commit_batch(_outcome(3), 0.0)
    assert session.statements[-1] == "ROLLBACK"
    assert "COMMIT" not in session.statements


def test_a_batch_claimed_by_another_call_is_rolled_back_untouched() -> None:
    session = RecordingSession({'UPDATE "STREAM_CONSUMED_MARKER"': lambda p: [(0,)]})
    assert SqlStore(session).commit_batch(_outcome(3), 0.0) == "taken"
    assert [s.split(" ")[0] for s in session.statements] == ["BEGIN", "UPDATE", "ROLLBACK"]


def test_states_changed_since_they_were_read_roll_the_batch_back_to_recompute() -> None:
    session = RecordingSession({VERSION: lambda p: [(2, 7)]})
    assert SqlStore(session).commit_batch(_outcome(3), 0.0, version=(2, 5)) == "stale"
    assert [s.split(" ")[0] for s in session.statements] == ["BEGIN", "UPDATE", "SELECT",
                                                             "ROLLBACK"]  # fmt: skip
    session = RecordingSession({VERSION: lambda p: [(2, 5)]})
    assert SqlStore(session).commit_batch(_outcome(3), 0.0, version=(2, 5)) == "committed"


def test_a_whole_run_through_the_handler() -> None:
    t = pd.Timestamp("2026-01-01T00:00")
    landed = _landed([
        ("r1", "INSERT", False, 1, "a", t, 6.0, ),
        ("r2", "INSERT", False, 2, "a", t + pd.Timedelta("10min"), 6.0),
        ("r3", "INSERT", False, 3, "a", t + pd.Timedelta("5min"), float("nan")),
    ])  # fmt: skip
    landed["BATCH_ID"] = 1
    session = RecordingSession(
        {
            NEXT_ID: lambda p: [(1, 1)],
            'SELECT "BATCH_ID"': lambda p: [(1,)],
            READ: lambda p: _as_read(landed),
            LOOKUP: lambda p: _as_read(landed[landed["ID"].isin(p[1:])], row_id=True),
            'SELECT "METER_ID", "STATE"': lambda p: pd.DataFrame(
                {"METER_ID": [], "STATE": [], "BATCH_ID": np.array([], np.int64)}
            ),
        }
    )
    summary = json.loads(integrate_stream(session, "trapezoid"))
    assert summary["status"] == "ok", summary
    assert summary["integrated"][0]["rows_integrated"] == 2
    assert summary["kwh_added"] == pytest.approx(1.0)  # 6 kW for 10 minutes
    # The method check comes first, before anything is consumed.
    assert session.statements[0] == OTHER_METHODS
    assert session.calls[0][1] == ["trapezoid"]
    statements = session.statements[1:]
    assert statements[:5] == CONSUME
    assert statements[5].startswith('SELECT "BATCH_ID" FROM "STREAM_CONSUMED_MARKER"')
    assert statements[6] == READ
    assert session.calls[7][1] == [1]
    # The states with their batch ids: their fingerprint, counted from the same rows...
    assert statements[7].startswith('SELECT "METER_ID", "STATE", "BATCH_ID" FROM "METER_STATE"')
    # One row is quarantined (its KW is NaN): its ROW_ID is read by its ID, before BEGIN.
    assert statements[8] == LOOKUP + (
        '"METER_ID", "TIMESTAMP", "KW" FROM "LANDED_READINGS" WHERE "BATCH_ID" = ? '
        'AND ("ID" IN (?))'
    )
    assert session.calls[9][1] == [1, 3]
    assert statements[9] == "BEGIN"
    assert statements[10].startswith(CLAIM)
    assert statements[11].startswith(VERSION)  # ... and counted again inside the transaction
    assert session.calls[12][1] == ["trapezoid", 1]
    [(_, params)] = [c for c in session.calls if c[0].startswith('INSERT INTO "QUARANTINED')]
    assert params is not None
    assert params[1:4] == ["r3", 3, "a"]  # its ROW_ID, ID and meter
    assert session.statements[-1] == "COMMIT"
    assert_well_formed(session)


def test_states_are_read_from_before_the_batch() -> None:
    prior = ei.CumulativeState("left", first_ts=0, first_power=1.0, last_ts=0,
                               last_power=1.0, energy=0.0, count=1)  # fmt: skip
    session = RecordingSession(
        {
            READ: lambda p: _as_read(_landed([])),
            'SELECT "METER_ID", "STATE"': lambda p: pd.DataFrame(
                {"METER_ID": ["a"], "STATE": [state_to_json(prior)], "BATCH_ID": [4]}
            ),
        }
    )
    _, states, version = SqlStore(session).load_batch(9, "left")
    assert states == {"a": prior}
    assert version == (1, 4)  # one meter's state, of batch 4: what states_version counts
    sql, params = session.calls[1]
    assert params == ["left", 9]
    assert '"BATCH_ID" < ?' in sql
    assert 'QUALIFY ROW_NUMBER() OVER (PARTITION BY "METER_ID" ORDER BY "BATCH_ID" DESC) = 1' in sql
    # the outcome computed from it continues that state
    outcome = integrate_batch(_as_read(_landed([])), states, 9, Policy("left"), NOW)
    assert outcome.rows_read == 0


def test_run_procedure_quarantines_the_rows_of_a_bad_state_row_and_writes_no_state() -> None:
    stuck = _landed([("r1", "INSERT", False, 1, "a", pd.Timestamp("2026-01-01"), 1.0)])
    session = RecordingSession(
        {
            NEXT_ID: lambda p: [(1, 1)],
            'SELECT "BATCH_ID"': lambda p: [(1,)],
            READ: lambda p: _as_read(stuck),
            LOOKUP: lambda p: _as_read(stuck, row_id=True),
            'SELECT "METER_ID", "STATE"': lambda p: pd.DataFrame(
                {"METER_ID": ["a"], "STATE": ["{not json"], "BATCH_ID": [1]}
            ),
            VERSION: lambda p: [(1, 1)],  # that one state row, counted in the transaction
        }
    )
    summary = run_procedure(SqlStore(session), Policy())
    quarantined = [p for q, p in session.calls if q.startswith('INSERT INTO "QUARANTINED')]
    assert [r for r in quarantined if r and "unreadable-state" in r and "r1" in r], session.calls
    assert not any(q.startswith('MERGE INTO "METER_STATE"') for q, _ in session.calls)
    assert (summary.status, summary.message) == ("ok", "")


def test_a_failed_batch_gets_its_reason_on_its_landed_marker_row() -> None:
    session = RecordingSession()
    SqlStore(session).mark_failed(4, "MethodMismatchError: ...")
    assert session.calls == [
        ('UPDATE "STREAM_CONSUMED_MARKER" SET "DETAIL" = ? WHERE "BATCH_ID" = ? AND "STATUS" = ?',
         ["MethodMismatchError: ...", 4, "LANDED"]),
    ]  # fmt: skip


def test_renumbering_overtaken_batches_is_one_transaction_keeping_their_order() -> None:
    fresh = iter([(10, 1), (11, 1)])  # the sequence's next values
    overtaken = (
        'SELECT "BATCH_ID" FROM "STREAM_CONSUMED_MARKER" WHERE "STATUS" = ? AND "BATCH_ID" >='
    )
    session = RecordingSession(
        {
            overtaken: lambda params: [(2,), (4,)],  # two LANDED batches, the first overtaken
            CONSUME[1]: lambda params: [next(fresh)],
        }
    )
    assert SqlStore(session).renumber_overtaken() is True
    statements = [query for query, _ in session.calls]
    assert statements[0] == "BEGIN"
    assert statements[-1] == "COMMIT"
    assert not any(s.lstrip().upper().startswith(DDL) for s in statements)
    moves = [(q.split()[1], p) for q, p in session.calls if q.startswith("UPDATE")]
    assert moves == [
        ('"STREAM_CONSUMED_MARKER"', [10, 2, "LANDED"]),
        ('"LANDED_READINGS"', [10, 2]),
        ('"STREAM_CONSUMED_MARKER"', [11, 4, "LANDED"]),
        ('"LANDED_READINGS"', [11, 4]),
    ]


def test_nothing_overtaken_renumbers_nothing() -> None:
    session = RecordingSession()  # the SELECT of overtaken batches finds none
    assert SqlStore(session).renumber_overtaken() is False
    statements = [query for query, _ in session.calls]
    assert statements[0] == "BEGIN"
    assert statements[-1] == "ROLLBACK"
    assert not any(s.startswith("UPDATE") for s in statements)
