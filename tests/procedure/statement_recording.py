"""A Snowpark session double that records the store's statements, for the statement tests.

It answers each ``session.sql(text, params)`` by the statement's start, stages
rows as a pseudo-statement (``create_dataframe(...).cache_result()``), and
:func:`assert_well_formed` checks what it recorded: binds match placeholders,
every statement parses as Snowflake SQL, nothing between ``BEGIN`` and
``COMMIT`` is DDL, and no transaction is left open.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any
from unittest import mock

import pandas as pd
import sqlglot

__all__ = ["DDL", "VERSION", "RecordingSession", "assert_well_formed"]

DDL = ("CREATE", "ALTER", "DROP", "TRUNCATE", "GRANT", "REVOKE", "COMMENT", "UNDROP", "PUT")
#: The start of the count of a batch's states (the version its claim compares).
VERSION = 'SELECT COUNT(*), COALESCE(SUM("BATCH_ID")'


class _Result:
    def __init__(self, rows: list[Any] | pd.DataFrame) -> None:
        self.rows = rows

    def collect(self) -> list[Any]:
        assert isinstance(self.rows, list), "a SELECT of rows was collected as a list"
        return self.rows

    def to_pandas(self) -> pd.DataFrame:
        assert isinstance(self.rows, pd.DataFrame), "rows were fetched as a frame"
        return self.rows


class RecordingSession:
    """Records ``session.sql(text, params)`` calls; answers by the statement's start."""

    def __init__(self, answers: dict[str, Callable[[Sequence[Any]], Any]] | None = None) -> None:
        self.calls: list[tuple[str, list[Any] | None]] = []
        self.answers = answers or {}
        self.staged: list[tuple[list[Any], Any]] = []

    def sql(self, query: str, params: Sequence[Any] | None = None) -> _Result:
        self.calls.append((query, None if params is None else list(params)))
        matches = [prefix for prefix in self.answers if query.startswith(prefix)]
        if matches:  # the most specific prefix answers
            return _Result(self.answers[max(matches, key=len)](params or []))
        if query.startswith(VERSION):  # no state rows: none counted, ids summing to 0
            return _Result([(0, 0)])
        return _Result([(1,)] if query.startswith(("INSERT", "MERGE", "UPDATE", "DELETE")) else [])

    def create_dataframe(self, rows: list[Any], schema: Any) -> Any:
        """A DataFrame double; ``cache_result()`` stages it, recorded as a pseudo-statement."""
        self.staged.append((rows, schema))
        name = f'"DB"."PUBLIC"."SNOWPARK_TEMP_TABLE_{len(self.staged)}"'

        def cache_result() -> Any:
            self.calls.append((f"<stage {len(rows)} rows as {name}>", None))
            return mock.Mock(table_name=name)

        return mock.Mock(cache_result=cache_result)

    @property
    def statements(self) -> list[str]:
        return [q for q, _ in self.calls]


def assert_well_formed(session: RecordingSession) -> None:
    """Binds match placeholders, every statement parses, no DDL inside a transaction."""
    open_tx = False
    for sql, params in session.calls:
        assert sql.count("?") == len(params or []), sql
        if sql in ("BEGIN", "COMMIT", "ROLLBACK"):
            open_tx = sql == "BEGIN"
            continue
        if sql.startswith("<stage"):  # creates a temporary table: DDL
            assert not open_tx, f"staging in a transaction: {sql}"
            continue
        assert not (open_tx and sql.lstrip().upper().startswith(DDL)), (
            f"DDL in a transaction: {sql}"
        )
        sqlglot.parse_one(sql.replace("?", "NULL"), read="snowflake")
    assert not open_tx, "a transaction was left open"
