"""The warehouse path against a recording double: the apply_in_pandas calls and the transaction.

No local engine runs UDTFs, so a double records every DataFrame call and
statement; the functions handed to ``apply_in_pandas`` are then run on pandas
and must equal the partition functions. (The SQL itself runs for real on the
embedded engine in the backfill and reconcile suites.)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from functools import partial
from typing import Any
from unittest import mock

import numpy as np
import pandas as pd
import pytest

import energy_integral as ei
from energy_integral_snowflake.batch import Policy, state_to_json
from energy_integral_snowflake.partition import MERGED, OUTPUT_COLUMNS, integrate_partition
from energy_integral_snowflake.schema import tables
from energy_integral_snowflake.statements import CHUNK_ROWS
from energy_integral_snowflake.warehouse import Restated, SqlWarehouse, Window, Writes
from energy_integral_snowflake.warehouse_snowflake import (
    CHUNK_SCHEMA,
    OUTPUT_SCHEMA,
    chunk_partition,
    offsets_partition,
    on_warehouse,
    straight_partition,
)

DDL = ("CREATE", "ALTER", "DROP", "TRUNCATE", "GRANT", "PUT")
NOW = dt.datetime(2026, 1, 2)


class Frame:
    """A DataFrame double: each call returns a new frame and is logged on the session."""

    def __init__(self, session: RecordingSession, origin: str) -> None:
        self.session, self.origin = session, origin

    def _log(self, name: str, *args: Any, **kwargs: Any) -> Frame:
        self.session.log.append((self.origin, name, args, kwargs))
        return Frame(self.session, f"{self.origin}.{name}")

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return partial(self._log, name)

    def __getitem__(self, column: str) -> Any:
        from snowflake.snowpark.functions import col

        return col(column)

    def group_by(self, *columns: str) -> Any:
        frame = self._log("group_by", *columns)
        return Grouped(frame)

    def collect(self) -> list[dict[str, Any]]:
        self.session.log.append((self.origin, "collect", (), {}))
        return self.session.answers(self.origin)

    @property
    def write(self) -> Any:
        frame = self._log("write")
        return frame

    @property
    def table_name(self) -> str:
        return f'"STAGED_{self.origin.upper().replace(".", "_")}"'


class Grouped:
    def __init__(self, frame: Frame) -> None:
        self.frame = frame

    def apply_in_pandas(self, func: Any, output_schema: Any, **kwargs: Any) -> Frame:
        self.frame.session.udtfs.append((self.frame.origin, func, output_schema, kwargs))
        return self.frame._log("apply_in_pandas", func, output_schema, **kwargs)

    def agg(self, *columns: Any) -> Frame:
        return self.frame._log("agg", *columns)


class _Sql:
    def __init__(self, rows: list[Any]) -> None:
        self.rows = rows

    def collect(self) -> list[Any]:
        return self.rows


class RecordingSession:
    def __init__(self, finals: list[dict[str, Any]], counts: list[dict[str, Any]]) -> None:
        self.log: list[tuple[str, str, tuple[Any, ...], dict[str, Any]]] = []
        self.udtfs: list[tuple[str, Any, Any, dict[str, Any]]] = []
        self.statements: list[tuple[str, list[Any] | None]] = []
        self.finals, self.counts = finals, counts

    def answers(self, origin: str) -> list[dict[str, Any]]:
        return self.counts if ".agg" in origin else self.finals

    def frame_or_answer(self, query: str) -> Any:
        """The windows' rows as a DataFrame; the final states and counts as rows."""
        if query.startswith('SELECT s."ID"'):
            return Frame(self, "rows")
        if "QUALIFY ROW_NUMBER()" in query:
            return _Sql([(r["METER_ID"], r["STATE"]) for r in self.finals])
        if 'GROUP BY "METER_ID"' in query:
            return _Sql([(r["METER_ID"], r["OK"], r["MERGED"], r["N"]) for r in self.counts])
        if query.startswith(("INSERT", "MERGE", "UPDATE", "DELETE")):
            return _Sql([(1,)])  # one row changed
        return _Sql([])

    def table(self, name: str) -> Frame:
        self.log.append(("session", "table", (name,), {}))
        self.statements.append((f"<table {name}>", None))
        return Frame(self, f"table({name})")

    def create_dataframe(self, rows: Sequence[Any], schema: Any) -> Frame:
        self.log.append(("session", "create_dataframe", (list(rows), schema), {}))
        self.statements.append((f"<create_dataframe of {len(rows)} rows>", None))
        return Frame(self, "windows")

    def sql(self, query: str, params: Sequence[Any] | None = None) -> Any:
        self.statements.append((query, None if params is None else list(params)))
        return self.frame_or_answer(query)


def _names(schema: Any) -> list[str]:
    return [f.name for f in schema.fields]


