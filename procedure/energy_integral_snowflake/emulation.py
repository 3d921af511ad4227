"""What DuckDB lacks of the Snowflake statements the scripts and the procedure issue.

The embedded engine (:mod:`.embedded`) hands every statement to DuckDB
after transpiling it, except the ones below, which it answers here from a
small catalog kept in the database itself (so several sessions on one file
share it):

==============================================  ==============================================
statement                                       emulation
==============================================  ==============================================
``CREATE STAGE`` / ``DROP STAGE``               a catalog row (nothing is uploaded locally)
``CREATE STREAM ... ON TABLE t``                an *offset table* (a copy of ``t`` as of the
                                                offset) and a view of the change since then
``SHOW STREAMS`` / ``DROP STREAM``              the catalog row / the row, view and copy go
``SYSTEM$STREAM_HAS_DATA('s')``                 ``EXISTS (SELECT 1 FROM s)``
``CREATE PROCEDURE ... HANDLER = 'm.f'``        a catalog row: the handler and its arguments
``CALL p(...)``                                 ``m.f(session, ...)``: named, defaults
``DROP PROCEDURE``                              the catalog row goes
``CREATE TASK ... WHEN c AS body``              a catalog row, created ``suspended``
``ALTER TASK ... RESUME / SUSPEND``             the row's state
``EXECUTE TASK`` / :func:`run_task`             ``c``, then ``body`` if ``c`` holds; a history
                                                row either way
``SHOW TASKS`` / ``DROP TASK``                  the catalog row
``SYSTEM$CURRENT_USER_TASK_NAME()``             the task whose body is running, else NULL
``TABLE(INFORMATION_SCHEMA.TASK_HISTORY(..))``  the history rows, newest first (both this and
                                                ``SYSTEM$STREAM_HAS_DATA`` are rewritten where
                                                they stand, by :func:`.transpile.translate`)
==============================================  ==============================================

The stream is a *standard* stream, computed the way Snowflake defines one:
the net change between the table's version at the offset and its version
now. Rows of the table and not of the copy are ``INSERT``\\ s, rows of the
copy and not of the table ``DELETE``\\ s (both as multisets, so a row
inserted and deleted since the offset is in neither); an ``INSERT`` and a
``DELETE`` of the same row identity (the table's first column, its natural
key: ``ID``) are an update, both with ``METADATA$ISUPDATE`` true and the
same ``METADATA$ROW_ID``. A SELECT never moves the offset; a transaction in
which a DML statement read the stream moves it, when it commits, to the
table as that transaction saw it (:func:`advance_streams`) — past all its
rows, those its WHERE filtered out too. DuckDB's snapshot isolation gives
the rest: every read of the stream inside one transaction sees the same
rows, and a ROLLBACK moves nothing. Two transactions that both consume one
stream conflict on its catalog row, so the second one's COMMIT fails.
"""

from __future__ import annotations

import importlib
import json
import re
from collections.abc import Callable, Sequence
from typing import Any

from sqlglot import exp

from ._values import utc_now
from .schema import quote_identifier as _quote
from .sql import (
    NAME_PATTERN,
    identifier_name,
    like_matcher,
    properties,
    split_top_level,
    words,
)

__all__ = ["CATALOG", "advance_streams", "emulate", "run_task", "stream_names"]

#: The catalog tables, created by every new connection when missing.
CATALOG = (
    'CREATE TABLE IF NOT EXISTS "__EI_STAGES" ("NAME" VARCHAR PRIMARY KEY, "CREATED_ON" TIMESTAMP)',
    'CREATE TABLE IF NOT EXISTS "__EI_STREAMS" ("NAME" VARCHAR PRIMARY KEY, "TABLE_NAME" '
    'VARCHAR, "MODE" VARCHAR, "COMMENT" VARCHAR, "CREATED_ON" TIMESTAMP, "VERSION" BIGINT)',
    'CREATE TABLE IF NOT EXISTS "__EI_PROCEDURES" ("NAME" VARCHAR PRIMARY KEY, "HANDLER" '
    'VARCHAR, "ARGUMENTS" VARCHAR, "CREATED_ON" TIMESTAMP)',
    'CREATE TABLE IF NOT EXISTS "__EI_TASKS" ("NAME" VARCHAR PRIMARY KEY, "STATE" VARCHAR, '
    '"SCHEDULE" VARCHAR, "CONDITION" VARCHAR, "DEFINITION" VARCHAR, "COMMENT" VARCHAR, '
    '"SUSPEND_AFTER" BIGINT, "CREATED_ON" TIMESTAMP)',
    'CREATE TABLE IF NOT EXISTS "__EI_TASK_HISTORY" ("NAME" VARCHAR, "QUERY_TEXT" VARCHAR, '
    '"CONDITION_TEXT" VARCHAR, "STATE" VARCHAR, "ERROR_CODE" VARCHAR, "ERROR_MESSAGE" VARCHAR, '
    '"SCHEDULED_TIME" TIMESTAMP, "QUERY_START_TIME" TIMESTAMP, "COMPLETED_TIME" TIMESTAMP, '
    '"RETURN_VALUE" VARCHAR)',
)

