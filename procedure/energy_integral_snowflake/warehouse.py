"""Where a backfill or reconciliation reads and writes: one SQL warehouse, on either engine.

:func:`~.backfill.run_backfill` and :func:`~.reconcile.run_reconcile` speak to
a :class:`SqlWarehouse`, whose every read and write is Snowflake SQL through
``session.sql`` — the same statements on Snowflake and on the embedded
engine. Only the step that integrates the meters' partitions differs:

* on Snowflake the partition functions run on the warehouse, one vectorised
  UDTF per meter (``group_by("METER_ID").apply_in_pandas``, or per
  ``(METER_ID, CHUNK)`` when chunked per day; :mod:`.warehouse_snowflake`);
* on the embedded engine the same partition functions run in this process
  over the same partitions (:func:`.partition.in_process`).

Either way the restated rows land in a temporary table before the
transaction (staging is DDL). One transaction, claimed by its marker row,
``MERGE``\\ s them into the results, deletes the window rows the restatement
no longer has (every restated row carries this batch's id), and writes the
quarantine, states, resolved rows and audit.

A restatement replaces, for each meter, the results in its :class:`Window`
(``after < TIMESTAMP <= through``) with a re-integration of the meter's
source rows there, continuing the state at ``after``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

import energy_integral as ei

from .batch import RESTATABLE, Policy, state_from_json, state_to_json
from .partition import MERGED, in_process
from .schema import DEFAULT_NAMES, STATUS_LANDED, Column, ObjectNames, Table, tables
from .statements import (
    CHUNK_ROWS,
    claimed_transaction,
    frame,
    insert_values_sql,
    merge_from_sql,
    run,
    stage_rows,
    staged_name,
    write_rows_sql,
)
from .store import SqlStore, latest_states, next_batch_id, prune_states_sql

__all__ = [
    "WINDOWS",
    "Partitions",
    "Restated",
    "SqlWarehouse",
    "Window",
    "Writes",
    "anchor_state",
    "in_window_sql",
]


@dataclass(frozen=True)
class Window:
    """One meter's stretch to restate: ``after < TIMESTAMP <= through`` (None: unbounded).

    ``incoming`` is the meter's state at ``after`` — that of its stored result
    row there — or empty when the meter starts afresh; ``before`` is its latest
    stored state, whose energy the audit reports as kWh before. With
    ``inclusive`` the window is ``after <= TIMESTAMP`` (a range start with no
    stored result before it).
    """

    meter: str
    after: dt.datetime | None
    through: dt.datetime | None
    incoming: ei.CumulativeState
    before: ei.CumulativeState
    inclusive: bool = False


@dataclass(frozen=True)
class Restated:
    """A restatement computed but not yet written.

    ``states`` holds each meter's state after its window (meters whose window
    has no integrated row keep their incoming state); ``integrated`` counts
    each meter's integrated source rows, ``merged`` of which (over all
    meters) have no result row of their own (:data:`~.partition.MERGED`);
    ``rows`` is the handle on the temporary table of the restated rows
    (:data:`.partition.RESTATED`, see :func:`~.statements.stage_rows`), ``windows`` that on the
    windows' table (:data:`WINDOWS`).
    """

    states: dict[str, ei.CumulativeState]
    integrated: dict[str, int]
    rejected: int
    rows: Any = None
    merged: int = 0
    windows: Any = None


@dataclass(frozen=True)
class Writes:
    """Everything one backfill or reconcile batch writes, rows in their tables' column order."""

    batch_id: int
    method: str
    windows: Sequence[Window]
    restated: Restated
    states: list[tuple[Any, ...]]
    resolved: list[tuple[Any, ...]] = field(default_factory=list)
    audit: list[tuple[Any, ...]] = field(default_factory=list)
    marker: tuple[Any, ...] = ()
    now: dt.datetime | None = None
    version: tuple[int, int] | None = None  # the states' fingerprint it was computed from


def anchor_state(method: str, rows: pd.DataFrame) -> ei.CumulativeState:
    """A state recovered from one meter's result rows (``TIMESTAMP, KW, CUMULATIVE_KWH``).

    The rows are the meter's results up to the anchor; the state is that of a
    run which ended at the last of them: first and last samples, the last
    ``CUMULATIVE_KWH`` as energy and the number of distinct timestamps as count.
    """
    if rows.empty:
        return ei.CumulativeState.empty(method)
    rows = rows.sort_values("TIMESTAMP", kind="stable")
    t = ei.timestamps.to_ns(rows["TIMESTAMP"], "TIMESTAMP")
    return ei.CumulativeState(
        method=method,
        first_ts=int(t[0]),
        first_power=float(rows["KW"].iloc[0]),
        last_ts=int(t[-1]),
        last_power=float(rows["KW"].iloc[-1]),
        energy=float(rows["CUMULATIVE_KWH"].iloc[-1]),
        count=int(np.unique(t).size),
    )


