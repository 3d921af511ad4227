"""The procedure's own SQL on an embedded database: DuckDB, with Snowflake's statements transpiled.

The local engine behind the demo, the examples, the benchmark and the
tests. It runs the very statements the adapter sends to Snowflake — the
store's, the warehouse's and those of ``procedure/sql/*.sql`` — behind the
surface Snowpark has, ``session.sql(text, params=[...]).collect()`` and
``.to_pandas()``:

>>> session = connect()
>>> setup(session)
>>> session.sql("INSERT INTO RANDOM_VALUES (ID, METER_ID, TIMESTAMP, KW) VALUES (?, ?, ?, ?)",
...             params=[1, "m1", "2026-01-01 00:00:00.000000001", 2.5]).collect()
[(1,)]
>>> session.sql("SELECT METADATA$ACTION, TIMESTAMP FROM RANDOM_VALUES_STREAM").to_pandas()
  METADATA$ACTION                     TIMESTAMP
0          INSERT 2026-01-01 00:00:00.000000001

Each statement is parsed as Snowflake SQL and written as DuckDB SQL by
sqlglot, with the few fixes DuckDB needs (:mod:`.transpile`). What DuckDB has
no counterpart for — the stream, procedures, the task, stages —
:mod:`.emulation` answers.

Transactions are DuckDB's own (snapshot isolation): ``BEGIN``, ``COMMIT`` and
``ROLLBACK`` pass through, so a failure inside a transaction leaves every
table as it was. Timestamps bound as parameters travel as text with all
nine decimals, so nothing is cut to microseconds on the way in.

Why DuckDB: it is embedded (a file or memory, no server), its ``MERGE`` is
native since 1.4, its transactions are real, and several sessions (threads)
may share one database file, so overlapping calls can be tested as they
would run on Snowflake.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from ._values import bind, result_frame, times_named
from .emulation import CATALOG, advance_streams, emulate, run_task, status, stream_names
from .schema import DEFAULT_NAMES, ObjectNames, Table
from .sql import DEFAULT_STAGE, statements
from .transpile import STAGED_PREFIX, Statement, translate, translated

__all__ = ["EmbeddedSession", "Row", "connect", "describe", "setup", "tick"]

_CATALOG_LOCK = threading.Lock()
_STAGED = itertools.count(1)


class Row(tuple):  # type: ignore[type-arg]
    """A result row as Snowpark has it: a tuple, also indexed by column name."""

    _fields: tuple[str, ...]

    def __new__(cls, values: Sequence[Any], fields: Sequence[str]) -> Row:
        row = super().__new__(cls, values)
        row._fields = tuple(fields)
        return row

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return super().__getitem__(self._fields.index(key))
        return super().__getitem__(key)

    def as_dict(self) -> dict[str, Any]:
        """The row as ``{column: value}``."""
        return dict(zip(self._fields, self, strict=True))


class Result:
    """A statement not run yet, as ``session.sql(...)`` returns it (Snowpark's are lazy too)."""

    def __init__(self, session: EmbeddedSession, text: str, params: Sequence[Any]) -> None:
        self._session, self._text, self._params = session, text, params

    def collect(self) -> list[Row]:
        """Run the statement; its rows."""
        names, rows = self._session._run(self._text, self._params, frame=False)
        return [Row(r, names) for r in rows]

    def to_pandas(self) -> pd.DataFrame:
        """Run the statement; its rows as a DataFrame (timestamps as ``datetime64[ns]``)."""
        frame: pd.DataFrame = self._session._run(self._text, self._params, frame=True)
        return frame


class EmbeddedSession:
    """One connection to an embedded pipeline database (see the module docstring)."""

    #: Backfill and reconcile run their partition functions in this process here.
    is_embedded = True

    def __init__(self, connection: Any, database_name: str, path: str | None = None) -> None:
        self.connection = connection
        self.database_name = database_name
        self.path = path
        self.current_task: str | None = None  # set while a task's body runs (emulation)
        self._in_transaction = False
        self._consumed: set[str] = set()
        self._staged: list[str] = []

    def sql(self, text: str, params: Sequence[Any] | None = None) -> Result:
        """The statement ``text`` (Snowflake SQL, ``?`` for each of ``params``), not run yet."""
        return Result(self, text, [bind(v) for v in params or ()])

    @property
    def in_transaction(self) -> bool:
        """Whether a ``BEGIN`` is open on this session."""
        return self._in_transaction

    @staticmethod
    def is_conflict(exc: BaseException) -> bool:
        """Whether ``exc`` is DuckDB refusing a write another transaction made first."""
        import duckdb

        return isinstance(exc, duckdb.TransactionException) and "onflict" in str(exc)

    def table(self, name: str) -> Result:
        """Every row of table ``name`` (as Snowpark's ``session.table(name)``, for reading)."""
        return self.sql(f'SELECT * FROM "{name}"')

    def execute(
        self, text: str, params: Sequence[Any] | None = None
    ) -> tuple[list[str], list[tuple[Any, ...]]]:
        """DuckDB SQL as it is; the column names and rows (for the emulation)."""
        cursor = self.connection.execute(text, list(params or ()))
        if cursor.description is None:
            return [], []
        return [d[0] for d in cursor.description], cursor.fetchall()

    def stage_rows(self, table: Table, rows: Sequence[tuple[Any, ...]] | pd.DataFrame) -> str:
        """``rows`` (in ``table``'s columns) as a temporary view, cast to its types; its name.

        The view reads the frame where it lies (DuckDB scans pandas columns in
        place), so the rows are converted once, by the statement that writes
        them, and not first copied into a table; keep them unchanged until then.
        Dropped at the next COMMIT or ROLLBACK, as Snowpark's scoped temporary
        tables go with the procedure that made them.
        """
        given = (
            rows
            if isinstance(rows, pd.DataFrame)
            else pd.DataFrame(list(rows), columns=list(table.column_names))
        )
        columns: dict[str, Any] = {}  # the caller's frame stays as it is
        casts = []
        for column in table.columns:
            kind = translate(f"SELECT CAST(NULL AS {column.sql_type})").sql
            kind = kind[len("SELECT CAST(NULL AS ") : -1]
            values = given[column.name]
            if kind == "TIMESTAMP_NS" and values.dtype != "datetime64[ns]":
                values = pd.to_datetime(values).astype("datetime64[ns]")
            columns[column.name] = values
            casts.append(f'CAST("{column.name}" AS {kind}) AS "{column.name}"')
        frame = pd.DataFrame(columns, copy=False)
        name = f"{STAGED_PREFIX}{next(_STAGED)}"
        self.connection.register(f"{name}_FRAME", frame)
        self._staged.append(name)
        self.connection.execute(
            f'CREATE TEMP VIEW "{name}" AS SELECT {", ".join(casts)} FROM "{name}_FRAME"'
        )
        return f'"{name}"'

    def close(self) -> None:
        """Close the connection (an open transaction is rolled back)."""
        self.connection.close()

    # -- running -------------------------------------------------------------------------
    def _run(self, text: str, params: Sequence[Any], *, frame: bool) -> Any:
        answer = emulate(self, text, params)
        if answer is None:
            statement = translated(text)
            if statement.kind == "begin":
                self.connection.execute(statement.sql)
                self._in_transaction = True
            elif statement.kind in ("commit", "rollback"):
                self._end(commit=statement.kind == "commit")
            else:
                return self._execute(statement, text, params, frame=frame)
            answer = status("Statement executed successfully.")
        names, rows = answer
        return pd.DataFrame(rows, columns=names) if frame else answer

    def _execute(
        self, statement: Statement, text: str, params: Sequence[Any], *, frame: bool
    ) -> Any:
        """Run a translated statement that is not BEGIN, COMMIT or ROLLBACK."""
        consumes = statement.kind == "dml" and statement.tables & stream_names(self)
        if consumes and not self._in_transaction:  # autocommit: its own transaction
            self._run("BEGIN", (), frame=False)
            try:
                out = self._run(text, params, frame=frame)
            except BaseException:
                self._end(commit=False)
                raise
            self._end(commit=True)
            return out
        if consumes:
            self._consumed |= set(statement.tables & stream_names(self))
        import duckdb

        with times_named(params, duckdb.ConversionException):
            if frame:
                relation = self.connection.sql(statement.sql, params=list(params) or None)
                return result_frame(relation, self.connection)
            cursor = self.connection.execute(statement.sql, list(params))
        if cursor.description is None:
            return [], []
        return [d[0] for d in cursor.description], cursor.fetchall()

    def _end(self, *, commit: bool) -> None:
        """COMMIT (moving the offsets of the streams this transaction consumed) or ROLLBACK."""
        try:
            if not self._in_transaction:
                return  # as on Snowflake, ending no transaction is not an error
            if commit:
                try:
                    advance_streams(self, sorted(self._consumed))
                    self.connection.execute("COMMIT")
                except BaseException:
                    self.connection.execute("ROLLBACK")
                    raise
            else:
                self.connection.execute("ROLLBACK")
        finally:
            self._in_transaction = False
            self._consumed.clear()
            for name in self._staged:
                self.connection.execute(f'DROP VIEW IF EXISTS "{name}"')
                self.connection.unregister(f"{name}_FRAME")
            self._staged.clear()


def connect(path: str | Path | None = None) -> EmbeddedSession:
    """A session on a fresh in-memory pipeline, or on the database file ``path``.

    Several sessions (e.g. one per thread) may open the same file in one
    process; they share its tables and transactions isolate them. Times are UTC.
    """
    import duckdb

    connection = duckdb.connect(":memory:" if path is None else str(path))
    connection.execute("SET TimeZone = 'UTC'")
    with _CATALOG_LOCK:  # two threads creating the catalog of one file at once would conflict
        for statement in CATALOG:
            connection.execute(statement)
    name = "MEMORY" if path is None else Path(path).stem.upper()
    return EmbeddedSession(connection, name, None if path is None else str(path))


def describe(session: EmbeddedSession) -> str:
    """What ``session`` runs on, in words (the demo prints it)."""
    from importlib.metadata import version

    where = "in memory" if session.database_name == "MEMORY" else f"file {session.path}"
    return (
        f"DuckDB {version('duckdb')} ({where}), with the Snowflake SQL transpiled by "
        f"sqlglot {version('sqlglot')}"
    )


def setup(
    session: EmbeddedSession, names: ObjectNames = DEFAULT_NAMES, stage: str = DEFAULT_STAGE
) -> None:
    """Run ``procedure/sql/setup.sql`` with ``names``: tables, stream, procedures and task."""
    for statement in statements("setup", names, stage):
        session.sql(statement).collect()


def tick(session: EmbeddedSession, task: str = DEFAULT_NAMES.task) -> str | None:
    """One scheduled run of ``task``: its body only ``WHEN SYSTEM$STREAM_HAS_DATA(...)`` holds.

    The scheduler here is the caller: a run happens whether the task is
    started or suspended. Returns what the body returned (the procedure's
    JSON summary), or None when the condition was false; a failing body
    raises, after its run is recorded as ``FAILED`` in ``TASK_HISTORY``.
    """
    return run_task(session, task)