#: (column names, rows): what an emulated statement returns.
Answer = tuple[list[str], list[tuple[Any, ...]]]

_NAME = NAME_PATTERN
_STATEMENTS: list[tuple[re.Pattern[str], Callable[..., Answer]]] = []


def _statement(pattern: str) -> Callable[[Callable[..., Answer]], Callable[..., Answer]]:
    def register(function: Callable[..., Answer]) -> Callable[..., Answer]:
        _STATEMENTS.append((re.compile(pattern, re.IGNORECASE | re.DOTALL), function))
        return function

    return register


def status(text: str) -> Answer:
    """The one-row answer Snowflake gives a statement that returns no rows."""
    return ["status"], [(text,)]


def _catalog_row(session: Any, table: str, values: Sequence[Any]) -> None:
    """Write ``values`` as the catalog row of their name (the first), replacing an older one."""
    session.execute(f'DELETE FROM "{table}" WHERE "NAME" = ?', [values[0]])
    session.execute(f'INSERT INTO "{table}" VALUES ({", ".join("?" * len(values))})', list(values))


def emulate(session: Any, text: str, params: Sequence[Any]) -> Answer | None:
    """The answer to ``text`` if it is one of the emulated statements, else None."""
    for pattern, function in _STATEMENTS:
        match = pattern.match(text.strip())
        if match:
            return function(session, match, params)
    return None


# -- stages ----------------------------------------------------------------------------------
@_statement(rf"CREATE\s+(?:OR\s+REPLACE\s+)?STAGE\s+(?:IF\s+NOT\s+EXISTS\s+)?{_NAME}")
def _create_stage(session: Any, match: re.Match[str], params: Sequence[Any]) -> Answer:
    name = identifier_name(match.group(1))
    _catalog_row(session, "__EI_STAGES", [name, utc_now()])
    return status(f"Stage area {name} successfully created.")


_CATALOG_OF = {"STAGE": "__EI_STAGES", "PROCEDURE": "__EI_PROCEDURES", "TASK": "__EI_TASKS"}


@_statement(rf"DROP\s+(STAGE|PROCEDURE|TASK)\s+(?:IF\s+EXISTS\s+)?{_NAME}")
def _drop(session: Any, match: re.Match[str], params: Sequence[Any]) -> Answer:
    """DROP of an object that is only a catalog row (a procedure's signature is ignored)."""
    table, name = _CATALOG_OF[match.group(1).upper()], identifier_name(match.group(2))
    session.execute(f'DELETE FROM "{table}" WHERE "NAME" = ?', [name])
    return status(f"{name} successfully dropped.")


# -- streams ---------------------------------------------------------------------------------
def _offset_table(stream: str) -> str:
    return _quote(f"__EI_OFFSET_{stream}")


def stream_names(session: Any) -> set[str]:
    """The upper-cased names of the streams in the catalog."""
    return {str(r[0]).upper() for r in session.execute('SELECT "NAME" FROM "__EI_STREAMS"')[1]}


@_statement(
    rf"CREATE\s+(OR\s+REPLACE\s+)?STREAM\s+(IF\s+NOT\s+EXISTS\s+)?{_NAME}\s+ON\s+TABLE\s+{_NAME}(.*)"
)
def _create_stream(session: Any, match: re.Match[str], params: Sequence[Any]) -> Answer:
    replace, if_not_exists = match.group(1), match.group(2)
    name, table = identifier_name(match.group(3)), identifier_name(match.group(4))
    rest = match.group(5)
    if if_not_exists and name.upper() in stream_names(session):
        return status(f"{name} already exists, statement succeeded.")
    if not replace and name.upper() in stream_names(session):
        raise ValueError(f"Object '{name}' already exists.")
    options = properties(rest)
    if options.get("APPEND_ONLY", "FALSE").upper() == "TRUE":
        raise NotImplementedError("APPEND_ONLY streams are not emulated; use a standard stream")
    columns = [str(r[0]) for r in session.execute(f"DESCRIBE {_quote(table)}")[1]]
    initial = options.get("SHOW_INITIAL_ROWS", "FALSE").upper() == "TRUE"
    offset = _offset_table(name)
    session.execute(
        f"CREATE OR REPLACE TABLE {offset} AS SELECT * FROM {_quote(table)}"
        + (" WHERE FALSE" if initial else "")
    )
    session.execute(
        f"CREATE OR REPLACE VIEW {_quote(name)} AS {_stream_sql(table, offset, columns)}"
    )
    _catalog_row(session, "__EI_STREAMS",
                 [name, table, "DEFAULT", options.get("COMMENT", ""), utc_now(), 0])  # fmt: skip
    return status(f"Stream {name} successfully created.")


