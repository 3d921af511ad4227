"""The partition functions on the Snowflake warehouse: one vectorised UDTF per meter.

:class:`~.warehouse.SqlWarehouse` does every read and write in SQL; on
Snowflake it hands the integration itself to :func:`on_warehouse`, which never
brings readings into the procedure. The windows' source rows (a query over the
source table and the staged windows) go to the partition functions of
:mod:`.partition` (through the UDTF entry points below) by
``group_by("METER_ID").apply_in_pandas(...)`` — run in parallel across the
warehouse — or, chunked per day, ``group_by("METER_ID", "CHUNK")`` followed by
a second, tiny ``apply_in_pandas`` per meter over the day states
(:func:`.partition.chunk_offsets`) and a join that adds each day's offset
(:func:`.partition.apply_offsets` in SQL). The result is cached in a scoped
temporary table (``cache_result``, DDL: before the transaction), so the UDTFs
run once; the warehouse reads counts and final states from it in SQL.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import pandas as pd

from .batch import Policy
from .manifest import ARCHIVES, REGISTERED_PACKAGES
from .partition import chunk_offsets, integrate_partition
from .sql import DEFAULT_STAGE

__all__ = [
    "CHUNK_SCHEMA",
    "OUTPUT_SCHEMA",
    "chunk_partition",
    "offsets_partition",
    "on_warehouse",
    "straight_partition",
    "struct_type",
    "udtf_options",
]

_EPOCH = dt.date(1970, 1, 1)


# -- the UDTFs' end_partition: module-level, so apply_in_pandas pickles them by reference
# and the UDTFs find them in procedure.zip; each only forwards to .partition, where the
# integration lives and is tested on plain pandas frames.
def straight_partition(frame: pd.DataFrame, policy: Policy) -> pd.DataFrame:
    """One meter's window, continuing its incoming state (the UDTF's ``end_partition``)."""
    return integrate_partition(frame, policy)


def chunk_partition(frame: pd.DataFrame, policy: Policy) -> pd.DataFrame:
    """One (meter, day) chunk from an empty state (the UDTF's ``end_partition``)."""
    return integrate_partition(frame, policy, from_empty=True)


def offsets_partition(frame: pd.DataFrame, policy: Policy) -> pd.DataFrame:
    """One meter's day states folded in order (the second UDTF's ``end_partition``)."""
    return chunk_offsets(frame, policy)


def struct_type(fields: Sequence[tuple[str, str]]) -> Any:
    """The Snowpark ``StructType`` of ``(name, kind)`` pairs such as :data:`OUTPUT_SCHEMA`."""
    from snowflake.snowpark import types as t

    kinds = {
        "str": t.StringType(),
        "int": t.LongType(),
        "float": t.DoubleType(),
        "bool": t.BooleanType(),
        "ts": t.TimestampType(t.TimestampTimeZone.NTZ),
    }
    return t.StructType([t.StructField(name, kinds[kind]) for name, kind in fields])


#: The partition functions' output as Snowpark types (:data:`.partition.OUTPUT_COLUMNS`).
OUTPUT_SCHEMA = (
    ("METER_ID", "str"), ("CHUNK", "int"), ("ID", "int"), ("TIMESTAMP", "ts"), ("KW", "float"),
    ("INTERVAL_KWH", "float"), ("CUMULATIVE_KWH", "float"), ("REASON", "str"),
    ("IS_FIRST", "bool"), ("STATE", "str"),
)  # fmt: skip
#: :func:`offsets_partition`'s output (:data:`.partition.CHUNK_COLUMNS`).
CHUNK_SCHEMA = (
    ("METER_ID", "str"), ("CHUNK", "int"), ("OFFSET_KWH", "float"), ("BRIDGE_KWH", "float"),
    ("STATE", "str"),
)  # fmt: skip


def udtf_options(stage: str = DEFAULT_STAGE) -> dict[str, Any]:
    """What every UDTF imports (the archives on ``stage``) and the packages it needs."""
    return {
        "imports": [f"@{stage}/{archive}" for archive in ARCHIVES.values()],
        "packages": list(REGISTERED_PACKAGES),
    }


def on_warehouse(stage: str = DEFAULT_STAGE) -> Callable[[Any, str, Policy, bool], Any]:
    """A :class:`~.warehouse.Partitions` running the UDTFs with the archives on ``stage``."""
    options = udtf_options(stage)

    def partitions(session: Any, rows_sql: str, policy: Policy, chunked: bool) -> Any:
        from snowflake.snowpark import functions as f

        col, lit = f.col, f.lit
        rows = session.sql(rows_sql)
        out = struct_type(OUTPUT_SCHEMA)
        if not chunked:
            restated = rows.group_by("METER_ID").apply_in_pandas(
                partial(straight_partition, policy=policy), out, **options
            )
            return restated.cache_result()
        days = rows.with_column("CHUNK", f.datediff("day", lit(_EPOCH), col("TIMESTAMP")))
        local = (
            days.group_by("METER_ID", "CHUNK")
            .apply_in_pandas(partial(chunk_partition, policy=policy), out, **options)
            .cache_result()
        )
        incoming = rows.select("METER_ID", "INCOMING").distinct()
        ends = (
            local.filter(col("STATE").is_not_null())
            .select("METER_ID", "CHUNK", "STATE")
            .join(incoming, on="METER_ID")
        )
        offsets = (
            ends.group_by("METER_ID")
            .apply_in_pandas(
                partial(offsets_partition, policy=policy), struct_type(CHUNK_SCHEMA), **options
            )
            .with_column_renamed("STATE", "STATE_AFTER")
        )
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
        return restated.cache_result()

    return partitions
