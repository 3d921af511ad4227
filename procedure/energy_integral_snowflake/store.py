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

Every statement goes through :func:`~.statements.run`: identifiers are quoted from
:mod:`.schema` (never user text), values are always bind parameters (``?``),
times travel as text with nanoseconds. Nothing between ``BEGIN`` and
``COMMIT`` is DDL — no ``create_dataframe`` (it makes a temporary table above
512 cells) and no ``write_pandas`` (a temporary stage) — since DDL would
commit the open transaction on Snowflake; rows travel as bound ``VALUES``
lists instead, or, when there are many, through a temporary table written
before the transaction (:func:`~.statements.stage_rows`).

Phase 1, one transaction::

    BEGIN
    SELECT the next batch id (BATCH_ID_SEQUENCE.NEXTVAL)
    INSERT INTO landing SELECT ?, METADATA$ROW_ID, METADATA$ACTION, ... FROM stream
    INSERT INTO marker SELECT ?, ..., COUNT(*), ... FROM landing WHERE BATCH_ID = ?
                      HAVING COUNT(*) > 0
    COMMIT            -- the stream's offset advances here, and only here

The marker counts the rows the landing insert just wrote (a transaction reads
its own writes), so the two agree and the stream is read once: on Snowflake a
stream scan fewer, on the embedded engine one diff of the table fewer.

Phase 2, one transaction per batch: claim the batch (its marker row from
``LANDED`` to ``INTEGRATED``, while no earlier batch is ``LANDED``), check that
the states it was computed from are still the latest, ``MERGE`` results on
(METER_ID, TIMESTAMP, METHOD) and states on (METER_ID, METHOD, BATCH_ID),
replace the batch's quarantine rows, prune superseded states (see
:meth:`SqlStore.commit_batch`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

import energy_integral as ei

from .batch import BatchOutcome, state_from_json
from .landed import LANDED_COLUMNS, LANDED_SELECT, lookup_sql, match_row_ids
from .schema import (
    DEFAULT_NAMES,
    STATUS_INTEGRATED,
    STATUS_LANDED,
    ObjectNames,
    Table,
    quote_identifier,
    tables,
)
from .statements import (
    COMMITTED,
    STALE,
    TAKEN,
    claimed_transaction,
    frame,
    guarded_transaction,
    lost_race,
    run,
    write_rows_sql,
)

__all__ = [
    "COMMITTED",
    "LANDED_COLUMNS",
    "STALE",
    "TAKEN",
    "SqlStore",
    "latest_states",
    "next_batch_id",
    "prune_states_sql",
    "readable_states",
    "states_version_sql",
]

_q = quote_identifier
# Audit times in UTC, as Python writes them (utc_now): CURRENT_TIMESTAMP() would be the
# session's TIMEZONE wall clock once cast to TIMESTAMP_NTZ.
_NOW = "SYSDATE()"


def next_batch_id(session: Any, names: ObjectNames) -> int:
    """The id the next batch takes: the batch-id sequence's next value (above every marker row).

    A sequence never hands one value out twice, so calls that overlap cannot take the
    same id; with ``ORDER`` a later call gets a larger one. The larger of it and the
    marker's ``MAX + 1`` carries on a pipeline whose batches predate the sequence.
    """
    marker = quote_identifier(names.marker)
    [(value, above)] = run(
        session,
        f"SELECT {quote_identifier(names.sequence)}.NEXTVAL, "
        f'(SELECT COALESCE(MAX("BATCH_ID"), 0) + 1 FROM {marker})',
    )
    return max(int(value), int(above))


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


def readable_states(
    session: Any, state: Table, method: str, *, before_batch: int
) -> dict[str, ei.CumulativeState | ei.StateFormatError]:
    """:func:`latest_states` of every meter, with the error instead of the state it cannot read.

    One meter's broken ``METER_STATE`` row must cost that meter's rows only
    (:func:`~.batch.integrate_batch` quarantines them), not the batch.
    """
    return _readable(_latest_state_rows(session, state, method, before_batch))


def _latest_state_rows(session: Any, state: Table, method: str, before_batch: int) -> pd.DataFrame:
    """Each meter's latest ``method`` state row before ``before_batch``: meter, state, batch."""
    return frame(
        session,
        f'SELECT "METER_ID", "STATE", "BATCH_ID" FROM {state.quoted} WHERE "METHOD" = ? '
        'AND "BATCH_ID" < ? '
        'QUALIFY ROW_NUMBER() OVER (PARTITION BY "METER_ID" ORDER BY "BATCH_ID" DESC) = 1',
        [method, before_batch],
    )