#: The windows as a table: each meter's bounds and incoming state (JSON, NULL for none).
WINDOWS = Table(
    "RESTATE_WINDOWS",
    (Column("METER_ID", "VARCHAR"), Column("AFTER", "TIMESTAMP_NTZ(9)"),
     Column("THROUGH", "TIMESTAMP_NTZ(9)"), Column("INCLUSIVE", "BOOLEAN"),
     Column("INCOMING", "VARCHAR")),
)  # fmt: skip
_DETAIL = "rejected when its meter was re-integrated from the source table"


def in_window_sql(ts: str, w: str) -> str:
    """SQL: the time ``ts`` lies in the window row ``w`` (``AFTER < ts <= THROUGH``).

    NULL bounds are open; with ``INCLUSIVE`` the window starts at ``AFTER`` itself.

    >>> print(in_window_sql('r."TIMESTAMP"', "w"))
    (w."AFTER" IS NULL OR r."TIMESTAMP" > w."AFTER"
     OR (w."INCLUSIVE" AND r."TIMESTAMP" = w."AFTER"))
    AND (w."THROUGH" IS NULL OR r."TIMESTAMP" <= w."THROUGH")
    """
    return (
        f'({w}."AFTER" IS NULL OR {ts} > {w}."AFTER" OR ({w}."INCLUSIVE" AND {ts} = {w}."AFTER")) '
        f'AND ({w}."THROUGH" IS NULL OR {ts} <= {w}."THROUGH")'
    )


#: Runs the partition functions over the rows of a query ``(session, rows_sql, policy,
#: chunked)``; returns a handle on the staged output (:data:`.partition.RESTATED`).
Partitions = Callable[[Any, str, Policy, bool], Any]


