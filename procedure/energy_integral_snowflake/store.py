"""The procedure's tables, in SQL: the one store, on Snowflake and on the embedded engine.

:func:`~energy_integral_snowflake.procedure.run_procedure` speaks to a
:class:`SqlStore`, which speaks to a session through
``session.sql(text, params=[...]).collect()`` / ``.to_pandas()`` only: a
Snowpark session on Snowflake, or an :class:`~.embedded.EmbeddedSession`
(DuckDB) locally, which runs the same statements.

The contract (the fault-injection tests check it on real transactions):

1. :meth:`SqlStore.consume` moves whatever the stream holds into the landing
   table under a new batch id and records the batch in the marker as
   ``LANDED``, all or nothing; the stream advances exactly then.
2. :meth:`SqlStore.load_batch` returns the landed rows of a batch and each of
   its meters' states *before* the batch (the state rows of earlier batches) —
   never anything the batch itself wrote, so a redone batch reloads exactly as
   it first did.
3. :meth:`SqlStore.commit_batch` writes results, quarantine and states,
   marks the batch ``INTEGRATED`` and prunes superseded state rows in one
   transaction, each statement idempotent on its own too.

Every statement goes through :func:`run`: identifiers are quoted from
:mod:`.schema` (never user text), values are always bind parameters (``?``),
times travel as text with nanoseconds. Nothing between ``BEGIN`` and
``COMMIT`` is DDL — no ``create_dataframe`` (it makes a temporary table above
512 cells) and no ``write_pandas`` (a temporary stage) — since DDL would
commit the open transaction on Snowflake; rows travel as bound ``VALUES``
lists instead, or, when there are many, through a temporary table written
before the transaction (:func:`stage_rows`).

Phase 1, one transaction::

    BEGIN
    SELECT next batch id from the marker
    INSERT INTO landing SELECT ?, METADATA$ROW_ID, METADATA$ACTION, ... FROM stream
    INSERT INTO marker SELECT ?, ..., COUNT(*), ... FROM stream HAVING COUNT(*) > 0
    COMMIT            -- the stream's offset advances here, and only here

Both inserts read the same stream snapshot (repeatable read inside a
transaction), so the landing rows and the marker's counts agree.

Phase 2, one transaction per batch: ``MERGE`` results on (METER_ID,
TIMESTAMP, METHOD) and states on (METER_ID, METHOD, BATCH_ID), replace the
batch's quarantine rows, mark the batch ``INTEGRATED``, prune superseded
states.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

import energy_integral as ei

from ._values import Rows, bind
from .batch import BatchOutcome, state_from_json
from .schema import (
    DEFAULT_NAMES,
    STATUS_INTEGRATED,
    STATUS_LANDED,
    ObjectNames,
    Table,
    quote_identifier,
    tables,
)

__all__ = [
    "CHUNK_ROWS",
    "SqlStore",
    "frame",
    "insert_from_sql",
    "insert_values_sql",
    "latest_states",
    "merge_from_sql",
    "merge_sql",
    "next_batch_id",
    "prune_states_sql",
    "run",
    "stage_rows",
    "staged_name",
    "transaction",
    "write_rows_sql",
]

#: Most rows per bound VALUES list (keeps a statement's bind count in the thousands);
#: more are staged in a temporary table (see :func:`stage_rows`).
CHUNK_ROWS = 500

_q = quote_identifier
_NOW = "CURRENT_TIMESTAMP()::TIMESTAMP_NTZ(9)"


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


def next_batch_id(session: Any, marker: Table) -> int:
    """The id the next batch takes: one above the marker's largest."""
    return int(run(session, f'SELECT COALESCE(MAX("BATCH_ID"), 0) + 1 FROM {marker.quoted}')[0][0])


def latest_states(
    session: Any,
    state: Table,
    method: str,
    meters: Sequence[str] | None = None,
    *,
    before_batch: int | None = None,
) -> dict[str, ei.CumulativeState]:
    """Each meter's latest ``method`` state (of a batch before ``before_batch``, if given).

    Meters without a state are left out; ``meters`` None means every meter.
    """
    earlier = "" if before_batch is None else 'AND "BATCH_ID" < ? '
    rows = frame(
        session,
        f'SELECT "METER_ID", "STATE" FROM {state.quoted} WHERE "METHOD" = ? {earlier}'
        'QUALIFY ROW_NUMBER() OVER (PARTITION BY "METER_ID" ORDER BY "BATCH_ID" DESC) = 1',
        [method] if before_batch is None else [method, before_batch],
    )
    wanted = None if meters is None else set(meters)
    return {
        str(m): state_from_json(s)
        for m, s in zip(rows["METER_ID"], rows["STATE"], strict=True)
        if wanted is None or m in wanted
    }


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


