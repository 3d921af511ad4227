"""The backfill's partition functions: pandas in, pandas out, one meter (or one day) at a time.

These are what the warehouse runs inside ``group_by(...).apply_in_pandas``
(see :mod:`.warehouse_snowflake`) and what the local engine runs per group on
pandas (:func:`integrate_windows`); no Snowpark here, so they are tested on
pandas frames directly.

Input rows (:data:`INPUT_COLUMNS`) are the source table's ``ID, METER_ID,
TIMESTAMP, KW``, plus ``INCOMING`` — the meter's state before the window as
JSON (NULL for none; the same on every row of a meter) — and ``CHUNK``, the
day number of ``TIMESTAMP`` when chunking per (meter, day).

Two ways to integrate one meter, equal to 1e-12 relative:

* **straight** — :func:`integrate_partition` over all of the meter's rows,
  continuing ``INCOMING``;
* **chunked** — :func:`integrate_partition` over each (meter, day) chunk from
  an empty state, then :func:`chunk_offsets` folds the chunk states in time
  order with :meth:`~energy_integral.CumulativeState.combine`, and
  :func:`apply_offsets` shifts each chunk by what precedes it. With
  :math:`S_0` the incoming state and :math:`c_k` the chunk states,

  .. math::

      S_k = S_{k-1} \\oplus c_k, \\qquad
      \\mathrm{offset}_k = E(S_{k-1}) + e(S_{k-1}.\\mathrm{last}, c_k.\\mathrm{first})

  so a row's cumulative energy is its chunk-local one plus
  :math:`\\mathrm{offset}_k`, and the chunk's first sample gains the bridge
  :math:`e(\\cdot)` as its interval energy.

Rows are taken in ``ID`` order before integrating, so of two readings of one
meter at one time "the first" is the one that reached the source first — as
in the stream procedure. With ``on_duplicate="mean"`` that first row stands
for its group, with ``KW`` the group's mean, with ``"step"`` the last row with
its own power; the others are integrated into it and marked :data:`MERGED`
instead of getting a result row of their own (see :func:`.batch.merge_duplicates`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

import energy_integral as ei

from ._values import checked_times
from .batch import Policy, integrate_rows, state_from_json, state_to_json
from .schema import Column, Table
from .statements import frame, stage_rows

__all__ = [
    "CHUNK_COLUMNS",
    "INPUT_COLUMNS",
    "MERGED",
    "OUTPUT_COLUMNS",
    "RESTATED",
    "apply_offsets",
    "chunk_offsets",
    "day_number",
    "in_process",
    "integrate_partition",
    "integrate_windows",
]

#: Columns the partition functions read.
INPUT_COLUMNS = ("ID", "METER_ID", "TIMESTAMP", "KW", "INCOMING", "CHUNK")
#: Columns :func:`integrate_partition` returns, one row per input row. ``REASON`` is
#: ``""`` for a row with a result row, :data:`MERGED` for one integrated into another
#: row's, else why it was rejected; ``STATE`` (JSON) is set on the partition's last
#: result row only; ``IS_FIRST`` marks the row holding its first interval.
OUTPUT_COLUMNS = ("METER_ID", "CHUNK", "ID", "TIMESTAMP", "KW", "INTERVAL_KWH",
                  "CUMULATIVE_KWH", "REASON", "IS_FIRST", "STATE")  # fmt: skip
#: Columns :func:`chunk_offsets` returns, one row per chunk.
CHUNK_COLUMNS = ("METER_ID", "CHUNK", "OFFSET_KWH", "BRIDGE_KWH", "STATE")

#: ``REASON`` of a row merged into the result row of its meter and time
#: (``on_duplicate="mean"`` or ``"step"``): integrated, but with no result row of its own.
MERGED = "merged"

_NS_PER_DAY = 86_400 * 10**9


def day_number(timestamps: Any) -> np.ndarray[Any, np.dtype[np.int64]]:
    """Whole UTC days since the epoch of ``timestamps`` (the chunk key).

    >>> day_number(np.array(["1970-01-02T23:59", "2026-01-01"], dtype="datetime64[ns]"))
    array([    1, 20454])
    """
    return np.floor_divide(ei.timestamps.to_ns(timestamps), _NS_PER_DAY)


def _incoming(frame: pd.DataFrame, method: str) -> ei.CumulativeState:
    texts: list[Any] = list(frame["INCOMING"].dropna().unique()) if "INCOMING" in frame else []
    if len(texts) > 1:
        raise ei.errors.InvalidArgumentError(
            f"INCOMING differs within one meter's rows: {len(texts)} states"
        )
    if len(texts) == 0:
        return ei.CumulativeState.empty(method)
    return state_from_json(str(texts[0]))


def integrate_partition(
    frame: pd.DataFrame, policy: Policy, *, from_empty: bool = False
) -> pd.DataFrame:
    """Integrate one meter's rows (or one chunk of them) with the library.

    Parameters
    ----------
    frame : DataFrame
        Rows with :data:`INPUT_COLUMNS` (``INCOMING`` and ``CHUNK`` may be absent),
        all of one meter, in any order.
    policy : Policy
        Method and data-quality options, as the stream procedure's.
    from_empty : bool, optional
        Start from an empty state and ignore ``INCOMING`` (a chunk of the chunked
        backfill).

    Returns
    -------
    DataFrame
        :data:`OUTPUT_COLUMNS`, one row per input row, in ``ID`` order.

    Examples
    --------
    >>> rows = pd.DataFrame({"ID": [2, 1], "METER_ID": ["m", "m"], "KW": [3.0, 1.0],
    ...     "TIMESTAMP": pd.to_datetime(["2026-01-01 01:00", "2026-01-01 00:00"])})
    >>> integrate_partition(rows, Policy())["CUMULATIVE_KWH"].tolist()
    [0.0, 2.0]
    """
    rows = frame.sort_values("ID", kind="stable", ignore_index=True)
    meters = rows["METER_ID"].dropna().unique()
    if len(meters) > 1:
        raise ei.errors.InvalidArgumentError(
            f"a partition holds one meter; got {len(meters)}: {list(meters)[:3]}"
        )
    incoming = (
        ei.CumulativeState.empty(policy.method) if from_empty else _incoming(rows, policy.method)
    )
    times = checked_times(rows["TIMESTAMP"])[0]
    power = rows["KW"].to_numpy(dtype=np.float64, na_value=np.nan)
    ids = rows["METER_ID"].to_numpy(dtype=object)
    states = {meters[0]: incoming} if len(meters) else {}
    res, accepted, own, kw, interval = integrate_rows(ids, times, power, states, policy)
    reason = res.reason.astype(object)
    reason[accepted & ~own] = MERGED
    # One result row per time: the first row of its time (in ID order, as the engine
    # sorts stably) holds the chunk's first interval, the last one the state.
    kept = np.flatnonzero(own)
    by_time = kept[np.argsort(times[kept], kind="stable")]
    is_first = np.zeros(len(rows), dtype=bool)
    state = np.full(len(rows), None, dtype=object)
    if by_time.size:
        is_first[by_time[0]] = True
        state[by_time[-1]] = state_to_json(res.states[meters[0]])
    chunk = rows["CHUNK"] if "CHUNK" in rows else pd.Series(0, index=rows.index)
    return pd.DataFrame(
        {
            "METER_ID": rows["METER_ID"].astype(object),
            "CHUNK": chunk.to_numpy(dtype=np.int64),
            "ID": rows["ID"].to_numpy(dtype=np.int64),
            "TIMESTAMP": times,
            "KW": kw,
            "INTERVAL_KWH": interval,
            "CUMULATIVE_KWH": res.cumulative,
            "REASON": reason,
            "IS_FIRST": is_first,
            "STATE": state,
        },
        columns=list(OUTPUT_COLUMNS),
    )


def chunk_offsets(chunks: pd.DataFrame, policy: Policy) -> pd.DataFrame:
    """Fold one meter's chunk states in time order: each chunk's offset and bridge.

    Parameters
    ----------
    chunks : DataFrame
        One row per chunk of one meter: ``METER_ID``, ``CHUNK``, ``STATE`` (the
        chunk's state from empty, JSON) and ``INCOMING`` (the meter's state before
        the window, JSON or NULL).
    policy : Policy
        Its ``max_gap`` drops a bridge longer than the gap, as in the straight run.

    Returns
    -------
    DataFrame
        :data:`CHUNK_COLUMNS`: ``OFFSET_KWH`` to add to the chunk's cumulative
        values, ``BRIDGE_KWH`` to add to its first interval, and ``STATE``, the
        meter's combined state after the chunk (the last chunk's is the meter's).
    """
    chunks = chunks.sort_values("CHUNK", kind="stable", ignore_index=True)
    running = _incoming(chunks, policy.method)
    gap_ns = (
        None if policy.max_gap is None else ei.timestamps.to_duration_ns(policy.max_gap, "max_gap")
    )
    offsets, bridges, after = [], [], []
    for text in chunks["STATE"]:
        chunk = state_from_json(str(text))
        assert chunk.first_ts is not None
        assert chunk.first_power is not None
        bridge = running.bridge_energy(chunk.first_ts, chunk.first_power, gap_ns)
        offsets.append(running.energy + bridge)
        bridges.append(bridge)
        running = running.combine(chunk, max_gap=policy.max_gap)
        after.append(state_to_json(running))
    return pd.DataFrame(
        {
            "METER_ID": chunks["METER_ID"].astype(object),
            "CHUNK": chunks["CHUNK"].to_numpy(dtype=np.int64),
            "OFFSET_KWH": np.asarray(offsets, dtype=np.float64),
            "BRIDGE_KWH": np.asarray(bridges, dtype=np.float64),
            "STATE": pd.Series(after, dtype=object),
        },
        columns=list(CHUNK_COLUMNS),
    )


def apply_offsets(rows: pd.DataFrame, offsets: pd.DataFrame) -> pd.DataFrame:
    """Chunk-local results made global: add each chunk's offset and bridge.

    The warehouse does the same with a join and two column expressions (see
    :mod:`.warehouse_snowflake`). ``STATE`` becomes the combined state on each
    chunk's last row, so the meter's last ``STATE`` is its state after the window.
    """
    keyed = rows.merge(
        offsets, on=["METER_ID", "CHUNK"], how="left", suffixes=("", "_AFTER"), validate="m:1"
    )
    accepted = (keyed["REASON"] == "").to_numpy()
    offset = keyed["OFFSET_KWH"].fillna(0.0).to_numpy(dtype=np.float64)
    bridge = np.where(keyed["IS_FIRST"].to_numpy(dtype=bool), keyed["BRIDGE_KWH"].fillna(0.0), 0.0)
    out = rows.copy()
    out["CUMULATIVE_KWH"] = np.where(accepted, rows["CUMULATIVE_KWH"].to_numpy() + offset, np.nan)
    out["INTERVAL_KWH"] = np.where(accepted, rows["INTERVAL_KWH"].to_numpy() + bridge, np.nan)
    out["STATE"] = keyed["STATE_AFTER"].where(rows["STATE"].notna().to_numpy(), None).to_numpy()
    return out


def integrate_windows(rows: pd.DataFrame, policy: Policy, *, chunked: bool) -> pd.DataFrame:
    """The local engine: every meter's window, straight or chunked per day, on pandas.

    The same partition functions as on the warehouse, grouped by pandas instead
    of ``group_by(...).apply_in_pandas``; rows without a meter are left out (they
    belong to no meter's window).

    Returns
    -------
    DataFrame
        :data:`OUTPUT_COLUMNS` for every input row with a meter.
    """
    rows = rows[rows["METER_ID"].notna()]
    if rows.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in OUTPUT_COLUMNS})
    if not chunked:
        parts = [integrate_partition(g, policy) for _, g in rows.groupby("METER_ID", sort=True)]
        return pd.concat(parts, ignore_index=True)
    rows = rows.assign(CHUNK=day_number(checked_times(rows["TIMESTAMP"])[0]))
    timed = rows[rows["TIMESTAMP"].notna()]
    untimed = rows[rows["TIMESTAMP"].isna()].assign(CHUNK=np.int64(-1))
    groups = pd.concat([timed, untimed]).groupby(["METER_ID", "CHUNK"], sort=True)
    local = pd.concat(
        [integrate_partition(g, policy, from_empty=True) for _, g in groups], ignore_index=True
    )
    ends = local[local["STATE"].notna()].merge(
        rows[["METER_ID", "INCOMING"]].drop_duplicates("METER_ID")
        if "INCOMING" in rows
        else rows[["METER_ID"]].drop_duplicates().assign(INCOMING=None),
        on="METER_ID",
    )
    offsets = pd.concat(
        [chunk_offsets(g, policy) for _, g in ends.groupby("METER_ID", sort=True)]
        or [pd.DataFrame(columns=list(CHUNK_COLUMNS))],
        ignore_index=True,
    )
    return apply_offsets(local, offsets)


_KINDS = {"METER_ID": "VARCHAR", "CHUNK": "NUMBER(38,0)", "ID": "NUMBER(38,0)",
          "TIMESTAMP": "TIMESTAMP_NTZ(9)", "REASON": "VARCHAR", "IS_FIRST": "BOOLEAN",
          "STATE": "VARCHAR"}  # fmt: skip
#: The partition functions' output as a table (:data:`OUTPUT_COLUMNS`), as :func:`in_process`
#: stages it.
RESTATED = Table("RESTATED", tuple(Column(c, _KINDS.get(c, "FLOAT")) for c in OUTPUT_COLUMNS))


def in_process(session: Any, rows_sql: str, policy: Policy, chunked: bool) -> Any:
    """The partition functions here, over the query's rows; staged as :data:`RESTATED`."""
    out = integrate_windows(frame(session, rows_sql), policy, chunked=chunked)
    return stage_rows(session, RESTATED, out.loc[:, list(OUTPUT_COLUMNS)], always=True)
