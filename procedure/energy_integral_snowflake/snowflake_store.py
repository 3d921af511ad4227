"""The procedure's tables on real Snowflake: the stream, transactions and MERGE.

Every statement goes through ``session.sql(text, params=[...])``: identifiers
are quoted from :mod:`.schema` (never user text), values are always bind
parameters (``?``). Nothing between ``BEGIN`` and ``COMMIT`` is DDL — no
``create_dataframe`` (it makes a temporary table above 512 cells) and no
``write_pandas`` (a temporary stage) — since DDL would commit the open
transaction; rows travel as bound ``VALUES`` lists instead, or, when there
are many, through a temporary table written before the transaction.

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
states. Each set of rows is one bound ``VALUES`` list, or, above
:data:`CHUNK_ROWS` rows, a scoped temporary table staged before ``BEGIN`` and
read by one statement. Each statement is idempotent on its own too, so even
a run that died between them (impossible inside the transaction) would redo
cleanly.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

import energy_integral as ei

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
    "SnowflakeStore",
    "insert_from_sql",
    "insert_values_sql",
    "merge_from_sql",
    "merge_sql",
    "stage_rows",
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


def stage_rows(session: Any, table: Table, rows: Sequence[tuple[Any, ...]]) -> Any:
    """More than :data:`CHUNK_ROWS` rows, written now to a scoped temporary table (or None).

    One statement reading that table replaces a bound statement per chunk (a
    round trip each: thousands for a backlog of a million readings). Creating it
    is DDL, which would commit an open transaction, so call this before
    ``BEGIN``; a run that dies later leaves only a temporary table, dropped with
    the session. Keep the returned Snowpark ``Table`` referenced until
    ``COMMIT``: Snowpark may drop a cached table once nothing refers to it, and
    a ``DROP`` is DDL too.
    """
    if len(rows) <= CHUNK_ROWS:
        return None
    frame = session.create_dataframe(list(rows), schema=table.struct_type())
    return frame.cache_result()


def write_rows_sql(
    session: Any, table: Table, rows: Sequence[tuple[Any, ...]], staged: list[Any], *, merge: bool
) -> list[tuple[str, Sequence[Any] | None]]:
    """Statements that ``MERGE`` (or ``INSERT``) ``rows`` into ``table``.

    Up to :data:`CHUNK_ROWS` rows travel as one bound ``VALUES`` list; more are
    staged now (see :func:`stage_rows`; the table is appended to ``staged``)
    and read by one statement. Call it before ``BEGIN``.
    """
    table_now = stage_rows(session, table, rows)
    if table_now is not None:
        staged.append(table_now)
        source = str(table_now.table_name)
        return [((merge_from_sql if merge else insert_from_sql)(table, source), None)]
    if not rows:
        return []
    make = merge_sql if merge else insert_values_sql
    return [(make(table, len(rows)), [v for r in rows for v in r])]


class SnowflakeStore:
    """A :class:`~.store.Store` on a real Snowflake session (see the module docstring)."""

    def __init__(self, session: Any, names: ObjectNames = DEFAULT_NAMES) -> None:
        self.session = session
        self.names = names
        self.tables = tables(names)

    def _run(self, sql: str, params: Sequence[Any] | None = None) -> list[Any]:
        rows: list[Any] = self.session.sql(sql, params=list(params) if params else None).collect()
        return rows

    def _frame(self, sql: str, params: Sequence[Any]) -> pd.DataFrame:
        frame: pd.DataFrame = self.session.sql(sql, params=list(params)).to_pandas()
        return frame

    def _transaction(self, statements: Sequence[tuple[str, Sequence[Any] | None]]) -> list[Any]:
        """Run ``statements`` between BEGIN and COMMIT; ROLLBACK on any error."""
        self._run("BEGIN")
        try:
            out = [self._run(sql, params) for sql, params in statements]
        except BaseException:
            self._run("ROLLBACK")
            raise
        self._run("COMMIT")
        return out

    # -- phase 1 -------------------------------------------------------------------------
    def consume(self) -> int | None:
        """Land the stream's rows and write the marker row in one transaction."""
        t, stream = self.tables, _q(self.names.stream)
        land_cols = ", ".join(_q(c) for c in t.landing.column_names)
        marker_cols = ", ".join(
            _q(c)
            for c in (
                "BATCH_ID",
                "CONSUMED_AT",
                "ROWS_READ",
                "MIN_TIMESTAMP",
                "MAX_TIMESTAMP",
                "LAST_SOURCE_ID",
                "STATUS",
            )
        )
        self._run("BEGIN")
        try:
            top = self._run(f'SELECT COALESCE(MAX("BATCH_ID"), 0) + 1 FROM {t.marker.quoted}')
            batch_id = int(top[0][0])
            self._run(
                f"INSERT INTO {t.landing.quoted} ({land_cols}) SELECT ?, METADATA$ROW_ID, "
                f'METADATA$ACTION, METADATA$ISUPDATE, "ID", "METER_ID", "TIMESTAMP", "KW", '
                f"{_NOW} FROM {stream}",
                [batch_id],
            )
            marked = self._run(
                f"INSERT INTO {t.marker.quoted} ({marker_cols}) SELECT ?, {_NOW}, COUNT(*), "
                f'MIN("TIMESTAMP"), MAX("TIMESTAMP"), MAX("ID"), ? FROM {stream} '
                "HAVING COUNT(*) > 0",
                [batch_id, STATUS_LANDED],
            )
        except BaseException:
            self._run("ROLLBACK")
            raise
        self._run("COMMIT")
        return batch_id if marked and int(marked[0][0]) > 0 else None

    # -- phase 2 -------------------------------------------------------------------------
    def pending_batches(self) -> list[int]:
        """``LANDED`` batches, oldest first."""
        rows = self._run(
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
        landed = self._frame(
            f'SELECT {cols} FROM {t.landing.quoted} WHERE "BATCH_ID" = ? ORDER BY "ID", "ACTION"',
            [batch_id],
        )
        states = self._frame(
            f'SELECT "METER_ID", "STATE" FROM {t.state.quoted} WHERE "METHOD" = ? '
            'AND "BATCH_ID" < ? QUALIFY ROW_NUMBER() OVER (PARTITION BY "METER_ID" '
            'ORDER BY "BATCH_ID" DESC) = 1',
            [method, batch_id],
        )
        return landed, {
            str(m): state_from_json(s)
            for m, s in zip(states["METER_ID"], states["STATE"], strict=True)
        }

    def commit_batch(self, outcome: BatchOutcome, duration_s: float) -> None:
        """All of a batch's phase-2 writes in one transaction."""
        t, b = self.tables, outcome.batch_id
        staged: list[Any] = []  # referenced until COMMIT (see stage_rows)
        statements = write_rows_sql(self.session, t.results, outcome.results, staged, merge=True)
        statements.append((f'DELETE FROM {t.quarantine.quoted} WHERE "BATCH_ID" = ?', [b]))
        statements += write_rows_sql(
            self.session, t.quarantine, outcome.quarantine, staged, merge=False
        )
        statements += write_rows_sql(self.session, t.state, outcome.states, staged, merge=True)
        statements.append(
            (
                f'UPDATE {t.marker.quoted} SET "STATUS" = ?, "PROCESSED_AT" = {_NOW}, '
                '"ROWS_INTEGRATED" = ?, "ROWS_REJECTED" = ?, "METERS" = ?, "KWH_ADDED" = ?, '
                '"DURATION_S" = ?, "METHOD" = ? WHERE "BATCH_ID" = ?',
                [STATUS_INTEGRATED, outcome.rows_integrated, outcome.rows_rejected,
                 outcome.meters, outcome.kwh_added, float(duration_s), outcome.method, b],
            )
        )  # fmt: skip
        statements.append(
            (
                f'DELETE FROM {t.state.quoted} USING (SELECT "METER_ID", "METHOD", '
                f'MAX("BATCH_ID") AS "KEEP" FROM {t.state.quoted} WHERE "BATCH_ID" <= ? '
                'GROUP BY "METER_ID", "METHOD") AS k '
                f'WHERE {t.state.quoted}."METER_ID" = k."METER_ID" '
                f'AND {t.state.quoted}."METHOD" = k."METHOD" '
                f'AND {t.state.quoted}."BATCH_ID" < k."KEEP"',
                [b],
            )
        )
        self._transaction(statements)
