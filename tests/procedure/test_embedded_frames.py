"""The embedded engine's result frames and staged rows: the dtypes and values DuckDB's own give."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from energy_integral_snowflake import embedded
from energy_integral_snowflake.schema import tables

_TYPES = {
    "I": "BIGINT",
    "J": "INTEGER",
    "F": "DOUBLE",
    "B": "BOOLEAN",
    "S": "VARCHAR",
    "T": "TIMESTAMP_NS",
    "U": "TIMESTAMP",
    "D": "DATE",
    "N": "DECIMAL(10, 2)",
}
_NS = st.integers(-(2**62), 2**62).map(lambda ns: str(pd.Timestamp(ns)))
_VALUES = {
    "I": st.integers(-(2**62), 2**62),
    "J": st.integers(-(2**31), 2**31 - 1),
    "F": st.floats(allow_nan=False),
    "B": st.booleans(),
    "S": st.sampled_from(["m1", "m2", ""]) | st.text(max_size=5),  # repeats, and not
    "T": _NS,
    "U": _NS,
    "D": st.dates().map(str),
    "N": st.decimals(-(10**7), 10**7, places=2, allow_nan=False, allow_infinity=False),
}
_ROW = st.tuples(*(st.none() | v for v in _VALUES.values()))


@settings(max_examples=40, deadline=None)
@given(rows=st.lists(_ROW, max_size=12))
def test_a_result_frame_has_the_dtypes_and_values_of_duckdbs_own(
    rows: list[tuple[Any, ...]],
) -> None:
    session = embedded.connect()
    columns = ", ".join(f'"{c}" {t}' for c, t in _TYPES.items())
    session.connection.execute(f'CREATE TABLE "T" ({columns})')
    for row in rows:
        marks = ", ".join("?" * len(row))
        session.connection.execute(f'INSERT INTO "T" VALUES ({marks})', list(row))
    want = session.connection.execute('SELECT * FROM "T"').df()
    got = session.sql('SELECT * FROM "T"').to_pandas()
    pd.testing.assert_frame_equal(got, want)


def test_a_long_text_column_of_few_values_reads_as_duckdbs_own() -> None:
    session = embedded.connect()
    session.connection.execute(
        "CREATE TABLE \"T\" AS SELECT CASE WHEN i % 7 = 0 THEN NULL ELSE 'm' || (i % 5) END "
        'AS "M", \'r\' || i AS "R" FROM range(10000) AS r(i)'
    )
    want = session.connection.execute('SELECT * FROM "T"').df()
    got = session.sql('SELECT * FROM "T"').to_pandas()
    pd.testing.assert_frame_equal(got, want)
    assert got["M"].iloc[1] is got["M"].iloc[6]  # one string for a value, not one per row


def test_nulls_nanoseconds_and_upper_case_names_come_back_as_written() -> None:
    session = embedded.connect()
    frame = session.sql(
        "SELECT * FROM VALUES (1::NUMBER(38, 0), 'a', "
        "'2026-01-01 00:00:00.000000001'::TIMESTAMP_NTZ(9)), "
        '(NULL, NULL, NULL) AS v("ID", "METER_ID", "TIMESTAMP")'
    ).to_pandas()
    assert list(frame.columns) == ["ID", "METER_ID", "TIMESTAMP"]
    assert str(frame["ID"].dtype) == "Int64"
    assert frame["ID"].isna().tolist() == [False, True]
    assert frame["METER_ID"].tolist() == ["a", None]
    assert frame["TIMESTAMP"].dtype == "datetime64[ns]"
    assert frame["TIMESTAMP"].iloc[0].nanosecond == 1
    assert pd.isna(frame["TIMESTAMP"].iloc[1])


def test_staged_rows_are_written_as_given_and_the_given_frame_is_left_alone() -> None:
    session = embedded.connect()
    embedded.setup(session)
    source = tables().source
    given_frame = pd.DataFrame(
        {
            "ID": [1, 2],
            "METER_ID": ["m", "n"],
            "TIMESTAMP": ["2026-01-01 00:00:00.000000001", None],  # text, as rows may come
            "KW": [2.5, np.nan],
        }
    )
    before = given_frame.copy()
    staged = session.stage_rows(source, given_frame)
    session.sql(f"INSERT INTO {source.quoted} SELECT * FROM {staged}").collect()
    pd.testing.assert_frame_equal(given_frame, before)
    written = session.sql(f'SELECT * FROM {source.quoted} ORDER BY "ID"').to_pandas()
    assert written["TIMESTAMP"].iloc[0] == pd.Timestamp("2026-01-01 00:00:00.000000001")
    assert pd.isna(written["TIMESTAMP"].iloc[1])
    assert pd.isna(written["KW"].iloc[1])
    session.sql("COMMIT").collect()  # no transaction is open: the staged view goes anyway
    assert session.connection.execute(
        "SELECT COUNT(*) FROM duckdb_views() WHERE view_name LIKE '__EI_STAGED_%'"
    ).fetchall() == [(0,)]