def _stream_sql(table: str, offset: str, columns: Sequence[str]) -> str:
    r"""The stream's rows: the net change from ``offset`` (the table then) to ``table`` (now).

    One aggregation gives each distinct row's net count :math:`w` (+1 per copy in the
    table, -1 per copy in ``offset``): :math:`w > 0` is :math:`w` ``INSERT``\ s, :math:`w < 0`
    :math:`|w|` ``DELETE``\ s (both ``EXCEPT ALL``\ s in one pass); a key with both, an update.
    """
    cols, key, now = ", ".join(_quote(c) for c in columns), _quote(columns[0]), _quote(table)
    deletes = f'SELECT {key} FROM d WHERE "__W" < 0'  # few: hashed, probed by the inserts
    both = f'SELECT {key} FROM d WHERE "__W" > 0 AND {key} IN ({deletes})'
    return (
        f'WITH d AS MATERIALIZED (SELECT {cols}, SUM("__W") AS "__W" FROM '
        f'(SELECT {cols}, 1 AS "__W" FROM {now} UNION ALL SELECT {cols}, -1 FROM {offset}) '
        f'GROUP BY {cols} HAVING SUM("__W") <> 0) '
        f"SELECT {cols}, CASE WHEN \"__W\" > 0 THEN 'INSERT' ELSE 'DELETE' END "
        f'AS "METADATA$ACTION", COALESCE({key} IS NOT NULL AND {key} IN ({both}), FALSE) '
        f'AS "METADATA$ISUPDATE", CAST({key} AS VARCHAR) AS "METADATA$ROW_ID" '
        f'FROM d, range(CAST(ABS("__W") AS BIGINT))'
    )


def advance_streams(session: Any, streams: Sequence[str]) -> None:
    """Move each stream's offset to its table as the open transaction sees it.

    Bumping the catalog row's version makes two transactions that consume the
    same stream conflict (DuckDB refuses the second write of a row), so only
    one of them commits.
    """
    for stream in streams:
        [(name, table)] = session.execute(
            'SELECT "NAME", "TABLE_NAME" FROM "__EI_STREAMS" WHERE UPPER("NAME") = ?', [stream]
        )[1]
        session.execute(
            'UPDATE "__EI_STREAMS" SET "VERSION" = "VERSION" + 1 WHERE "NAME" = ?', [name]
        )
        offset = _offset_table(name)
        session.execute(f"DELETE FROM {offset}")
        session.execute(f"INSERT INTO {offset} SELECT * FROM {_quote(table)}")


@_statement(rf"DROP\s+STREAM\s+(?:IF\s+EXISTS\s+)?{_NAME}")
def _drop_stream(session: Any, match: re.Match[str], params: Sequence[Any]) -> Answer:
    name = identifier_name(match.group(1))
    session.execute(f"DROP VIEW IF EXISTS {_quote(name)}")
    session.execute(f"DROP TABLE IF EXISTS {_offset_table(name)}")
    session.execute('DELETE FROM "__EI_STREAMS" WHERE "NAME" = ?', [name])
    return status(f"{name} successfully dropped.")


