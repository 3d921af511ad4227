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
sqlglot, with the few fixes DuckDB needs (:func:`translate`): Snowflake's
types (``TIMESTAMP_NTZ(9)`` keeps nanoseconds: DuckDB's ``TIMESTAMP_NS``),
``FROM VALUES``'s column names ``COLUMN1, ...``, and ``MERGE``'s ``UPDATE SET``
without the target's qualifier. What DuckDB has no counterpart for — the
stream, procedures, the task, stages — :mod:`.emulation` answers.

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

import functools
import itertools
import re
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

import pandas as pd
import sqlglot
from sqlglot import exp

from ._frames import result_frame
from ._values import bind, times_named
from .emulation import CATALOG, advance_streams, emulate, run_task, stream_names
from .schema import DEFAULT_NAMES, ObjectNames, Table, quote_identifier
from .sql import DEFAULT_STAGE, statements

__all__ = ["EmbeddedSession", "Row", "connect", "describe", "setup", "tick", "translate"]

_CATALOG_LOCK = threading.Lock()
_STAGED = itertools.count(1)
_STAGED_NAME, _ANY_STAGED = re.compile(r'"__EI_STAGED_\d+"'), '"__EI_STAGED_0"'  # stage_rows' views


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


class Statement(NamedTuple):
    """A statement ready for DuckDB: its text, what kind it is, the tables it names."""

    sql: str
    kind: str  # "begin", "commit", "rollback", "dml" or "other"
    tables: frozenset[str]


def _duckdb_type(node: exp.DataType) -> exp.DataType | None:
    if node.this in (exp.DataType.Type.TIMESTAMPNTZ, exp.DataType.Type.TIMESTAMP):
        return exp.DataType.build("TIMESTAMP_NS", dialect="duckdb")
    if node.this == exp.DataType.Type.DECIMAL:
        params = [p.name for p in node.expressions]
        if len(params) < 2 or params[1] == "0":  # NUMBER, NUMBER(p), NUMBER(p, 0): integers
            return exp.DataType.build("BIGINT")
    return None


def _fix(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.DataType):
        return _duckdb_type(node) or node
    if (
        isinstance(node, exp.Values)
        and isinstance(node.parent, (exp.From, exp.Join))
        and not (node.alias_column_names)
    ):
        width = len(node.expressions[0].expressions) if node.expressions else 0
        columns = [exp.to_identifier(f"COLUMN{i}") for i in range(1, width + 1)]
        node.set("alias", exp.TableAlias(this=exp.to_identifier(node.alias or "_values"),
                                         columns=columns))  # fmt: skip
        return node
    if isinstance(node, exp.Column) and node.name.upper() == "NEXTVAL" and node.table:
        return exp.Anonymous(this="nextval", expressions=[exp.Literal.string(node.table)])
    if isinstance(node, exp.SequenceProperties):
        node.set("options", [])  # ORDER: DuckDB's sequences always increase, it has no word
    if isinstance(node, exp.Properties) and isinstance(node.parent, exp.Create):
        kept = [p for p in node.expressions if not isinstance(p, exp.SchemaCommentProperty)]
        node.set("expressions", kept)  # DuckDB's CREATE SEQUENCE takes no COMMENT
    if isinstance(node, exp.Update) and isinstance(node.parent, exp.When):
        for assignment in node.expressions:  # MERGE ... UPDATE SET t."KW" = ...: no qualifier
            if isinstance(assignment.this, exp.Column):
                assignment.this.set("table", None)
    return node


def _rewrite(tree: exp.Expression) -> exp.Expression:
    """``SYSTEM$STREAM_HAS_DATA`` and ``TASK_HISTORY`` in a parsed statement, for DuckDB."""

    def replace(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Anonymous) and node.name.upper() == "SYSTEM$STREAM_HAS_DATA":
            stream = node.expressions[0].name  # DuckDB resolves names case-insensitively
            return exp.Exists(this=sqlglot.parse_one(f"SELECT 1 FROM {quote_identifier(stream)}"))
        if isinstance(node, exp.TableFromRows):
            call = node.this.expression if isinstance(node.this, exp.Dot) else node.this
            if isinstance(call, exp.Anonymous) and call.name.upper() == "TASK_HISTORY":
                return _task_history(call, node.alias or "TASK_HISTORY")
        return node

    return tree.transform(replace)


def _task_history(call: exp.Anonymous, alias: str) -> exp.Expression:
    """The emulated ``TASK_HISTORY`` table function: the catalog's history rows, newest first."""
    options = {
        a.this.name.upper(): a.expression for a in call.expressions if isinstance(a, exp.Kwarg)
    }
    where = ""
    if "TASK_NAME" in options:
        task = options["TASK_NAME"].name.replace("'", "''")
        where = f"WHERE UPPER(\"NAME\") = UPPER('{task}')"
    limit = int(options["RESULT_LIMIT"].name) if "RESULT_LIMIT" in options else 100
    inner = (
        f'SELECT * FROM "__EI_TASK_HISTORY" {where} ORDER BY "SCHEDULED_TIME" DESC LIMIT {limit}'
    )
    query = sqlglot.parse_one(
        f"SELECT * FROM ({inner}) AS {quote_identifier(alias)}", read="duckdb"
    )
    table: exp.Expression = query.args["from_"].this
    return table


@functools.lru_cache(maxsize=1024)
def translate(text: str) -> Statement:
    """A Snowflake statement as DuckDB runs it (cached: the store repeats its statements).

    >>> translate('SELECT COLUMN1::TIMESTAMP_NTZ(9) AS "T" FROM VALUES (?)').sql
    'SELECT CAST(COLUMN1 AS TIMESTAMP_NS) AS "T" FROM (VALUES (?)) AS _values(COLUMN1)'
    """
    tree = sqlglot.parse_one(text, read="snowflake")
    kinds: dict[Any, str] = {
        exp.Transaction: "begin",
        exp.Commit: "commit",
        exp.Rollback: "rollback",
    }
    kind = kinds.get(type(tree))
    if kind is not None:
        return Statement({"begin": "BEGIN TRANSACTION"}.get(kind, kind.upper()), kind, frozenset())
    tree = _rewrite(tree.transform(_fix))
    dml = isinstance(tree, (exp.Insert, exp.Merge, exp.Update, exp.Delete))
    names = frozenset(t.name.upper() for t in tree.find_all(exp.Table))
    return Statement(tree.sql("duckdb"), "dml" if dml else "other", names)


def _translated(text: str) -> Statement:
    """:func:`translate`, with one name standing for a staged view (a new one each batch)."""
    staged = set(_STAGED_NAME.findall(text))
    if len(staged) != 1:
        return translate(text)
    [name] = staged
    general, anyone = translate(text.replace(name, _ANY_STAGED)), _ANY_STAGED.strip('"')
    tables = frozenset(name.strip('"') if t == anyone else t for t in general.tables)
    return Statement(general.sql.replace(_ANY_STAGED, name), general.kind, tables)


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
        name = f"__EI_STAGED_{next(_STAGED)}"
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
        if answer is not None:
            names, rows = answer
            return pd.DataFrame(rows, columns=names) if frame else answer
        statement = _translated(text)
        if statement.kind == "begin":
            self.connection.execute(statement.sql)
            self._in_transaction = True
            return _empty(frame)
        if statement.kind in ("commit", "rollback"):
            self._end(commit=statement.kind == "commit")
            return _empty(frame)
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


def _empty(frame: bool) -> Any:
    return (
        pd.DataFrame({"status": ["Statement executed successfully."]})
        if frame
        else (["status"], [("Statement executed successfully.",)])
    )


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
