"""Every table the procedure reads or writes, as data: names, ordered columns, Snowflake types.

One source of truth for the Python code (Snowpark schemas, the local
emulation), the setup SQL (its DDL is tested against these definitions) and
the docs. Names are configurable through :class:`ObjectNames`; the defaults are
the seed system's.

==========================  ==================================================================
table (default name)        role
==========================  ==================================================================
``RANDOM_VALUES``           the source readings; the stream ``RANDOM_VALUES_STREAM`` is on it
``LANDED_READINGS``         phase 1 copies the stream's rows here, tagged with a batch id
``INTEGRAL_SUM_VALUES``     one row per integrated reading; key (METER_ID, TIMESTAMP, METHOD)
``STREAM_CONSUMED_MARKER``  one row per batch: consumed in phase 1, integrated in phase 2
``METER_STATE``             each meter's ``CumulativeState`` (JSON) after each batch
``QUARANTINED_READINGS``    rejected rows with their reason
``RESOLVED_READINGS``       quarantined ``late``/``correction`` rows a reconciliation resolved
``RECONCILIATION_AUDIT``    per meter and reconcile (or backfill) batch: window, kWh before/after
==========================  ==================================================================
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, fields
from typing import Any

__all__ = [
    "BACKFILL_PROCEDURE",
    "DEFAULT_NAMES",
    "RECONCILE_PROCEDURE",
    "STATUS_INTEGRATED",
    "STATUS_LANDED",
    "Column",
    "ObjectNames",
    "Table",
    "Tables",
    "quote_identifier",
    "snowpark_type",
    "tables",
]

#: Marker ``STATUS`` after phase 1 (rows landed, stream advanced) and after phase 2.
STATUS_LANDED = "LANDED"
STATUS_INTEGRATED = "INTEGRATED"

#: The backfill and reconcile procedures' names. Unlike ``ObjectNames.procedure`` they
#: are fixed: their callers (the CLI, scripts) name them as they are.
BACKFILL_PROCEDURE = "BACKFILL_READINGS"
RECONCILE_PROCEDURE = "RECONCILE_READINGS"

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]{0,254}$")


def quote_identifier(name: str) -> str:
    """``name`` as a quoted Snowflake identifier.

    >>> quote_identifier("RANDOM_VALUES")
    '"RANDOM_VALUES"'
    >>> quote_identifier('we"ird')
    '"we""ird"'
    """
    return '"' + name.replace('"', '""') + '"'


def _check_identifier(argument: str, value: str) -> str:
    if not isinstance(value, str) or not _IDENTIFIER.match(value):
        raise ValueError(
            f"{argument}={value!r} is not a plain Snowflake identifier "
            "(letters, digits, _ and $, starting with a letter or _)"
        )
    # Unquoted identifiers are upper-cased by Snowflake; normalising here keeps the
    # quoted names our SQL uses equal to the ones an unquoted DDL statement creates.
    return value.upper()


@dataclass(frozen=True)
class Column:
    """One column: its name, Snowflake type, whether it may be NULL and its SQL default."""

    name: str
    sql_type: str
    nullable: bool = True
    default: str | None = None

    def ddl(self) -> str:
        """The column's clause in ``CREATE TABLE``."""
        parts = [quote_identifier(self.name), self.sql_type]
        if self.default is not None:
            parts.append(f"DEFAULT {self.default}")
        if not self.nullable:
            parts.append("NOT NULL")
        return " ".join(parts)

    def snowpark_type(self) -> Any:
        """The matching ``snowflake.snowpark.types`` instance (see :func:`snowpark_type`)."""
        return snowpark_type(self.sql_type)


def snowpark_type(sql_type: str) -> Any:
    """The ``snowflake.snowpark.types`` instance of a Snowflake type (imports Snowpark lazily).

    The one map from the SQL types this adapter uses, for table columns and
    procedure arguments alike. (The embedded engine's map is
    :func:`~.transpile.translate`'s.)
    """
    from snowflake.snowpark import types as t

    base = sql_type.split("(")[0].upper()
    if base == "NUMBER":
        return t.LongType()
    if base == "FLOAT":
        return t.DoubleType()
    if base == "VARCHAR":
        return t.StringType()
    if base == "BOOLEAN":
        return t.BooleanType()
    if base == "TIMESTAMP_NTZ":
        return t.TimestampType(t.TimestampTimeZone.NTZ)
    raise ValueError(f"sql_type={sql_type!r} has no Snowpark mapping here")


