"""A batch read without ROW_ID: quarantine rows still get their landed row's ROW_ID, once each."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from local_scenarios import new_store, sql_rows, table

import energy_integral as ei
from energy_integral_snowflake.batch import Policy, integrate_batch
from energy_integral_snowflake.landed import LANDED_COLUMNS, MOST_RANGES, match_row_ids
from energy_integral_snowflake.procedure import run_procedure
from energy_integral_snowflake.schema import tables

NOW = dt.datetime(2026, 1, 2)
T0 = pd.Timestamp("2026-01-01T00:00")
_CONTENT = ["ACTION", "IS_UPDATE", "ID", "METER_ID", "TIMESTAMP", "KW"]


def _as_read(landed: pd.DataFrame) -> pd.DataFrame:
    """The rows as :meth:`~energy_integral_snowflake.store.SqlStore.load_batch` reads them."""
    return landed.assign(IS_DELETE=landed["ACTION"] == "DELETE")[list(LANDED_COLUMNS)]


def _content(row: tuple[Any, ...] | pd.Series) -> tuple[Any, ...]:
    """A landing row's columns the batch is integrated from, NaN and NaT comparable."""
    return tuple("missing" if pd.isna(v) else v for v in row)


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 4) | st.none(),  # source ids repeat, or are NULL
            st.sampled_from(
                [("INSERT", False), ("DELETE", False), ("INSERT", True), ("DELETE", True)]
            ),
            st.sampled_from(["a", "b", None]),
            st.integers(0, 3) | st.none(),  # minutes after T0: rows alike are common
            st.sampled_from([1.0, 2.5, float("nan")]),
        ),
        max_size=25,
    ),
    st.sampled_from(["reject", "last", "mean", "step"]),
    st.booleans(),
)
def test_reading_without_row_id_changes_nothing_but_which_alike_row_gives_its_row_id(
    rows: list[tuple[Any, ...]], on_duplicate: str, with_state: bool
) -> None:
    landed = pd.DataFrame(
        [(1, f"r{k}", action, update, i, meter,
          None if minutes is None else T0 + pd.Timedelta(minutes=minutes), kw, NOW)
         for k, (i, (action, update), meter, minutes, kw) in enumerate(rows)],
        columns=tables().landing.column_names,
    )  # fmt: skip
    landed["ID"] = landed["ID"].astype("Int64")
    states = {}
    if with_state:  # rows at or before 1 minute are late or already integrated
        first = ei.integrate_meters(["a"], np.array([T0 + pd.Timedelta(minutes=1)]), [2.5])
        states = dict(first.states)
    policy = Policy(on_duplicate=on_duplicate)
    calls: list[int] = []

    def row_ids(wanted: pd.DataFrame) -> list[Any]:
        calls.append(len(wanted))
        return match_row_ids(wanted, _as_read(landed).assign(ROW_ID=landed["ROW_ID"]))

    old = integrate_batch(landed, states, 1, policy, NOW)
    new = integrate_batch(_as_read(landed), states, 1, policy, NOW, row_ids)
    assert calls == ([len(old.quarantine)] if old.quarantine else [])  # one lookup, if any
    pd.testing.assert_frame_equal(new.results.frame, old.results.frame)  # type: ignore[attr-defined]
    assert (new.states, new.rows_integrated, new.rows_rejected, new.kwh_added) == (
        old.states, old.rows_integrated, old.rows_rejected, old.kwh_added)  # fmt: skip
    # The same quarantine rows but for the ROW_ID ...
    strip = lambda q: [_content((*r[:1], *r[2:8])) for r in q]  # noqa: E731
    assert strip(new.quarantine) == strip(old.quarantine)
    # ... which is that of a landed row alike in every column read, each one once ...
    by_id = {r.ROW_ID: _content(r[_CONTENT]) for _, r in landed.iterrows()}
    for before, after in zip(old.quarantine, new.quarantine, strict=True):
        assert by_id[after[1]] == by_id[before[1]]
    assert len({q[1] for q in new.quarantine}) == len(new.quarantine)
    # ... so an update's halves keep their one ROW_ID and distinct reasons: distinct keys.
    keys = [(q[0], q[1], q[6]) for q in new.quarantine]
    assert len(set(keys)) == len(keys)
    # Where no two landed rows are alike, it is the very ROW_ID of the row.
    if not landed[_CONTENT].astype(str).duplicated().any():
        assert [q[1] for q in new.quarantine] == [q[1] for q in old.quarantine]


