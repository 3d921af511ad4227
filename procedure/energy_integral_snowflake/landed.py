"""A batch's landed rows: as they are read, in source order, and the ``ROW_ID`` of a few.

A batch is read for integration without its ``ROW_ID``: a million distinct
strings per million rows, while only quarantine rows carry one (it is half of
their key, ``(BATCH_ID, ROW_ID, REASON)``). Once the batch is integrated, the
rows it quarantines are read again with it, by one statement for all of them
(:func:`lookup_sql`), and each is matched to a landed row alike in every
column the batch was integrated from (:func:`match_row_ids`).

Rows alike in all those columns differ in nothing the integration sees, so
which of them takes which ``ROW_ID`` is as arbitrary as the order the engine
returns rows in (the only thing that told them apart before); each landed row
gives its ``ROW_ID`` once, so two such rows still get two keys, and the two
halves of an update (one ``ROW_ID``, one a ``DELETE``) keep theirs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ._values import py_scalar, py_times

__all__ = [
    "LANDED_COLUMNS",
    "LANDED_SELECT",
    "RowIds",
    "deletes",
    "lookup_sql",
    "match_row_ids",
    "quarantine_rows",
    "source_order",
]

#: The columns a batch is integrated from, as :data:`LANDED_SELECT` reads them.
LANDED_COLUMNS = ("IS_DELETE", "IS_UPDATE", "ID", "METER_ID", "TIMESTAMP", "KW")
#: The select list of those columns: the stream's action as a boolean, not as text.
LANDED_SELECT = '"ACTION" = \'DELETE\' AS "IS_DELETE", ' + ", ".join(
    f'"{c}"' for c in LANDED_COLUMNS[1:]
)
#: Most ``ID`` ranges one lookup names (two binds each); more ids are read as ranges.
MOST_RANGES = 100


def lookup_sql(landing: str, batch_id: int, ids: pd.Series) -> tuple[str, list[Any]]:
    """A query of the landed rows of ``batch_id`` whose ``ID`` is one of ``ids`` (and maybe others).

    The ids are named as at most :data:`MOST_RANGES` ranges, split at their widest
    gaps, so the statement stays small however many rows are looked up; rows
    inside a range that were not asked for are read too and left unmatched.

    >>> sql, params = lookup_sql('"L"', 7, pd.Series([5, 3, None, 3]))
    >>> sql.endswith('WHERE "BATCH_ID" = ? AND ("ID" IN (?, ?) OR "ID" IS NULL)'), params
    (True, [7, 3, 5])
    """
    values = [_integral(py_scalar(v)) for v in pd.unique(ids.to_numpy(dtype=object))]
    present = sorted(v for v in values if v is not None)
    terms: list[str] = []
    params: list[Any] = [batch_id]
    if not all(isinstance(v, int) for v in present):
        terms.append("TRUE")  # not integers: no ranges, every row of the batch is read
    elif len(present) <= MOST_RANGES:
        if present:
            terms.append(f'"ID" IN ({", ".join("?" * len(present))})')
            params += present
    else:
        for low, high in _ranges(np.array(present, dtype=np.int64), MOST_RANGES):
            terms.append('"ID" BETWEEN ? AND ?')
            params += [low, high]
    if len(present) < len(values):
        terms.append('"ID" IS NULL')
    sql = (
        f'SELECT "ROW_ID", {LANDED_SELECT} FROM {landing} '
        f'WHERE "BATCH_ID" = ? AND ({" OR ".join(terms)})'
    )
    return sql, params


def _integral(value: Any) -> Any:
    """A float id that holds an integer exactly as that integer (a column with NULLs may
    come as floats); anything else as it is."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def _ranges(values: np.ndarray[Any, np.dtype[np.int64]], most: int) -> list[tuple[int, int]]:
    """Sorted distinct ``values`` as ``most`` closed ranges, cut at the widest gaps.

    >>> _ranges(np.array([1, 2, 3, 10, 11, 40]), 3)
    [(1, 3), (10, 11), (40, 40)]
    """
    cuts = np.sort(np.argsort(np.diff(values), kind="stable")[values.size - most :])
    lows, highs = values[np.append(0, cuts + 1)], values[np.append(cuts, values.size - 1)]
    return list(zip(lows.tolist(), highs.tolist(), strict=True))


def _keys(rows: pd.DataFrame) -> list[tuple[Any, ...]]:
    """Each row's values of :data:`LANDED_COLUMNS`, comparable across two reads."""
    columns = []
    for name in LANDED_COLUMNS:
        values = [py_scalar(v) for v in rows[name].tolist()]
        if name == "KW":  # NaN equals nothing, and -0.0 equals 0.0: compare the bits
            values = [None if v is None else float(v).hex() for v in values]
        columns.append(values)
    return list(zip(*columns, strict=True))