def _readable(rows: pd.DataFrame) -> dict[str, ei.CumulativeState | ei.StateFormatError]:
    out: dict[str, ei.CumulativeState | ei.StateFormatError] = {}
    for m, text in zip(rows["METER_ID"], rows["STATE"], strict=True):
        try:
            out[str(m)] = state_from_json(text)
        except ei.StateFormatError as exc:
            out[str(m)] = exc
    return out


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
            batch_id = next_batch_id(session, self.names)
            run(
                session,
                f"INSERT INTO {t.landing.quoted} ({land_cols}) SELECT ?, METADATA$ROW_ID, "
                f'METADATA$ACTION, METADATA$ISUPDATE, "ID", "METER_ID", "TIMESTAMP", "KW", '
                f"{_NOW} FROM {stream}",
                [batch_id],
            )
            marked = run(  # from the rows just landed: the stream is read (diffed) once
                session,
                f"INSERT INTO {t.marker.quoted} ({marker_cols}) SELECT ?, {_NOW}, COUNT(*), "
                f'MIN("TIMESTAMP"), MAX("TIMESTAMP"), MAX("ID"), ? FROM {t.landing.quoted} '
                'WHERE "BATCH_ID" = ? HAVING COUNT(*) > 0',
                [batch_id, STATUS_LANDED, batch_id],
            )
        except BaseException:
            run(session, "ROLLBACK")
            raise
        try:
            run(session, "COMMIT")
        except BaseException as exc:  # the engine has rolled back
            if lost_race(session, exc):
                return None  # another call consumed the same rows and committed first
            raise
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
    ) -> tuple[pd.DataFrame, dict[str, ei.CumulativeState | ei.StateFormatError], tuple[int, int]]:
        """Landed rows of the batch, each meter's latest state of an earlier batch, and
        the :meth:`states_version` of those very states (from the same rows: no query more).

        Rows in :data:`~.landed.LANDED_COLUMNS`, no ``ROW_ID`` (:meth:`landed_row_ids`);
        an unreadable state as its :class:`~energy_integral.StateFormatError`.
        """
        t = self.tables
        landed = frame(  # in no order: integrate_batch puts them in source order itself
            self.session,
            f'SELECT {LANDED_SELECT} FROM {t.landing.quoted} WHERE "BATCH_ID" = ?',
            [batch_id],
        )
        rows = _latest_state_rows(self.session, t.state, method, batch_id)
        version = (len(rows), int(rows["BATCH_ID"].sum()))  # as states_version_sql counts
        return landed, _readable(rows), version

    def landed_row_ids(self, batch_id: int, rows: pd.DataFrame) -> list[Any]:
        """The ``ROW_ID`` of each of ``rows`` (as :meth:`load_batch` read them), by one
        query; rows alike in every column take such rows' ids, each once (:mod:`.landed`)."""
        if rows.empty:
            return []
        sql, params = lookup_sql(self.tables.landing.quoted, batch_id, rows["ID"])
        return match_row_ids(rows, frame(self.session, sql, params))

    def renumber_overtaken(self) -> bool:
        """Give ``LANDED`` batches that a committed batch overtook new ids, in their order.

        A consume takes its id before its commit, so a restatement (or another
        batch) that takes a larger id and commits in between lies *before* it in
        time but *after* it by id; integrated under its old id, the batch would
        start from the states before the restatement and end under them
        (:meth:`commit_batch`'s claim refuses that). Moving the batch, and every
        ``LANDED`` batch after it, to fresh ids of the sequence puts them after
        it, as if they had landed later: rows the restatement already
        integrated are then quarantined as late, and reconciled. One
        transaction; False if nothing was overtaken or another call renumbered
        first.
        """
        t, session = self.tables, self.session
        marker = t.marker.quoted

        def renumbered() -> str | None:
            rows = run(
                session,
                f'SELECT "BATCH_ID" FROM {marker} WHERE "STATUS" = ? AND "BATCH_ID" >= '
                f'(SELECT MIN("BATCH_ID") FROM {marker} AS o WHERE o."STATUS" = ? AND '
                f'o."BATCH_ID" < (SELECT MAX("BATCH_ID") FROM {marker} AS c '
                'WHERE c."STATUS" <> ?)) ORDER BY "BATCH_ID"',
                [STATUS_LANDED, STATUS_LANDED, STATUS_LANDED],
            )
            if not rows:
                return TAKEN  # nothing overtaken (or another call renumbered first)
            for (old,) in rows:
                new = next_batch_id(session, self.names)
                moved = run(
                    session,
                    f'UPDATE {marker} SET "BATCH_ID" = ? WHERE "BATCH_ID" = ? AND "STATUS" = ?',
                    [new, int(old), STATUS_LANDED],
                )
                if not moved or int(moved[0][0]) != 1:
                    return TAKEN
                run(
                    session,
                    f'UPDATE {t.landing.quoted} SET "BATCH_ID" = ? WHERE "BATCH_ID" = ?',
                    [new, int(old)],
                )
            return None

        return guarded_transaction(session, renumbered) == COMMITTED

    def mark_failed(self, batch_id: int, detail: str) -> None:
        """Write on the batch's marker row why it could not be integrated (it stays ``LANDED``)."""
        run(
            self.session,
            f'UPDATE {self.tables.marker.quoted} SET "DETAIL" = ? '
            'WHERE "BATCH_ID" = ? AND "STATUS" = ?',
            [detail, batch_id, STATUS_LANDED],
        )

    def other_methods(self, method: str) -> list[str]:
        """The methods other than ``method`` that ``METER_STATE``'s states were written with."""
        rows = run(
            self.session,
            f'SELECT DISTINCT "METHOD" FROM {self.tables.state.quoted} WHERE "METHOD" <> ? '
            'ORDER BY "METHOD"',
            [method],
        )
        return [str(r[0]) for r in rows]

    def states_version(self, batch_id: int, method: str) -> tuple[int, int]:
        """A fingerprint of the ``method`` states before batch ``batch_id`` (see commit_batch)."""
        [(count, total)] = run(
            self.session, *states_version_sql(self.tables.state, method, batch_id)
        )
        return int(count), int(total)

    def commit_batch(
        self, outcome: BatchOutcome, duration_s: float, version: tuple[int, int] | None = None
    ) -> str:
        """All of a batch's phase-2 writes in one transaction, under a claim on the batch.

        The transaction starts with the claim: a compare-and-set of the batch's
        marker row from ``LANDED`` to ``INTEGRATED``, only while no earlier batch
        is still ``LANDED`` and no later one is committed (batches build on each
        other's states, so they commit in order; an overtaken batch is first
        given a new id, see :meth:`renumber_overtaken`). A call that finds it
        taken (0 rows, or the engine refusing a write another transaction made
        first) rolls back and returns :data:`TAKEN`. With ``version`` (the
        :meth:`states_version` the outcome was computed from), the states are
        read again inside the transaction; if they changed meanwhile the call
        rolls back and returns :data:`STALE`, to be recomputed. Else
        :data:`COMMITTED`.
        """
        t, b, session = self.tables, outcome.batch_id, self.session
        staged: list[Any] = []  # referenced until COMMIT (see stage_rows)
        writes = write_rows_sql(session, t.results, outcome.results, staged, merge=True)
        writes.append((f'DELETE FROM {t.quarantine.quoted} WHERE "BATCH_ID" = ?', [b]))
        writes += write_rows_sql(session, t.quarantine, outcome.quarantine, staged, merge=False)
        writes += write_rows_sql(session, t.state, outcome.states, staged, merge=True)
        writes.append(prune_states_sql(t.state, outcome.method, b))
        claim = (
            f'UPDATE {t.marker.quoted} SET "STATUS" = ?, "PROCESSED_AT" = {_NOW}, '
            '"ROWS_INTEGRATED" = ?, "ROWS_REJECTED" = ?, "METERS" = ?, "KWH_ADDED" = ?, '
            '"DURATION_S" = ?, "METHOD" = ?, "DETAIL" = NULL '
            'WHERE "BATCH_ID" = ? AND "STATUS" = ? '
            f'AND NOT EXISTS (SELECT 1 FROM {t.marker.quoted} AS e WHERE e."STATUS" = ? '
            'AND e."BATCH_ID" < ?) '
            f'AND NOT EXISTS (SELECT 1 FROM {t.marker.quoted} AS f WHERE f."STATUS" <> ? '
            'AND f."BATCH_ID" > ?)',
            [STATUS_INTEGRATED, outcome.rows_integrated, outcome.rows_rejected, outcome.meters,
             outcome.kwh_added, float(duration_s), outcome.method, b, STATUS_LANDED,
             STATUS_LANDED, b, STATUS_LANDED, b],
        )  # fmt: skip
        version_now = lambda: self.states_version(b, outcome.method) == version  # noqa: E731
        return claimed_transaction(session, claim, writes, None if version is None else version_now)