class SqlStore:
    """The procedure's store on any session that runs Snowflake SQL (see the module docstring)."""

    def __init__(self, session: Any, names: ObjectNames = DEFAULT_NAMES) -> None:
        self.session = session
        self.names = names
        self.tables = tables(names)

    # -- phase 1 -------------------------------------------------------------------------
    def consume(self) -> int | None:
        """Land the stream's rows and write the marker row in one transaction."""
        t, stream, session = self.tables, _q(self.names.stream), self.session
        land_cols = ", ".join(_q(c) for c in t.landing.column_names)
        marker_cols = ", ".join(
            _q(c)
            for c in ("BATCH_ID", "CONSUMED_AT", "ROWS_READ", "MIN_TIMESTAMP", "MAX_TIMESTAMP",
                      "LAST_SOURCE_ID", "STATUS")
        )  # fmt: skip
        run(session, "BEGIN")
        try:
            batch_id = next_batch_id(session, t.marker)
            run(
                session,
                f"INSERT INTO {t.landing.quoted} ({land_cols}) SELECT ?, METADATA$ROW_ID, "
                f'METADATA$ACTION, METADATA$ISUPDATE, "ID", "METER_ID", "TIMESTAMP", "KW", '
                f"{_NOW} FROM {stream}",
                [batch_id],
            )
            marked = run(
                session,
                f"INSERT INTO {t.marker.quoted} ({marker_cols}) SELECT ?, {_NOW}, COUNT(*), "
                f'MIN("TIMESTAMP"), MAX("TIMESTAMP"), MAX("ID"), ? FROM {stream} '
                "HAVING COUNT(*) > 0",
                [batch_id, STATUS_LANDED],
            )
        except BaseException:
            run(session, "ROLLBACK")
            raise
        run(session, "COMMIT")
        return batch_id if marked and int(marked[0][0]) > 0 else None

    # -- phase 2 -------------------------------------------------------------------------
    def pending_batches(self) -> list[int]:
        """``LANDED`` batches, oldest first."""
        rows = run(
            self.session,
            f'SELECT "BATCH_ID" FROM {self.tables.marker.quoted} WHERE "STATUS" = ? '
            'ORDER BY "BATCH_ID"',
            [STATUS_LANDED],
        )
        return [int(r[0]) for r in rows]

    def load_batch(
        self, batch_id: int, method: str
    ) -> tuple[pd.DataFrame, dict[str, ei.CumulativeState]]:
        """Landed rows of the batch, and each meter's latest state of an earlier batch."""
        t = self.tables
        cols = ", ".join(_q(c) for c in t.landing.column_names)
        landed = frame(
            self.session,
            f'SELECT {cols} FROM {t.landing.quoted} WHERE "BATCH_ID" = ? ORDER BY "ID", "ACTION"',
            [batch_id],
        )
        return landed, latest_states(self.session, t.state, method, before_batch=batch_id)

    def commit_batch(self, outcome: BatchOutcome, duration_s: float) -> None:
        """All of a batch's phase-2 writes in one transaction."""
        t, b, session = self.tables, outcome.batch_id, self.session
        staged: list[Any] = []  # referenced until COMMIT (see stage_rows)
        statements = write_rows_sql(session, t.results, outcome.results, staged, merge=True)
        statements.append((f'DELETE FROM {t.quarantine.quoted} WHERE "BATCH_ID" = ?', [b]))
        statements += write_rows_sql(session, t.quarantine, outcome.quarantine, staged, merge=False)
        statements += write_rows_sql(session, t.state, outcome.states, staged, merge=True)
        statements.append(
            (
                f'UPDATE {t.marker.quoted} SET "STATUS" = ?, "PROCESSED_AT" = {_NOW}, '
                '"ROWS_INTEGRATED" = ?, "ROWS_REJECTED" = ?, "METERS" = ?, "KWH_ADDED" = ?, '
                '"DURATION_S" = ?, "METHOD" = ? WHERE "BATCH_ID" = ?',
                [STATUS_INTEGRATED, outcome.rows_integrated, outcome.rows_rejected,
                 outcome.meters, outcome.kwh_added, float(duration_s), outcome.method, b],
            )
        )  # fmt: skip
        statements.append(prune_states_sql(t.state, outcome.method, b))
        transaction(session, statements)


def prune_states_sql(state: Table, method: str, batch_id: int) -> tuple[str, list[Any]]:
    """Delete the ``method`` states that batch ``batch_id`` superseded (it wrote newer ones)."""
    s = state.quoted
    return (
        f'DELETE FROM {s} WHERE "METHOD" = ? AND "BATCH_ID" < ? AND "METER_ID" IN '
        f'(SELECT "METER_ID" FROM {s} WHERE "BATCH_ID" = ? AND "METHOD" = ?)',
        [method, batch_id, batch_id, method],
    )