@dataclass(frozen=True)
class Table:
    """A table: its (unquoted, upper-case) name, ordered columns and natural key."""

    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()

    @property
    def column_names(self) -> tuple[str, ...]:
        """The column names in table order."""
        return tuple(c.name for c in self.columns)

    @property
    def quoted(self) -> str:
        """The table name as a quoted identifier."""
        return quote_identifier(self.name)

    def column(self, name: str) -> Column:
        """The column called ``name``."""
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"table {self.name} has no column {name!r}; it has {self.column_names}")

    def struct_type(self) -> Any:
        """A Snowpark ``StructType`` with this table's columns in order."""
        from snowflake.snowpark import types as t

        return t.StructType(
            [t.StructField(c.name, c.snowpark_type(), c.nullable) for c in self.columns]
        )

    def ddl(self) -> str:
        """``CREATE TABLE IF NOT EXISTS`` for this table (a reference for the setup SQL)."""
        body = ",\n    ".join(c.ddl() for c in self.columns)
        return f"CREATE TABLE IF NOT EXISTS {self.quoted} (\n    {body}\n)"


@dataclass(frozen=True)
class ObjectNames:
    """The names of every Snowflake object the procedure touches (defaults: the seed's).

    Names are plain identifiers, normalised to upper case.

    >>> ObjectNames(source="readings").source
    'READINGS'
    """

    source: str = "RANDOM_VALUES"
    stream: str = "RANDOM_VALUES_STREAM"
    results: str = "INTEGRAL_SUM_VALUES"
    marker: str = "STREAM_CONSUMED_MARKER"
    state: str = "METER_STATE"
    quarantine: str = "QUARANTINED_READINGS"
    landing: str = "LANDED_READINGS"
    resolved: str = "RESOLVED_READINGS"
    audit: str = "RECONCILIATION_AUDIT"
    procedure: str = "INTEGRATE_STREAM"
    task: str = "INTEGRATE_STREAM_TASK"
    sequence: str = "BATCH_ID_SEQUENCE"

    def __post_init__(self) -> None:
        for f in fields(self):
            object.__setattr__(self, f.name, _check_identifier(f.name, getattr(self, f.name)))


DEFAULT_NAMES = ObjectNames()

_NUMBER = "NUMBER(38,0)"
_TS = "TIMESTAMP_NTZ(9)"


def _source(name: str) -> Table:
    return Table(
        name,
        (
            Column("ID", _NUMBER, nullable=False),
            Column("METER_ID", "VARCHAR", default="'default'"),
            Column("TIMESTAMP", _TS),
            Column("KW", "FLOAT"),
        ),
        key=("ID",),
    )


def _landing(name: str) -> Table:
    return Table(
        name,
        (
            Column("BATCH_ID", _NUMBER, nullable=False),
            Column("ROW_ID", "VARCHAR"),  # the stream's METADATA$ROW_ID
            Column("ACTION", "VARCHAR", nullable=False),  # METADATA$ACTION: INSERT | DELETE
            Column("IS_UPDATE", "BOOLEAN", nullable=False),  # METADATA$ISUPDATE
            Column("ID", _NUMBER),
            Column("METER_ID", "VARCHAR"),
            Column("TIMESTAMP", _TS),
            Column("KW", "FLOAT"),
            Column("LANDED_AT", _TS, nullable=False),
        ),
        key=("BATCH_ID", "ROW_ID", "ACTION"),
    )


def _results(name: str) -> Table:
    return Table(
        name,
        (
            Column("METER_ID", "VARCHAR", nullable=False),
            Column("TIMESTAMP", _TS, nullable=False),
            Column("KW", "FLOAT", nullable=False),
            Column("INTERVAL_KWH", "FLOAT", nullable=False),
            Column("CUMULATIVE_KWH", "FLOAT", nullable=False),
            Column("METHOD", "VARCHAR", nullable=False),
            Column("BATCH_ID", _NUMBER, nullable=False),
            Column("COMPUTED_AT", _TS, nullable=False),
        ),
        key=("METER_ID", "TIMESTAMP", "METHOD"),
    )


def _marker(name: str) -> Table:
    return Table(
        name,
        (
            Column("BATCH_ID", _NUMBER, nullable=False),
            Column("CONSUMED_AT", _TS, nullable=False),
            Column("PROCESSED_AT", _TS),
            Column("ROWS_READ", _NUMBER, nullable=False),
            Column("ROWS_INTEGRATED", _NUMBER),
            Column("ROWS_REJECTED", _NUMBER),
            Column("METERS", _NUMBER),
            Column("MIN_TIMESTAMP", _TS),
            Column("MAX_TIMESTAMP", _TS),
            Column("LAST_SOURCE_ID", _NUMBER),  # the batch's largest source ID
            Column("KWH_ADDED", "FLOAT"),
            Column("DURATION_S", "FLOAT"),
            Column("METHOD", "VARCHAR"),
            Column("STATUS", "VARCHAR", nullable=False),
            Column("DETAIL", "VARCHAR"),  # why a LANDED batch could not be integrated
        ),
        key=("BATCH_ID",),
    )


