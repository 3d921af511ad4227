"""The statements every engine runs: binds, transactions, and many rows written at once.

One place for what the store and the warehouse both do through
``session.sql(text, params=[...])``: run a statement with bind parameters
(:func:`run`, :func:`frame`), a BEGIN/COMMIT block that rolls back on any
error (:func:`transaction`), and ``MERGE``/``INSERT`` of many rows — up to
:data:`CHUNK_ROWS` as one bound ``VALUES`` list, more through a temporary table
staged before the transaction (:func:`write_rows_sql`, :func:`stage_rows`).
Identifiers come quoted from :mod:`.schema`, values are always ``?`` binds.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd

from ._values import Rows, bind
from .schema import Table, quote_identifier

__all__ = [
    "CHUNK_ROWS",
    "COMMITTED",
    "STALE",
    "TAKEN",
    "claimed_transaction",
    "frame",
    "guarded_transaction",
    "insert_from_sql",
    "insert_values_sql",
    "lost_race",
    "merge_from_sql",
    "merge_sql",
    "run",
    "stage_rows",
    "staged_name",
    "transaction",
    "write_rows_sql",
]

#: How a :func:`claimed_transaction` ended: committed; its claim taken by another call
#: (nothing written); or what it was computed from changed meanwhile (to compute again).
COMMITTED, TAKEN, STALE = "committed", "taken", "stale"

#: Most rows per bound VALUES list (keeps a statement's bind count in the thousands);
#: more are staged in a temporary table (see :func:`stage_rows`).
CHUNK_ROWS = 500

_q = quote_identifier


def _values_source(table: Table, n_rows: int) -> str:
    """``SELECT COLUMN1::type AS "A", ... FROM VALUES (?, ...), ...`` for ``n_rows`` rows."""
    casts = ", ".join(
        f"COLUMN{i}::{c.sql_type} AS {_q(c.name)}" for i, c in enumerate(table.columns, 1)
    )
    row = "(" + ", ".join("?" * len(table.columns)) + ")"
    return f"SELECT {casts} FROM VALUES {', '.join([row] * n_rows)}"


def merge_sql(table: Table, n_rows: int) -> str:
    """``MERGE`` of ``n_rows`` bound rows into ``table`` on its natural key."""
    return _merge(table, _values_source(table, n_rows))


def merge_from_sql(table: Table, source: str) -> str:
    """``MERGE`` of the rows of the table named ``source`` into ``table`` on its natural key.

    ``source`` is a name Snowpark generated (a staged DataFrame's table), never user text.
    """
    names = ", ".join(_q(c) for c in table.column_names)
    return _merge(table, f"SELECT {names} FROM {source}")


def _merge(table: Table, source: str) -> str:
    cols = table.column_names
    on = " AND ".join(f"t.{_q(k)} = s.{_q(k)}" for k in table.key)
    update = ", ".join(f"t.{_q(c)} = s.{_q(c)}" for c in cols if c not in table.key)
    names = ", ".join(_q(c) for c in cols)
    values = ", ".join(f"s.{_q(c)}" for c in cols)
    return (
        f"MERGE INTO {table.quoted} AS t USING ({source}) AS s ON {on} "
        f"WHEN MATCHED THEN UPDATE SET {update} "
        f"WHEN NOT MATCHED THEN INSERT ({names}) VALUES ({values})"
    )


def insert_values_sql(table: Table, n_rows: int) -> str:
    """``INSERT`` of ``n_rows`` bound rows into ``table``."""
    names = ", ".join(_q(c) for c in table.column_names)
    return f"INSERT INTO {table.quoted} ({names}) {_values_source(table, n_rows)}"


def insert_from_sql(table: Table, source: str) -> str:
    """``INSERT`` of the rows of the table named ``source`` (Snowpark's name) into ``table``."""
    names = ", ".join(_q(c) for c in table.column_names)
    return f"INSERT INTO {table.quoted} ({names}) SELECT {names} FROM {source}"


def run(session: Any, sql: str, params: Sequence[Any] | None = None) -> list[Any]:
    """Run one statement; its rows."""
    binds = [bind(v) for v in params] if params else None
    rows: list[Any] = session.sql(sql, params=binds).collect()
    return rows


def frame(session: Any, sql: str, params: Sequence[Any] | None = None) -> pd.DataFrame:
    """Run one query; its rows as a DataFrame."""
    binds = [bind(v) for v in params] if params else None
    out: pd.DataFrame = session.sql(sql, params=binds).to_pandas()
    return out


def transaction(session: Any, statements: Sequence[tuple[str, Sequence[Any] | None]]) -> None:
    """Run ``statements`` between BEGIN and COMMIT; ROLLBACK on any error."""
    run(session, "BEGIN")
    try:
        for sql, params in statements:
            run(session, sql, params)
    except BaseException:
        run(session, "ROLLBACK")
        raise
    run(session, "COMMIT")


def stage_rows(
    session: Any,
    table: Table,
    rows: Sequence[tuple[Any, ...]] | pd.DataFrame,
    *,
    always: bool = False,
) -> Any:
    """More than :data:`CHUNK_ROWS` rows (any number ``always``) in a temporary table, or None.

    One statement reading that table replaces a bound statement per chunk (a
    round trip each: thousands for a backlog of a million readings). Creating it
    is DDL, which would commit an open transaction, so call this before
    ``BEGIN``; a run that dies later leaves only a temporary table, dropped with
    the session. The embedded engine writes it directly
    (:meth:`~.embedded.EmbeddedSession.stage_rows`); on Snowflake it is a
    scoped temporary table of ``cache_result()`` — keep the returned handle
    referenced until ``COMMIT``: Snowpark may drop a cached table once nothing
    refers to it, and a ``DROP`` is DDL too.
    """
    if len(rows) <= CHUNK_ROWS and not always:
        return None
    direct = getattr(session, "stage_rows", None)
    if direct is not None:
        return direct(table, rows.frame if isinstance(rows, Rows) else rows)
    if isinstance(rows, pd.DataFrame):
        rows = Rows(rows)
    staged = session.create_dataframe(list(rows), schema=table.struct_type())
    return staged.cache_result()


def staged_name(staged: Any) -> str:
    """The table name of what :func:`stage_rows` returned."""
    return staged if isinstance(staged, str) else str(staged.table_name)


def write_rows_sql(
    session: Any, table: Table, rows: Sequence[tuple[Any, ...]], staged: list[Any], *, merge: bool
) -> list[tuple[str, Sequence[Any] | None]]:
    """Statements that ``MERGE`` (or ``INSERT``) ``rows`` into ``table``.

    Up to :data:`CHUNK_ROWS` rows travel as one bound ``VALUES`` list; more are
    staged now (see :func:`stage_rows`; the handle is appended to ``staged``)
    and read by one statement. Call it before ``BEGIN``.
    """
    handle = stage_rows(session, table, rows)
    if handle is not None:
        staged.append(handle)
        return [((merge_from_sql if merge else insert_from_sql)(table, staged_name(handle)), None)]
    if not rows:
        return []
    make = merge_sql if merge else insert_values_sql
    return [(make(table, len(rows)), [v for r in rows for v in r])]


def lost_race(session: Any, exc: BaseException) -> bool:
    """Whether ``exc`` is the engine refusing a write that another transaction made first.

    DuckDB refuses the second of two conflicting writes at once; Snowflake makes
    it wait for the lock instead, and then the claim's condition finds 0 rows.
    """
    check = getattr(session, "is_conflict", None)
    return bool(check is not None and check(exc))


def guarded_transaction(session: Any, body: Callable[[], str | None]) -> str:
    """``BEGIN``, ``body()``, ``COMMIT``: :data:`COMMITTED`.

    ``body`` returns None to commit, or an outcome (:data:`TAKEN`, :data:`STALE`)
    to roll back with and return. If the engine refuses a write because another
    transaction made it first (:func:`lost_race`), in the body or at the
    ``COMMIT``, everything rolls back: :data:`TAKEN`. Any other error rolls back
    and is raised.
    """
    run(session, "BEGIN")
    try:
        outcome = body()
        if outcome is not None:
            run(session, "ROLLBACK")
            return outcome
    except BaseException as exc:
        run(session, "ROLLBACK")
        if lost_race(session, exc):
            return TAKEN
        raise
    try:
        run(session, "COMMIT")
    except BaseException as exc:  # the engine has rolled back
        if lost_race(session, exc):
            return TAKEN
        raise
    return COMMITTED


def claimed_transaction(
    session: Any,
    claim: tuple[str, Sequence[Any]],
    writes: Sequence[tuple[str, Sequence[Any] | None]],
    still_valid: Callable[[], bool] | None = None,
) -> str:
    """``BEGIN``, the claim, ``still_valid()``, the writes, ``COMMIT``: :data:`COMMITTED`.

    The claim is a DML statement that must change a row (a compare-and-set). If
    it changes none, or the engine refuses a write because another transaction
    made it first (:func:`lost_race`), everything rolls back: :data:`TAKEN`. If
    ``still_valid`` (run inside the transaction, after the claim) says no, it
    rolls back: :data:`STALE`. Any other error rolls back and is raised.
    """

    def claimed() -> str | None:
        changed = run(session, *claim)
        if not changed or int(changed[0][0]) == 0:
            return TAKEN
        if still_valid is not None and not still_valid():
            return STALE
        for sql, params in writes:
            run(session, sql, params)
        return None

    return guarded_transaction(session, claimed)