def test_without_row_id_nor_a_lookup_a_quarantined_row_is_an_error() -> None:
    landed = pd.DataFrame({"IS_DELETE": [True], "IS_UPDATE": [False], "ID": [1],
                           "METER_ID": ["a"], "TIMESTAMP": [T0], "KW": [1.0]})  # fmt: skip
    with pytest.raises(ValueError, match="ROW_ID"):
        integrate_batch(landed, {}, 1, Policy(), NOW)


def _source_rows(store: Any, rows: list[tuple[int, str, str, float]]) -> None:
    for i, meter, ts, kw in rows:
        sql_rows(store.session, 'INSERT INTO "RANDOM_VALUES" ("ID", "METER_ID", "TIMESTAMP", '
                 '"KW") VALUES (?, ?, ?, ?)', [i, meter, ts, kw])  # fmt: skip


def test_on_the_engine_each_quarantine_row_names_its_own_landed_row() -> None:
    store = new_store()
    _source_rows(store, [(1, "a", "2026-01-01 00:00:00", 1.0), (2, "a", "2026-01-01 00:01:00", 2.0),
                         (3, "b", "2026-01-01 00:00:00", 3.0)])  # fmt: skip
    assert run_procedure(store, Policy()).status == "ok"
    # An update, a delete, a late row, an invalid one and two readings of one time.
    sql_rows(store.session, 'UPDATE "RANDOM_VALUES" SET "KW" = 5.0 WHERE "ID" = 1')
    sql_rows(store.session, 'DELETE FROM "RANDOM_VALUES" WHERE "ID" = 3')
    _source_rows(store, [(4, "a", "2026-01-01 00:00:30", 1.0), (5, "b", "2026-01-01 00:02:00",
                          float("nan")), (6, "a", "2026-01-01 00:02:00", 1.0),
                         (7, "a", "2026-01-01 00:02:00", 4.0)])  # fmt: skip
    summary = run_procedure(store, Policy())
    (batch,) = summary.integrated
    quarantine = table(store.session, "QUARANTINED_READINGS")
    mine = quarantine[quarantine["BATCH_ID"] == batch["batch_id"]]
    landed = table(store.session, "LANDED_READINGS")
    landed = landed[landed["BATCH_ID"] == batch["batch_id"]]
    assert len(mine) == batch["rows_rejected"] == 6  # 2 of the update, delete, late, NaN, dup
    assert not mine.duplicated(["BATCH_ID", "ROW_ID", "REASON"]).any()
    columns = ["ID", "METER_ID", "TIMESTAMP", "KW"]
    for _, q in mine.iterrows():  # an update's halves share a ROW_ID: one of them is it
        given = landed.loc[landed["ROW_ID"] == q["ROW_ID"], columns]
        assert _content(q[columns]) in [_content(r) for _, r in given.iterrows()]
    halves = mine[mine["ID"] == 1].sort_values("REASON")
    assert halves["REASON"].tolist() == ["correction", "replaced"]  # late new value, old one
    assert halves["ROW_ID"].nunique() == 1
    assert halves["KW"].tolist() == [5.0, 1.0]


def test_many_looked_up_rows_are_read_as_ranges_and_matched_exactly() -> None:
    store = new_store()
    n = 4 * MOST_RANGES
    _source_rows(store, [(i, f"m{i % 7}", f"2026-01-01 00:{i // 60:02}:{i % 60:02}", 1.0)
                         for i in range(1, n + 1)])  # fmt: skip
    batch_id = store.consume()
    assert batch_id is not None
    landed, _, _ = store.load_batch(batch_id, "trapezoid")
    wanted = landed.iloc[np.random.default_rng(3).permutation(n)[: 3 * MOST_RANGES // 2]]
    truth = dict(sql_rows(store.session, 'SELECT "ID", "ROW_ID" FROM "LANDED_READINGS" '
                          'WHERE "BATCH_ID" = ?', [batch_id]))  # fmt: skip
    assert store.landed_row_ids(batch_id, wanted) == [truth[i] for i in wanted["ID"]]
    assert store.landed_row_ids(batch_id, wanted.iloc[:0]) == []