def match_row_ids(wanted: pd.DataFrame, found: pd.DataFrame) -> list[Any]:
    """The ``ROW_ID`` of each row of ``wanted``, from the rows ``found`` alike in every column.

    Each row of ``found`` gives its ``ROW_ID`` once, the smallest first; a row
    with none left (its batch was renumbered meanwhile, so its claim fails) gets None.

    >>> found = pd.DataFrame({"ROW_ID": ["r2", "r1", "r3"], "IS_DELETE": [False] * 3,
    ...     "IS_UPDATE": [False] * 3, "ID": [4, 4, 5], "METER_ID": ["a"] * 3,
    ...     "TIMESTAMP": pd.to_datetime(["2026-01-01"] * 3), "KW": [1.0, 1.0, 2.0]})
    >>> match_row_ids(found.drop(columns="ROW_ID").iloc[[0, 1, 1, 0]], found)
    ['r1', 'r2', None, None]
    """
    pool: dict[tuple[Any, ...], list[Any]] = {}
    pairs = zip(_keys(found), found["ROW_ID"].tolist(), strict=True)
    for key, row_id in sorted(pairs, key=lambda pair: str(pair[1]), reverse=True):
        pool.setdefault(key, []).append(row_id)  # the smallest last: popped first
    out: list[Any] = []
    for key in _keys(wanted):
        left = pool.get(key)
        out.append(left.pop() if left else None)
    return out


def source_order(
    ids: pd.Series, is_delete: np.ndarray[Any, np.dtype[np.bool_]]
) -> np.ndarray[Any, np.dtype[np.intp]]:
    """Positions of landed rows by ``ID``, deletes first at one ``ID``, stable (NULL ids last).

    The order rows reached the source in, so that "the first of two duplicates" is
    the earlier one, and an update's old half comes before its new one.

    >>> source_order(pd.Series([7, 3, 7, 3]), np.array([False, False, True, False]))
    array([1, 3, 2, 0])
    """
    id_values = ids.to_numpy()
    if id_values.dtype.kind in "iu":
        if not is_delete.any() and bool((id_values[1:] >= id_values[:-1]).all()):
            return np.arange(id_values.size, dtype=np.intp)  # read in order already
        deletes_first = np.append(np.flatnonzero(is_delete), np.flatnonzero(~is_delete))
        return deletes_first[np.argsort(id_values[deletes_first], kind="stable")]
    keys = pd.DataFrame({"ID": id_values, "INSERT": ~is_delete})
    return keys.sort_values(["ID", "INSERT"], kind="stable").index.to_numpy(dtype=np.intp)


#: Looks up the ``ROW_ID`` of landed rows read without it (:meth:`~.store.SqlStore.landed_row_ids`).
RowIds = Callable[[pd.DataFrame], Sequence[Any]]


def deletes(landed: pd.DataFrame) -> np.ndarray[Any, np.dtype[np.bool_]]:
    """Which landed rows are deletes: read as ``IS_DELETE``, or from the ``ACTION`` text."""
    if "IS_DELETE" in landed:
        return landed["IS_DELETE"].to_numpy(dtype=bool)
    return np.asarray(landed["ACTION"].to_numpy(dtype=object) == "DELETE", dtype=bool)


def quarantine_rows(
    landed: pd.DataFrame,
    spots: list[int],
    why: list[tuple[str, str]],
    times: np.ndarray[Any, np.dtype[np.datetime64]],
    batch_id: int,
    now: dt.datetime,
    row_ids: RowIds | None,
) -> list[tuple[Any, ...]]:
    """Quarantine rows of the landed rows at ``spots``, with their reasons and details."""
    if not spots:
        return []
    taken = landed.iloc[spots]
    if "ROW_ID" in landed:
        ids = [py_scalar(v) for v in taken["ROW_ID"].tolist()]
    elif row_ids is None:
        raise ValueError("landed rows without ROW_ID need row_ids to quarantine any")
    else:
        ids = list(row_ids(taken))
    columns = [[py_scalar(v) for v in taken[c].tolist()] for c in ("ID", "METER_ID", "KW")]
    stamps = py_times(times[spots])
    return [
        (batch_id, row_id, source_id, meter, ts, kw, reason, detail, now)
        for row_id, source_id, meter, kw, ts, (reason, detail) in zip(
            ids, *columns, stamps, why, strict=True
        )
    ]