def _windows() -> list[Window]:
    empty = ei.CumulativeState.empty("trapezoid")
    anchor = ei.CumulativeState("trapezoid", first_ts=0, first_power=1.0, last_ts=10**12,
                                last_power=2.0, energy=0.5, count=3)  # fmt: skip
    return [
        Window("a", None, dt.datetime(2026, 1, 2), empty, empty),
        Window("b", dt.datetime(1970, 1, 1, 0, 16, 40), None, anchor, anchor),
    ]


def _readings() -> pd.DataFrame:
    r = ei.generate_readings(1, periods=200, cadence="20min", seed=2, duplicate_fraction=0.05)
    frame: pd.DataFrame = r.to_pandas()
    return frame.assign(ID=np.arange(len(frame)), INCOMING=None)


@pytest.mark.parametrize("method", ["trapezoid", "right"])
def test_straight_backfill_is_one_apply_in_pandas_grouped_by_meter(method: str) -> None:
    state = state_to_json(ei.CumulativeState("trapezoid", first_ts=0, first_power=1.0,
                                             last_ts=0, last_power=1.0, count=1))  # fmt: skip
    session = RecordingSession([{"METER_ID": "a", "STATE": state}],
                               [{"METER_ID": "a", "OK": 6, "MERGED": 1, "N": 9}])  # fmt: skip
    policy = Policy(method, "1h")
    restated = SqlWarehouse(session, partitions=on_warehouse()).integrate(
        _windows(), policy, chunked=False
    )
    [(origin, func, schema, options)] = session.udtfs
    assert origin.endswith(".group_by")
    assert next(e for e in session.log if e[1] == "group_by")[2] == ("METER_ID",)
    assert _names(schema) == list(OUTPUT_COLUMNS) == [n for n, _ in OUTPUT_SCHEMA]
    assert options["imports"] == [
        "@ENERGY_INTEGRAL_STAGE/src.zip",
        "@ENERGY_INTEGRAL_STAGE/procedure.zip",
    ]
    assert {"pandas", "numpy", "scipy"} <= set(options["packages"])
    assert "cloudpickle" in options["packages"]  # unpinned (snowpark-python #4377)
    assert func.func is straight_partition
    assert func.keywords == {"policy": policy}
    frame = _readings()
    pd.testing.assert_frame_equal(func(frame), integrate_partition(frame, policy))
    # The UDTF output is cached (DDL, before any BEGIN) and only states and counts come back.
    calls = [name for _, name, _, _ in session.log]
    assert "cache_result" in calls
    assert "collect" not in calls
    reads = [q for q, _ in session.statements if '"STAGED_ROWS_GROUP_BY' in q]
    assert len(reads) == 2  # the final states and the counts, read from the cached table
    assert restated.states["a"].count == 1
    assert restated.states["b"] == _windows()[1].incoming  # no rows: its incoming state
    assert restated.integrated == {"a": 7, "b": 0}  # merged rows were integrated too
    assert restated.merged == 1
    assert restated.rejected == 2
    [(_, _, (spec, _), _)] = [e for e in session.log if e[1] == "create_dataframe"]
    assert [row[0] for row in spec] == ["a", "b"]
    assert spec[1][4] == state_to_json(_windows()[1].incoming)


def test_chunked_backfill_groups_by_meter_and_day_then_folds_per_meter() -> None:
    session = RecordingSession([], [])
    policy = Policy("left")
    SqlWarehouse(session, partitions=on_warehouse()).integrate(_windows(), policy, chunked=True)
    groups = [e[2] for e in session.log if e[1] == "group_by"]
    # chunks per (meter, day), then their fold per meter (the counts are read in SQL)
    assert groups == [("METER_ID", "CHUNK"), ("METER_ID",)]
    (_, chunk_fn, out, _), (_, fold_fn, folded, _) = session.udtfs
    assert (chunk_fn.func, fold_fn.func) == (chunk_partition, offsets_partition)
    assert _names(out) == list(OUTPUT_COLUMNS)
    assert _names(folded) == [n for n, _ in CHUNK_SCHEMA]
    frame = _readings()
    pd.testing.assert_frame_equal(
        chunk_fn(frame), integrate_partition(frame, policy, from_empty=True)
    )
    joins = [e for e in session.log if e[1] == "join"]
    assert joins[-1][3] == {"on": ["METER_ID", "CHUNK"], "how": "left"}


def _writes(session: RecordingSession, n_states: int = 1) -> Writes:
    windows = _windows()
    restated = Restated({w.meter: w.incoming for w in windows}, {"a": 0, "b": 0}, 0,
                        rows=Frame(session, "restated"), windows=Frame(session, "win"))  # fmt: skip
    return Writes(
        batch_id=7, method="trapezoid", windows=windows, restated=restated,
        states=[(f"m{i}", "trapezoid", "{}", 7, NOW) for i in range(n_states)],
        resolved=[(3, "11", "late", "restated", 7, NOW)],
        audit=[(7, "b", "trapezoid", "RECONCILED", None, None, 0.5, 0.5, 0.0, 0, NOW)],
        marker=(7, NOW, NOW, 0, 0, 0, 2, None, None, None, 0.0, 0.1, "trapezoid", "RECONCILED",
                None),
        now=NOW,
    )  # fmt: skip


