"""The tables as data: the issue's columns, natural keys, names, Snowpark schemas."""

from __future__ import annotations

import pytest
import sqlglot

from energy_integral_snowflake.schema import ObjectNames, quote_identifier, tables


def test_the_issue_columns_in_order() -> None:
    t = tables()
    assert t.source.column_names == ("ID", "METER_ID", "TIMESTAMP", "KW")
    assert t.source.column("METER_ID").default == "'default'"
    assert t.source.column("TIMESTAMP").sql_type.startswith("TIMESTAMP_NTZ")
    assert t.results.column_names == (
        "METER_ID",
        "TIMESTAMP",
        "KW",
        "INTERVAL_KWH",
        "CUMULATIVE_KWH",
        "METHOD",
        "BATCH_ID",
        "COMPUTED_AT",
    )
    assert t.results.key == ("METER_ID", "TIMESTAMP", "METHOD")
    assert {
        "BATCH_ID",
        "ROWS_READ",
        "ROWS_INTEGRATED",
        "ROWS_REJECTED",
        "KWH_ADDED",
        "STATUS",
    } <= set(t.marker.column_names)
    assert {"REASON", "DETAIL", "QUARANTINED_AT"} <= set(t.quarantine.column_names)


def test_every_key_names_existing_columns_and_ddl_parses() -> None:
    for table in tables():
        assert set(table.key) <= set(table.column_names), table.name
        parsed = sqlglot.parse_one(table.ddl(), read="snowflake")
        assert [c.name for c in parsed.find_all(sqlglot.exp.ColumnDef)] == list(table.column_names)
        assert [f.name for f in table.struct_type().fields] == list(table.column_names)


def test_names_are_configurable_and_validated() -> None:
    names = ObjectNames(results="kwh", landing="landed_v2")
    assert tables(names).results.name == "KWH"
    assert tables(names).landing.quoted == '"LANDED_V2"'
    with pytest.raises(ValueError, match="results='x; drop'"):
        ObjectNames(results="x; drop")
    assert quote_identifier('a"b') == '"a""b"'