# -- procedures ------------------------------------------------------------------------------
@_statement(rf"CREATE\s+(?:OR\s+REPLACE\s+)?PROCEDURE\s+{_NAME}\s*\((.*)")
def _create_procedure(session: Any, match: re.Match[str], params: Sequence[Any]) -> Answer:
    name, rest = identifier_name(match.group(1)), match.group(2)
    depth, end = 1, 0
    while depth and end < len(rest):  # up to the closing parenthesis of the argument list
        depth += (rest[end] == "(") - (rest[end] == ")")
        end += 1
    end -= 1
    arguments = []
    for part in split_top_level(rest[:end]):
        found = re.match(rf"{_NAME}\s+([A-Za-z_]+(?:\s*\([^)]*\))?)(?:\s+DEFAULT\s+(.*))?$", part,
                         re.IGNORECASE | re.DOTALL)  # fmt: skip
        if found is None:
            raise ValueError(f"cannot read the argument {part!r} of procedure {name}")
        arguments.append([identifier_name(found.group(1)), found.group(2), found.group(3)])
    handler = properties(rest[end:]).get("HANDLER")
    if not handler:
        raise ValueError(f"procedure {name} names no HANDLER")
    _catalog_row(session, "__EI_PROCEDURES", [name, handler, json.dumps(arguments), utc_now()])
    return status(f"Function {name} successfully created.")


@_statement(rf"CALL\s+{_NAME}\s*\((.*)\)\s*$")
def _call(session: Any, match: re.Match[str], params: Sequence[Any]) -> Answer:
    """``CALL p(positional, ..., NAME => value, ...)``: the handler with its arguments."""
    import sqlglot

    name = identifier_name(match.group(1))
    found = session.execute(
        'SELECT "HANDLER", "ARGUMENTS" FROM "__EI_PROCEDURES" WHERE UPPER("NAME") = UPPER(?)',
        [name],
    )[1]
    if not found:
        raise ValueError(f"Unknown procedure {name}: create it first (setup.sql)")
    handler, arguments = found[0][0], json.loads(found[0][1])
    given = sqlglot.parse_one(f"SELECT F({match.group(2)})", read="snowflake").expressions[0]
    values: dict[str, str] = {}
    for position, argument in enumerate(given.expressions):
        if isinstance(argument, exp.Kwarg):
            values[argument.this.name.upper()] = argument.expression.sql("duckdb")
        else:
            values[arguments[position][0]] = argument.sql("duckdb")
    unknown = sorted(set(values) - {a[0] for a in arguments})
    if unknown:
        raise ValueError(f"procedure {name} has no argument {unknown}")
    missing = [a[0] for a in arguments if a[0] not in values and a[2] is None]
    if missing:
        raise ValueError(f"procedure {name} needs argument(s) {missing}")
    names = [a[0] for a in arguments]
    texts = [values.get(a[0]) or sqlglot.transpile(a[2], "snowflake", "duckdb")[0]
             for a in arguments]  # fmt: skip
    evaluated = session.execute(f"SELECT {', '.join(texts)}", params)[1][0] if names else ()
    module, _, attribute = handler.rpartition(".")
    function = getattr(importlib.import_module(module), attribute)
    was_open = session.in_transaction
    try:
        result = function(session, **{n.lower(): v for n, v in zip(names, evaluated, strict=True)})
    except BaseException:
        if session.in_transaction and not was_open:  # a failed call's own transaction rolls back
            session.sql("ROLLBACK").collect()
        raise
    return [name], [(result,)]


# -- tasks -----------------------------------------------------------------------------------
@_statement(rf"CREATE\s+(?:OR\s+REPLACE\s+)?TASK\s+(?:IF\s+NOT\s+EXISTS\s+)?{_NAME}(.*)")
def _create_task(session: Any, match: re.Match[str], params: Sequence[Any]) -> Answer:
    name, rest = identifier_name(match.group(1)), match.group(2)
    found = words(rest)
    as_at = next(p for w, p in found if w == "AS")
    when_at = next((p for w, p in found if w == "WHEN" and p < as_at), None)
    head = rest[: when_at if when_at is not None else as_at]
    condition = None if when_at is None else rest[when_at + 4 : as_at].strip()
    options = properties(head)
    _catalog_row(session, "__EI_TASKS",
                 [name, "suspended", options.get("SCHEDULE"), condition, rest[as_at + 2 :].strip(),
                  options.get("COMMENT", ""),
                  int(options.get("SUSPEND_TASK_AFTER_NUM_FAILURES", 10)), utc_now()])  # fmt: skip
    return status(f"Task {name} successfully created.")


def _task(session: Any, name: str) -> tuple[Any, ...]:
    found = session.execute(
        'SELECT "NAME", "CONDITION", "DEFINITION", "SUSPEND_AFTER" FROM "__EI_TASKS" '
        'WHERE UPPER("NAME") = UPPER(?)',
        [name],
    )[1]
    if not found:
        raise ValueError(f"Task {name} does not exist or not authorized.")
    return tuple(found[0])