def test_commit_is_one_transaction_without_ddl() -> None:
    session = RecordingSession([], [])
    assert SqlWarehouse(session).commit(_writes(session)) == "committed"
    sql = [q for q, _ in session.statements if not q.startswith("<")]
    assert sql[0] == "BEGIN"
    assert sql[-1] == "COMMIT"
    assert not any(q.lstrip().upper().startswith(DDL) for q in sql)
    for q, params in session.statements:
        assert q.count("?") == len(params or []), q
    deletes = [q for q in sql if q.startswith('DELETE FROM "INTEGRAL_SUM_VALUES"')]
    assert len(deletes) == 1
    assert '"BATCH_ID" <> ?' in deletes[0]
    assert 'USING "STAGED_WIN" AS w' in deletes[0]  # the windows' own table
    inserts = [q.split("(")[0].strip() for q in sql if q.startswith(("INSERT", "MERGE"))]
    assert inserts == [
        'INSERT INTO "STREAM_CONSUMED_MARKER"',  # the claim: only while no batch is LANDED
        'MERGE INTO "INTEGRAL_SUM_VALUES" AS t USING',
        'INSERT INTO "QUARANTINED_READINGS"',
        'MERGE INTO "METER_STATE" AS t USING',
        'INSERT INTO "RESOLVED_READINGS"',
        'INSERT INTO "RECONCILIATION_AUDIT"',
    ]
    claim = next(q for q in sql if q.startswith('INSERT INTO "STREAM_CONSUMED_MARKER"'))
    assert claim.endswith(
        'WHERE NOT EXISTS (SELECT 1 FROM "STREAM_CONSUMED_MARKER" AS e WHERE e."STATUS" = ?)'
    )
    # Results from REASON = '' alone; the quarantine from the rest, less merged rows.
    [(merge, merge_params)] = [(q, p) for q, p in session.statements
                               if q.startswith('MERGE INTO "INTEGRAL_SUM_VALUES"')]  # fmt: skip
    assert 'FROM "STAGED_RESTATED" WHERE "REASON" = \'\')' in merge
    assert merge_params == ["trapezoid", 7, "2026-01-02 00:00:00.000000000"]
    [(quarantine, params)] = [(q, p) for q, p in session.statements
                              if q.startswith('INSERT INTO "QUARANTINED_READINGS"')]  # fmt: skip
    assert quarantine.endswith('FROM "STAGED_RESTATED" WHERE "REASON" NOT IN (\'\', ?)')
    assert params is not None
    assert params[-1] == MERGED


class _ShowTasks(RecordingSession):
    """Answers ``SHOW TASKS`` with the given rows (as Snowpark returns them: lower-case names)."""

    def __init__(self, rows: list[Any]) -> None:
        super().__init__([], [])
        self.rows = rows

    def sql(self, query: str, params: Sequence[Any] | None = None) -> Any:
        super().sql(query, params)
        return mock.Mock(collect=mock.Mock(return_value=self.rows))


@pytest.mark.parametrize(("state", "started"), [("started", True), ("suspended", False)])
def test_the_stream_task_state_comes_from_show_tasks(state: str, started: bool) -> None:
    from snowflake.snowpark import Row

    rows = [
        Row(name="INTEGRATE1STREAM_TASK", state="started"),  # LIKE reads "_" as any character
        Row(name="INTEGRATE_STREAM_TASK", state=state),
    ]
    session = _ShowTasks(rows)
    assert SqlWarehouse(session).stream_task_started() is started
    assert session.statements == [("SHOW TASKS LIKE 'INTEGRATE_STREAM_TASK' IN SCHEMA", None)]


def test_a_missing_stream_task_is_not_started() -> None:
    assert SqlWarehouse(_ShowTasks([])).stream_task_started() is False


def test_many_state_rows_are_staged_before_the_transaction() -> None:
    session = RecordingSession([], [])
    writes = _writes(session, n_states=CHUNK_ROWS + 1)
    SqlWarehouse(session).commit(writes)
    order = [q for q, _ in session.statements if not q.startswith("<table")]
    assert order[:2] == [f"<create_dataframe of {CHUNK_ROWS + 1} rows>", "BEGIN"]
    [(rows, schema)] = [e[2] for e in session.log if e[1] == "create_dataframe"]
    assert rows == writes.states
    assert [f.name for f in schema.fields] == list(tables().state.column_names)
    merges = [(q, p) for q, p in session.statements if q.startswith('MERGE INTO "METER_STATE"')]
    assert len(merges) == 1
    assert 'FROM "STAGED_WINDOWS_CACHE_RESULT") AS s ON' in merges[0][0]
    assert merges[0][1] is None
