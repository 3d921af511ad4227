"""The :class:`~.warehouse.Warehouse` on Snowflake: partitions on the warehouse, one transaction.

Integration never brings readings into the procedure. The windows' source
rows are joined with a small windows table and handed to the partition
functions of :mod:`.partition` (through their UDTF entry points in :mod:`.udtf`) by
``group_by("METER_ID").apply_in_pandas(...)`` — a vectorised UDTF per meter,
run in parallel across the warehouse — or, chunked per day,
``group_by("METER_ID", "CHUNK")`` followed by a second, tiny
``apply_in_pandas`` per meter over the day states (:func:`.partition.chunk_offsets`)
and a join that adds each day's offset (:func:`.partition.apply_offsets`
in SQL). The result is cached in a temporary table (``cache_result``) so
the UDTFs run once; only each meter's final state and row counts come back
to the procedure.

Everything that is DDL — registering the UDTFs, ``create_dataframe`` of the
windows, ``cache_result`` — happens before ``BEGIN``; then one transaction
``MERGE``\\s the restated rows into the results on their natural key,
deletes the window rows the restatement no longer has (a deleted reading:
every restated row now carries this batch's id), appends the rejected rows
to the quarantine, merges the states and inserts the resolved rows, the
audit and the marker row. Values are bind parameters, identifiers quoted.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

import energy_integral as ei

from .archives import ARCHIVES
from .batch import Policy, state_from_json, state_to_json
from .partition import MERGED
from .schema import DEFAULT_NAMES, ObjectNames, tables
from .snowflake_store import CHUNK_ROWS, SnowflakeStore, write_rows_sql
from .sql import DEFAULT_STAGE
from .udtf import (
    CHUNK_SCHEMA,
    OUTPUT_SCHEMA,
    WINDOWS_SCHEMA,
    chunk_partition,
    offsets_partition,
    straight_partition,
    struct_type,
)
from .warehouse import Restated, Window, Writes, anchor_state

__all__ = ["SnowflakeWarehouse"]

_EPOCH = dt.date(1970, 1, 1)


class SnowflakeWarehouse:
    """A :class:`~.warehouse.Warehouse` on a Snowflake session (see the module docstring).

    Parameters
    ----------
    session : snowflake.snowpark.Session
        The procedure's session.
    names : ObjectNames, optional
        Table names.
    stage : str, optional
        Where the procedure's archives are: the UDTFs import them too.
    """

    def __init__(
        self, session: Any, names: ObjectNames = DEFAULT_NAMES, stage: str = DEFAULT_STAGE
    ) -> None:
        from .deploy import PACKAGES

        self.session = session
        self.names = names
        self.tables = tables(names)
        self.udtf_options: dict[str, Any] = {
            "imports": [f"@{stage}/{archive}" for archive in ARCHIVES.values()],
            "packages": list(PACKAGES),
        }

    # -- reads ---------------------------------------------------------------------------
    def _rows(self, sql: str, params: Sequence[Any] | None = None) -> list[Any]:
        rows: list[Any] = self.session.sql(sql, params=list(params) if params else None).collect()
        return rows

    def _frame(self, sql: str, params: Sequence[Any]) -> pd.DataFrame:
        frame: pd.DataFrame = self.session.sql(sql, params=list(params)).to_pandas()
        return frame

    def stream_task_started(self) -> bool:
        """``SHOW TASKS`` (allowed in owner's-rights procedures since release 10.3).

        The name is a checked plain identifier, so it can stand in the pattern;
        ``LIKE`` reads ``_`` as a wildcard, hence the exact comparison after it.
        A task the procedure's role cannot see lists no row and counts as not
        started: grant the owner ``MONITOR`` on it if it is owned elsewhere.
        """
        task = self.names.task
        for row in self._rows(f"SHOW TASKS LIKE '{task}' IN SCHEMA"):
            fields = {k.lower(): v for k, v in row.as_dict().items()}
            if str(fields["name"]).upper() == task.upper():
                return str(fields["state"]).lower() == "started"
        return False

    def pending_batches(self) -> list[int]:
        return SnowflakeStore(self.session, self.names).pending_batches()

    def next_batch_id(self) -> int:
        top = self._rows(
            f'SELECT COALESCE(MAX("BATCH_ID"), 0) + 1 FROM {self.tables.marker.quoted}'
        )
        return int(top[0][0])

    def source_meters(self, meters: Sequence[str] | None) -> list[str]:
        rows = self._rows(
            f'SELECT DISTINCT "METER_ID" FROM {self.tables.source.quoted} '
            'WHERE "METER_ID" IS NOT NULL ORDER BY 1'
        )
        found = {str(r[0]) for r in rows}
        return sorted(found if meters is None else found & set(meters))

    def latest_states(self, method: str, meters: Sequence[str]) -> dict[str, ei.CumulativeState]:
        rows = self._frame(
            f'SELECT "METER_ID", "STATE" FROM {self.tables.state.quoted} WHERE "METHOD" = ? '
            'QUALIFY ROW_NUMBER() OVER (PARTITION BY "METER_ID" ORDER BY "BATCH_ID" DESC) = 1',
            [method],
        )
        wanted = set(meters)
        return {
            str(m): state_from_json(s)
            for m, s in zip(rows["METER_ID"], rows["STATE"], strict=True)
            if m in wanted
        }

    def anchors(self, method: str, starts: dict[str, dt.datetime]) -> dict[str, ei.CumulativeState]:
        out = {m: ei.CumulativeState.empty(method) for m in starts}
        items = list(starts.items())
        for i in range(0, len(items), CHUNK_ROWS):
            chunk = items[i : i + CHUNK_ROWS]
            values = ", ".join(["(?, ?)"] * len(chunk))
            # The rows up to each meter's start; the last one is the anchor. Every result
            # row before it is read only to count the samples: COUNT is all the state needs.
            frame = self._frame(
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
            for meter, rows in frame.groupby("METER_ID"):
                out[str(meter)] = _anchor_from_ends(method, rows)
        return out

    def open_quarantine(self) -> pd.DataFrame:
        q, r = self.tables.quarantine.quoted, self.tables.resolved.quoted
        return self._frame(
            f'SELECT q."BATCH_ID", q."ROW_ID", q."ID", q."METER_ID", q."TIMESTAMP", q."KW", '
            f'q."REASON" FROM {q} AS q WHERE q."REASON" IN (?, ?) AND NOT EXISTS (SELECT 1 '
            f'FROM {r} AS r WHERE r."QUARANTINE_BATCH_ID" = q."BATCH_ID" AND r."REASON" = '
            'q."REASON" AND EQUAL_NULL(r."ROW_ID", q."ROW_ID")) ORDER BY q."BATCH_ID", q."ID"',
            ["late", "correction"],
        )

    def stored_matches(self, method: str, rows: pd.DataFrame) -> np.ndarray[Any, Any]:
        keys = list(zip(rows["METER_ID"], rows["TIMESTAMP"], rows["KW"], strict=True))
        hits: set[tuple[Any, ...]] = set()
        for i in range(0, len(keys), CHUNK_ROWS):
            chunk = keys[i : i + CHUNK_ROWS]
            values = ", ".join(["(?, ?, ?)"] * len(chunk))
            found = self._frame(
                f'SELECT DISTINCT r."METER_ID", r."TIMESTAMP", r."KW" FROM '
                f"{self.tables.results.quoted} AS r JOIN (SELECT COLUMN1::VARCHAR AS M, "
                f"COLUMN2::TIMESTAMP_NTZ(9) AS T, COLUMN3::FLOAT AS P FROM VALUES {values}) AS v "
                'ON r."METER_ID" = v.M AND r."TIMESTAMP" = v.T AND r."KW" = v.P '
                'WHERE r."METHOD" = ?',
                [_bind(v) for k in chunk for v in k] + [method],
            )
            hits |= {_key(*k) for k in found.itertuples(index=False)}
        return np.array([_key(*k) in hits for k in keys], dtype=bool)

    # -- integration on the warehouse ------------------------------------------------------
    def integrate(self, windows: Sequence[Window], policy: Policy, chunked: bool) -> Restated:
        from snowflake.snowpark import Window as W
        from snowflake.snowpark import functions as f

        col, lit = f.col, f.lit
        spec = [
            (w.meter, w.after, w.through, w.inclusive,
             None if w.incoming.is_empty else state_to_json(w.incoming))
            for w in windows
        ]  # fmt: skip
        win = self.session.create_dataframe(spec, schema=struct_type(WINDOWS_SCHEMA))
        ts = col("TIMESTAMP")
        at_start = col("INCLUSIVE") & (ts == col("AFTER"))
        in_window = (
            ts.is_not_null()
            & (col("AFTER").is_null() | (ts > col("AFTER")) | at_start)
            & (col("THROUGH").is_null() | (ts <= col("THROUGH")))
        )
        rows = (
            self.session.table(self.tables.source.name)
            .select("ID", "METER_ID", "TIMESTAMP", "KW")
            .join(win, on="METER_ID")
            .filter(in_window)
            .select("ID", "METER_ID", "TIMESTAMP", "KW", "INCOMING")
        )
        out = struct_type(OUTPUT_SCHEMA)
        if not chunked:
            restated = rows.group_by("METER_ID").apply_in_pandas(
                partial(straight_partition, policy=policy), out, **self.udtf_options
            )
        else:
            days = rows.with_column("CHUNK", f.datediff("day", lit(_EPOCH), ts))
            local = (
                days.group_by("METER_ID", "CHUNK")
                .apply_in_pandas(partial(chunk_partition, policy=policy), out, **self.udtf_options)
                .cache_result()
            )
            ends = (
                local.filter(col("STATE").is_not_null())
                .select("METER_ID", "CHUNK", "STATE")
                .join(win.select("METER_ID", "INCOMING"), on="METER_ID")
            )
            offsets = ends.group_by("METER_ID").apply_in_pandas(
                partial(offsets_partition, policy=policy), struct_type(CHUNK_SCHEMA),
                **self.udtf_options,
            ).with_column_renamed("STATE", "STATE_AFTER")  # fmt: skip
            ok = col("REASON") == lit("")
            restated = local.join(offsets, on=["METER_ID", "CHUNK"], how="left").select(
                "METER_ID", "CHUNK", "ID", "TIMESTAMP", "KW",
                f.iff(ok, col("INTERVAL_KWH") + f.iff(col("IS_FIRST"),
                      f.coalesce(col("BRIDGE_KWH"), lit(0.0)), lit(0.0)), lit(None))
                .alias("INTERVAL_KWH"),
                f.iff(ok, col("CUMULATIVE_KWH") + f.coalesce(col("OFFSET_KWH"), lit(0.0)),
                      lit(None)).alias("CUMULATIVE_KWH"),
                "REASON", "IS_FIRST",
                f.iff(col("STATE").is_not_null(), col("STATE_AFTER"), lit(None)).alias("STATE"),
            )  # fmt: skip
        restated = restated.cache_result()  # the UDTFs run once; DDL, so before BEGIN
        last = W.partition_by("METER_ID").order_by(col("TIMESTAMP").desc(), col("CHUNK").desc())
        finals = (
            restated.filter(col("STATE").is_not_null())
            .select("METER_ID", "STATE", f.row_number().over(last).alias("K"))
            .filter(col("K") == 1)
            .collect()
        )
        merged = col("REASON") == lit(MERGED)
        counts = (
            restated.group_by("METER_ID")
            .agg(f.sum(f.iff(ok_col(), lit(1), lit(0))).alias("OK"),
                 f.sum(f.iff(merged, lit(1), lit(0))).alias("MERGED"),
                 f.count(lit(1)).alias("N"))
            .collect()
        )  # fmt: skip
        states = {w.meter: w.incoming for w in windows}
        states.update({str(r["METER_ID"]): state_from_json(str(r["STATE"])) for r in finals})
        integrated = {str(r["METER_ID"]): int(r["OK"]) + int(r["MERGED"]) for r in counts}
        return Restated(
            states=states,
            integrated={w.meter: integrated.get(w.meter, 0) for w in windows},
            rejected=sum(int(r["N"]) - int(r["OK"]) - int(r["MERGED"]) for r in counts),
            rows=restated,
            merged=sum(int(r["MERGED"]) for r in counts),
        )

    # -- writes --------------------------------------------------------------------------
    def commit(self, writes: Writes) -> None:
        """Every write of the batch in one transaction (see the module docstring)."""
        from snowflake.snowpark.functions import col, lit, when_matched, when_not_matched

        t, b, now = self.tables, writes.batch_id, writes.now
        restated = writes.restated.rows
        fixed = {"METHOD": lit(writes.method), "BATCH_ID": lit(b), "COMPUTED_AT": lit(now)}
        source = restated.filter(ok_col()).select(
            *[fixed[c].alias(c) if c in fixed else col(c) for c in t.results.column_names]
        )
        target = self.session.table(t.results.name)
        on = (
            (target["METER_ID"] == source["METER_ID"])
            & (target["TIMESTAMP"] == source["TIMESTAMP"])
            & (target["METHOD"] == source["METHOD"])
        )
        values = {c: source[c] for c in t.results.column_names}
        quarantine = restated.filter(~ok_col() & (col("REASON") != lit(MERGED))).select(
            lit(b).alias("BATCH_ID"), col("ID").cast("string").alias("ROW_ID"), "ID", "METER_ID",
            "TIMESTAMP", "KW", "REASON", lit(_DETAIL).alias("DETAIL"),
            lit(now).alias("QUARANTINED_AT"),
        )  # fmt: skip
        staged: list[Any] = []  # staging is DDL: before BEGIN, referenced until COMMIT
        rows_sql = [
            statement
            for table, rows, merge in (
                (t.state, writes.states, True),
                (t.resolved, writes.resolved, False),
                (t.audit, writes.audit, False),
                (t.marker, [writes.marker], False),
            )
            for statement in write_rows_sql(
                self.session, table, [tuple(_bind(v) for v in r) for r in rows], staged,
                merge=merge,
            )
        ]  # fmt: skip
        self.session.sql("BEGIN").collect()
        try:
            target.merge(
                source,
                on,
                [
                    when_matched().update({c: values[c] for c in t.results.column_names
                                           if c not in t.results.key}),
                    when_not_matched().insert(values),
                ],
            )  # fmt: skip
            for sql, params in self._delete_stale(writes):
                self._rows(sql, params)
            quarantine.write.save_as_table(t.quarantine.name, mode="append", column_order="name")
            for statement, binds in rows_sql:
                self._rows(statement, binds)
            self._rows(*self._prune_states(writes))
        except BaseException:
            self.session.sql("ROLLBACK").collect()
            raise
        self.session.sql("COMMIT").collect()

    def _delete_stale(self, writes: Writes) -> list[tuple[str, list[Any]]]:
        """Window rows the restatement does not have (all others now carry this batch id)."""
        r = self.tables.results.quoted
        out = []
        for i in range(0, len(writes.windows), CHUNK_ROWS):
            chunk = writes.windows[i : i + CHUNK_ROWS]
            values = ", ".join(["(?, ?, ?, ?)"] * len(chunk))
            sql = (
                f"DELETE FROM {r} USING (SELECT COLUMN1::VARCHAR AS M, COLUMN2::TIMESTAMP_NTZ(9) "
                f"AS A, COLUMN3::TIMESTAMP_NTZ(9) AS Z, COLUMN4::BOOLEAN AS I FROM VALUES {values})"
                f' AS w WHERE {r}."METER_ID" = w.M AND {r}."METHOD" = ? AND {r}."BATCH_ID" <> ? '
                f'AND (w.A IS NULL OR {r}."TIMESTAMP" > w.A OR (w.I AND {r}."TIMESTAMP" = w.A)) '
                f'AND (w.Z IS NULL OR {r}."TIMESTAMP" <= w.Z)'
            )
            params = [v for w in chunk for v in (w.meter, w.after, w.through, w.inclusive)]
            out.append((sql, [*params, writes.method, writes.batch_id]))
        return out

    def _prune_states(self, writes: Writes) -> tuple[str, list[Any]]:
        s = self.tables.state.quoted
        return (
            f'DELETE FROM {s} WHERE "METHOD" = ? AND "BATCH_ID" < ? AND "METER_ID" IN '
            f'(SELECT "METER_ID" FROM {s} WHERE "BATCH_ID" = ? AND "METHOD" = ?)',
            [writes.method, writes.batch_id, writes.batch_id, writes.method],
        )


_DETAIL = "rejected when its meter was re-integrated from the source table"


def ok_col() -> Any:
    """``REASON = ''``: the restated row was integrated into a result row of its own."""
    from snowflake.snowpark.functions import col, lit

    return col("REASON") == lit("")


def _anchor_from_ends(method: str, rows: pd.DataFrame) -> ei.CumulativeState:
    """The anchor from a meter's first and last result rows before its start, and N."""
    state = anchor_state(method, rows)
    n = int(rows["N"].iloc[0])
    return state if state.is_empty else ei.CumulativeState(**{**_fields(state), "count": n})


def _fields(state: ei.CumulativeState) -> dict[str, Any]:
    out = state.to_dict()
    out.pop("version")
    return out


def _bind(value: Any) -> Any:
    from ._values import py_scalar

    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    return py_scalar(value)


def _key(meter: Any, ts: Any, kw: Any) -> tuple[Any, ...]:
    return (str(meter), pd.Timestamp(ts).value, float(kw))
