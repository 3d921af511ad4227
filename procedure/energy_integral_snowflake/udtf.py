"""The partition functions as the warehouse runs them: UDTF entry points and Snowpark schemas.

:class:`~.warehouse_snowflake.SnowflakeWarehouse` hands these functions to
``apply_in_pandas``, which pickles them by reference: each is a module-level
function of this package, so the UDTFs find it in ``procedure.zip`` (see
:mod:`.archives`). Each is the ``end_partition`` of one UDTF and only forwards
to :mod:`.partition`, where the integration itself lives and is tested on
plain pandas frames.

The schemas are ``(name, kind)`` pairs, turned into Snowpark types by
:func:`struct_type` only when a session needs them, so importing this module
needs no Snowpark.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from .batch import Policy
from .partition import chunk_offsets, integrate_partition

__all__ = [
    "CHUNK_SCHEMA",
    "OUTPUT_SCHEMA",
    "WINDOWS_SCHEMA",
    "chunk_partition",
    "offsets_partition",
    "straight_partition",
    "struct_type",
]


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
#: The windows table joined to the source rows: each meter's bounds and incoming state.
WINDOWS_SCHEMA = (
    ("METER_ID", "str"), ("AFTER", "ts"), ("THROUGH", "ts"), ("INCLUSIVE", "bool"),
    ("INCOMING", "str"),
)  # fmt: skip