@_statement(rf"ALTER\s+TASK\s+(?:IF\s+EXISTS\s+)?{_NAME}\s+(RESUME|SUSPEND)\s*$")
def _alter_task(session: Any, match: re.Match[str], params: Sequence[Any]) -> Answer:
    name = _task(session, identifier_name(match.group(1)))[0]
    state = "started" if match.group(2).upper() == "RESUME" else "suspended"
    session.execute('UPDATE "__EI_TASKS" SET "STATE" = ? WHERE "NAME" = ?', [state, name])
    return status("Statement executed successfully.")


@_statement(r"SELECT\s+SYSTEM\$CURRENT_USER_TASK_NAME\(\)\s*$")
def _current_task(session: Any, match: re.Match[str], params: Sequence[Any]) -> Answer:
    """The task whose body is running on this session (NULL outside one)."""
    return ["SYSTEM$CURRENT_USER_TASK_NAME()"], [(getattr(session, "current_task", None),)]


@_statement(rf"EXECUTE\s+TASK\s+{_NAME}\s*$")
def _execute_task(session: Any, match: re.Match[str], params: Sequence[Any]) -> Answer:
    run_task(session, identifier_name(match.group(1)))
    return status("Statement executed successfully.")


def run_task(session: Any, name: str) -> str | None:
    """One run of task ``name``: its ``WHEN`` condition, then its body if the condition holds.

    Every run leaves a history row: ``SKIPPED`` when the condition is false,
    ``SUCCEEDED`` with the body's return value, or ``FAILED`` with the error
    (raised again). After ``SUSPEND_TASK_AFTER_NUM_FAILURES`` failures in a
    row the task is suspended. Returns the body's return value (None if skipped).
    """
    task, condition, body, suspend_after = _task(session, name)
    scheduled = utc_now()

    def record(state: str, value: str | None = None, error: BaseException | None = None) -> None:
        failure = (None, None) if error is None else (type(error).__name__, str(error))
        session.execute('INSERT INTO "__EI_TASK_HISTORY" VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
                        [task, body, condition, state, *failure, scheduled, scheduled, utc_now(),
                         value])  # fmt: skip

    if condition is not None and not session.sql(f"SELECT {condition}").collect()[0][0]:
        record("SKIPPED")
        return None
    try:
        session.current_task = task
        rows = session.sql(body).collect()
    except Exception as exc:
        record("FAILED", error=exc)
        recent = session.execute(
            'SELECT "STATE" FROM "__EI_TASK_HISTORY" WHERE "NAME" = ? AND "STATE" <> ? '
            'ORDER BY "SCHEDULED_TIME" DESC LIMIT ?',
            [task, "SKIPPED", int(suspend_after)],
        )[1]
        if len(recent) == suspend_after and all(r[0] == "FAILED" for r in recent):
            session.execute('UPDATE "__EI_TASKS" SET "STATE" = ? WHERE "NAME" = ?',
                            ["suspended", task])  # fmt: skip
        raise
    finally:
        session.current_task = None
    value = None if not rows or rows[0][0] is None else str(rows[0][0])
    record("SUCCEEDED", value)
    return value


# -- SHOW: the catalog rows, with the columns Snowflake's SHOW has (lower-case names) --------
_SHOW = {
    "STREAMS": 'SELECT "CREATED_ON" AS "created_on", "NAME" AS "name", ? AS "database_name", '
    '\'MAIN\' AS "schema_name", "COMMENT" AS "comment", "TABLE_NAME" AS "table_name", \'Table\' '
    'AS "source_type", \'DELTA\' AS "type", \'false\' AS "stale", "MODE" AS "mode", NULL AS '
    '"stale_after" FROM "__EI_STREAMS" ORDER BY "NAME"',
    "TASKS": 'SELECT "CREATED_ON" AS "created_on", "NAME" AS "name", ? AS "database_name", '
    '\'MAIN\' AS "schema_name", "COMMENT" AS "comment", NULL AS "warehouse", "SCHEDULE" AS '
    '"schedule", \'[]\' AS "predecessors", "STATE" AS "state", "DEFINITION" AS "definition", '
    '"CONDITION" AS "condition" FROM "__EI_TASKS" ORDER BY "NAME"',
}


@_statement(r"SHOW\s+(STREAMS|TASKS)(?:\s+LIKE\s+('(?:[^']|'')*'))?")
def _show(session: Any, match: re.Match[str], params: Sequence[Any]) -> Answer:
    keep = like_matcher(match.group(2))
    columns, rows = session.execute(_SHOW[match.group(1).upper()], [session.database_name])
    return columns, [r for r in rows if keep(r[1])]