def states_version_sql(state: Table, method: str, batch_id: int) -> tuple[str, list[Any]]:
    """How many meters have a ``method`` state before ``batch_id``, and their batch ids' sum.

    Pruning superseded rows leaves it alone; a state row written since by another
    call (a restatement's, or another batch's) changes it.
    """
    return (
        f'SELECT COUNT(*), COALESCE(SUM("BATCH_ID"), 0) FROM (SELECT "BATCH_ID" FROM '
        f'{state.quoted} WHERE "METHOD" = ? AND "BATCH_ID" < ? QUALIFY ROW_NUMBER() '
        'OVER (PARTITION BY "METER_ID" ORDER BY "BATCH_ID" DESC) = 1)',
        [method, batch_id],
    )


def prune_states_sql(state: Table, method: str, batch_id: int) -> tuple[str, list[Any]]:
    """Delete the ``method`` states that batch ``batch_id`` superseded (it wrote newer ones)."""
    s = state.quoted
    return (
        f'DELETE FROM {s} WHERE "METHOD" = ? AND "BATCH_ID" < ? AND "METER_ID" IN '
        f'(SELECT "METER_ID" FROM {s} WHERE "BATCH_ID" = ? AND "METHOD" = ?)',
        [method, batch_id, batch_id, method],
    )