class SqlWarehouse:
    """The tables a backfill or reconciliation reads and writes (see the module docstring).

    Parameters
    ----------
    session : snowflake.snowpark.Session or EmbeddedSession
        Where the tables are.
    names : ObjectNames, optional
        Table names.
    partitions : callable, optional
        How the partition functions run (:class:`Partitions`): in this process
        (:func:`.partition.in_process`) by default, on the warehouse with
        :func:`.warehouse_snowflake.on_warehouse`.
    """

    def __init__(
        self, session: Any, names: ObjectNames = DEFAULT_NAMES, partitions: Partitions = in_process
    ) -> None:
        self.session = session
        self.names = names
        self.tables = tables(names)
        self.partitions = partitions

    def stream_task_started(self) -> bool:
        """``SHOW TASKS`` (allowed in owner's-rights procedures since release 10.3).

        The name is a checked plain identifier, so it can stand in the pattern;
        ``LIKE`` reads ``_`` as a wildcard, hence the exact comparison after it.
        A task the procedure's role cannot see lists no row and counts as not
        started: grant the owner ``MONITOR`` on it if it is owned elsewhere.
        """
        task = self.names.task
        for row in run(self.session, f"SHOW TASKS LIKE '{task}' IN SCHEMA"):
            fields = {k.lower(): v for k, v in row.as_dict().items()}
            if str(fields["name"]).upper() == task.upper():
                return str(fields["state"]).lower() == "started"
        return False

    def pending_batches(self) -> list[int]:
        """Stream batches landed but not integrated (a restatement waits for them)."""
        return SqlStore(self.session, self.names).pending_batches()

    def states_version(self, batch_id: int, method: str) -> tuple[int, int]:
        """The fingerprint of the states before ``batch_id`` (:meth:`.SqlStore.states_version`)."""
        return SqlStore(self.session, self.names).states_version(batch_id, method)

    def next_batch_id(self) -> int:
        """The id the restatement's batch takes."""
        return next_batch_id(self.session, self.names)

    def source_meters(self, meters: Sequence[str] | None) -> list[str]:
        """Meters with rows in the source table (of ``meters``, if given), sorted."""
        rows = run(
            self.session,
            f'SELECT DISTINCT "METER_ID" FROM {self.tables.source.quoted} '
            'WHERE "METER_ID" IS NOT NULL ORDER BY 1',
        )
        found = {str(r[0]) for r in rows}
        return sorted(found if meters is None else found & set(meters))

    def latest_states(self, method: str, meters: Sequence[str]) -> dict[str, ei.CumulativeState]:
        """Each meter's latest stored ``method`` state (meters without one are left out)."""
        return latest_states(self.session, self.tables.state, method, meters)

    def anchors(self, method: str, starts: dict[str, dt.datetime]) -> dict[str, ei.CumulativeState]:
        """Each meter's state at its last result row *before* ``starts[meter]``."""
        out = {m: ei.CumulativeState.empty(method) for m in starts}
        items = list(starts.items())
        for i in range(0, len(items), CHUNK_ROWS):
            chunk = items[i : i + CHUNK_ROWS]
            values = ", ".join(["(?, ?)"] * len(chunk))
            # The rows up to each meter's start; the last one is the anchor. Every result
            # row before it is read only to count the samples: COUNT is all the state needs.
            rows = frame(
                self.session,
                'SELECT r."METER_ID", r."TIMESTAMP", r."KW", r."CUMULATIVE_KWH", '
                'COUNT(DISTINCT r."TIMESTAMP") OVER (PARTITION BY r."METER_ID") AS "N", '
                'MIN(r."TIMESTAMP") OVER (PARTITION BY r."METER_ID") AS "FIRST_TS" '
                f"FROM {self.tables.results.quoted} AS r JOIN (SELECT COLUMN1::VARCHAR AS "
                f'"METER_ID", COLUMN2::TIMESTAMP_NTZ(9) AS "START" FROM VALUES {values}) AS w '
                'ON r."METER_ID" = w."METER_ID" WHERE r."METHOD" = ? AND r."TIMESTAMP" < w."START" '
                'QUALIFY r."TIMESTAMP" = "FIRST_TS" OR ROW_NUMBER() OVER (PARTITION BY '
                'r."METER_ID" ORDER BY r."TIMESTAMP" DESC) = 1',
                [v for m, t in chunk for v in (m, t)] + [method],
            )
            for meter, ends in rows.groupby("METER_ID"):
                out[str(meter)] = _anchor_from_ends(method, ends)
        return out

    def open_quarantine(self) -> pd.DataFrame:
        """Open quarantine rows a reconciliation restates (:data:`.batch.RESTATABLE`)."""
        q, r = self.tables.quarantine.quoted, self.tables.resolved.quoted
        reasons = ", ".join("?" for _ in RESTATABLE)
        return frame(
            self.session,
            f'SELECT q."BATCH_ID", q."ROW_ID", q."ID", q."METER_ID", q."TIMESTAMP", q."KW", '
            f'q."REASON" FROM {q} AS q WHERE q."REASON" IN ({reasons}) AND NOT EXISTS (SELECT 1 '
            f'FROM {r} AS r WHERE r."QUARANTINE_BATCH_ID" = q."BATCH_ID" AND r."REASON" = '
            'q."REASON" AND EQUAL_NULL(r."ROW_ID", q."ROW_ID")) ORDER BY q."BATCH_ID", q."ID"',
            list(RESTATABLE),
        )

    def stored_matches(self, method: str, rows: pd.DataFrame) -> np.ndarray[Any, Any]:
        """Which ``rows`` (METER_ID, TIMESTAMP, KW) equal a stored result row."""
        keys = list(zip(rows["METER_ID"], rows["TIMESTAMP"], rows["KW"], strict=True))
        hits: set[tuple[Any, ...]] = set()
        for i in range(0, len(keys), CHUNK_ROWS):
            chunk = keys[i : i + CHUNK_ROWS]
            values = ", ".join(["(?, ?, ?)"] * len(chunk))
            found = frame(
                self.session,
                f'SELECT DISTINCT r."METER_ID", r."TIMESTAMP", r."KW" FROM '
                f"{self.tables.results.quoted} AS r JOIN (SELECT COLUMN1::VARCHAR AS M, "
                f"COLUMN2::TIMESTAMP_NTZ(9) AS T, COLUMN3::FLOAT AS P FROM VALUES {values}) AS v "
                'ON r."METER_ID" = v.M AND r."TIMESTAMP" = v.T AND r."KW" = v.P '
                'WHERE r."METHOD" = ?',
                [v for k in chunk for v in k] + [method],
            )
            hits |= {_key(*k) for k in found.itertuples(index=False)}
        return np.array([_key(*k) in hits for k in keys], dtype=bool)

    # -- integration -----------------------------------------------------------------------
    def integrate(self, windows: Sequence[Window], policy: Policy, chunked: bool) -> Restated:
        """Run the partition functions over the windows' source rows (see :class:`Restated`)."""
        spec = [
            (w.meter, w.after, w.through, w.inclusive,
             None if w.incoming.is_empty else state_to_json(w.incoming))
            for w in windows
        ]  # fmt: skip
        win = stage_rows(self.session, WINDOWS, spec, always=True)
        rows_sql = (
            'SELECT s."ID", s."METER_ID", s."TIMESTAMP", s."KW", w."INCOMING" FROM '
            f"{self.tables.source.quoted} AS s JOIN {staged_name(win)} AS w "
            'ON s."METER_ID" = w."METER_ID" WHERE s."TIMESTAMP" IS NOT NULL AND '
            + in_window_sql('s."TIMESTAMP"', "w")
        )
        restated = self.partitions(self.session, rows_sql, policy, chunked)
        name = staged_name(restated)
        finals = run(
            self.session,
            f'SELECT "METER_ID", "STATE" FROM {name} WHERE "STATE" IS NOT NULL '
            'QUALIFY ROW_NUMBER() OVER (PARTITION BY "METER_ID" '
            'ORDER BY "TIMESTAMP" DESC, "CHUNK" DESC) = 1',
        )
        counts = run(
            self.session,
            f'SELECT "METER_ID", SUM(IFF("REASON" = \'\', 1, 0)), SUM(IFF("REASON" = ?, 1, 0)), '
            f'COUNT(*) FROM {name} GROUP BY "METER_ID"',
            [MERGED],
        )
        states = {w.meter: w.incoming for w in windows}
        states.update({str(r[0]): state_from_json(str(r[1])) for r in finals})
        integrated = {str(r[0]): int(r[1]) + int(r[2]) for r in counts}
        return Restated(
            states=states,
            integrated={w.meter: integrated.get(w.meter, 0) for w in windows},
            rejected=sum(int(r[3]) - int(r[1]) - int(r[2]) for r in counts),
            rows=restated,
            merged=sum(int(r[2]) for r in counts),
            windows=win,
        )

    # -- writes --------------------------------------------------------------------------
    def commit(self, writes: Writes) -> str:
        """Every write of the batch in one claimed transaction (:func:`.claimed_transaction`)."""
        t, b, now, m = self.tables, writes.batch_id, writes.now, writes.method
        restated, r = staged_name(writes.restated.rows), t.results.quoted
        fixed = {"METHOD": "CAST(? AS VARCHAR)", "BATCH_ID": "CAST(? AS NUMBER(38,0))",
                 "COMPUTED_AT": "CAST(? AS TIMESTAMP_NTZ(9))"}  # fmt: skip
        results = ", ".join(
            f'{fixed[c]} AS "{c}"' if c in fixed else f'"{c}"' for c in t.results.column_names
        )
        ok = f"(SELECT {results} FROM {restated} WHERE \"REASON\" = '')"
        statements: list[tuple[str, Sequence[Any] | None]] = [
            (merge_from_sql(t.results, ok), [m, b, now])
        ]
        if writes.windows:
            statements.append((
                f"DELETE FROM {r} USING {staged_name(writes.restated.windows)} AS w "
                f'WHERE {r}."METER_ID" = w."METER_ID" AND {r}."METHOD" = ? AND {r}."BATCH_ID" <> ? '
                f"AND {in_window_sql(r + '.' + chr(34) + 'TIMESTAMP' + chr(34), 'w')}",
                [m, b],
            ))  # fmt: skip
        q_cols = ", ".join(f'"{c}"' for c in t.quarantine.column_names)
        statements.append((
            f"INSERT INTO {t.quarantine.quoted} ({q_cols}) SELECT CAST(? AS NUMBER(38,0)), "
            '"ID"::VARCHAR, "ID", "METER_ID", "TIMESTAMP", "KW", "REASON", CAST(? AS VARCHAR), '
            f"CAST(? AS TIMESTAMP_NTZ(9)) FROM {restated} WHERE \"REASON\" NOT IN ('', ?)",
            [b, _DETAIL, now, MERGED],
        ))  # fmt: skip
        staged: list[Any] = []  # staging is DDL: before BEGIN, referenced until COMMIT
        for table, rows, merge in (
            (t.state, writes.states, True),
            (t.resolved, writes.resolved, False),
            (t.audit, writes.audit, False),
        ):
            statements += write_rows_sql(self.session, table, rows, staged, merge=merge)
        statements.append(prune_states_sql(t.state, m, b))
        # The claim: the marker row, only while no stream batch is LANDED (its readings
        # would be missed), and only if the states are still those it was computed from.
        claim = (
            f"{insert_values_sql(t.marker, 1)} WHERE NOT EXISTS (SELECT 1 FROM "
            f'{t.marker.quoted} AS e WHERE e."STATUS" = ?)',
            [*writes.marker, STATUS_LANDED],
        )
        version, check = writes.version, lambda: self.states_version(b, m) == writes.version
        return claimed_transaction(self.session, claim, statements, check if version else None)


def _anchor_from_ends(method: str, rows: pd.DataFrame) -> ei.CumulativeState:
    """The anchor from a meter's first and last result rows before its start, and N."""
    state = anchor_state(method, rows)
    n = int(rows["N"].iloc[0])
    return state if state.is_empty else ei.CumulativeState(**{**_fields(state), "count": n})


def _fields(state: ei.CumulativeState) -> dict[str, Any]:
    out = state.to_dict()
    out.pop("version")
    return out


def _key(meter: Any, ts: Any, kw: Any) -> tuple[Any, ...]:
    return (str(meter), pd.Timestamp(ts).value, float(kw))