def _state(name: str) -> Table:
    return Table(
        name,
        (
            Column("METER_ID", "VARCHAR", nullable=False),
            Column("METHOD", "VARCHAR", nullable=False),
            Column("STATE", "VARCHAR", nullable=False),  # CumulativeState.to_dict() as JSON
            Column("BATCH_ID", _NUMBER, nullable=False),  # the batch this state is *after*
            Column("UPDATED_AT", _TS, nullable=False),
        ),
        key=("METER_ID", "METHOD", "BATCH_ID"),
    )


def _quarantine(name: str) -> Table:
    return Table(
        name,
        (
            Column("BATCH_ID", _NUMBER, nullable=False),
            Column("ROW_ID", "VARCHAR"),
            Column("ID", _NUMBER),
            Column("METER_ID", "VARCHAR"),
            Column("TIMESTAMP", _TS),
            Column("KW", "FLOAT"),
            Column("REASON", "VARCHAR", nullable=False),  # one of ei.REJECTION_REASONS
            Column("DETAIL", "VARCHAR"),
            Column("QUARANTINED_AT", _TS, nullable=False),
        ),
        key=("BATCH_ID", "ROW_ID", "REASON"),
    )


def _resolved(name: str) -> Table:
    return Table(
        name,
        (
            # The key of the quarantine row resolved.
            Column("QUARANTINE_BATCH_ID", _NUMBER, nullable=False),
            Column("ROW_ID", "VARCHAR"),
            Column("REASON", "VARCHAR", nullable=False),
            Column("RESOLUTION", "VARCHAR", nullable=False),  # restated | already-integrated
            Column("BATCH_ID", _NUMBER, nullable=False),  # the reconcile batch
            Column("RESOLVED_AT", _TS, nullable=False),
        ),
        key=("QUARANTINE_BATCH_ID", "ROW_ID", "REASON"),
    )


def _audit(name: str) -> Table:
    return Table(
        name,
        (
            Column("BATCH_ID", _NUMBER, nullable=False),  # the reconcile or backfill batch
            Column("METER_ID", "VARCHAR", nullable=False),
            Column("METHOD", "VARCHAR", nullable=False),
            Column("KIND", "VARCHAR", nullable=False),  # RECONCILED | BACKFILLED
            Column("WINDOW_START", _TS),  # restated: WINDOW_START < TIMESTAMP <= WINDOW_END
            Column("WINDOW_END", _TS),
            Column("KWH_BEFORE", "FLOAT", nullable=False),  # the meter's total energy
            Column("KWH_AFTER", "FLOAT", nullable=False),
            Column("DELTA_KWH", "FLOAT", nullable=False),
            Column("ROWS_RESTATED", _NUMBER, nullable=False),
            Column("AUDITED_AT", _TS, nullable=False),
        ),
        key=("BATCH_ID", "METER_ID", "METHOD"),
    )


@dataclass(frozen=True)
class Tables:
    """The procedure's tables under one set of names."""

    source: Table
    landing: Table
    results: Table
    marker: Table
    state: Table
    quarantine: Table
    resolved: Table
    audit: Table

    def __iter__(self) -> Iterator[Table]:
        return iter(getattr(self, f.name) for f in fields(self))


def tables(names: ObjectNames = DEFAULT_NAMES) -> Tables:
    """Every table's definition under ``names``.

    >>> [t.name for t in tables()]  # doctest: +NORMALIZE_WHITESPACE
    ['RANDOM_VALUES', 'LANDED_READINGS', 'INTEGRAL_SUM_VALUES', 'STREAM_CONSUMED_MARKER',
     'METER_STATE', 'QUARANTINED_READINGS', 'RESOLVED_READINGS', 'RECONCILIATION_AUDIT']
    >>> tables().results.key
    ('METER_ID', 'TIMESTAMP', 'METHOD')
    """
    return Tables(
        source=_source(names.source),
        landing=_landing(names.landing),
        results=_results(names.results),
        marker=_marker(names.marker),
        state=_state(names.state),
        quarantine=_quarantine(names.quarantine),
        resolved=_resolved(names.resolved),
        audit=_audit(names.audit),
    )
