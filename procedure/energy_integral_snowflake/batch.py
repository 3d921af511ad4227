"""Integrate one landed batch: plain pandas/numpy in, rows for every table out.

No Snowpark here. A batch is the landing table's rows of one ``BATCH_ID``;
with each meter's state as it was *before* the batch, the outcome is a pure
function of them, which is what makes re-running a batch after a crash
harmless: it recomputes the very same rows.

Stream actions are reconciled before the library sees anything:

* ``DELETE`` rows are never integrated: a deleted source row is quarantined
  as ``correction``, the old half of an UPDATE as ``replaced`` — so the change
  is visible instead of silently ignored, and the two halves of one UPDATE
  (which share a ``ROW_ID``) have distinct quarantine keys.
* the new half of an UPDATE (``INSERT`` with ``IS_UPDATE``) goes through the
  library like any reading; if the library finds it late or already
  integrated, it is quarantined as ``correction`` (the integrated value stands).

Everything else — late, duplicate, invalid rows — is the library's decision
(:func:`energy_integral.integrate_meters`). Two choices accept every row of a
meter at one time, and such a group gets one result row, since the results'
natural key is (meter, time, method) (:func:`merge_duplicates`):

* ``on_duplicate="mean"`` integrates them as one sample of their mean power:
  the group's first row, ``KW`` the mean;
* ``on_duplicate="step"`` takes them as a step in time order: the group's
  last row with its own power — the power the state holds and the next
  interval starts from — and the cumulative energy all of them share.

Either way ``INTERVAL_KWH`` is the group's energy, and its other rows count
as integrated (``rows_merged`` of them) but have no row of their own.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

import energy_integral as ei

from ._values import Rows, checked_times, py_times
from .landed import RowIds, deletes, quarantine_rows, source_order
from .state_json import state_from_json, state_to_json, states_to_json

__all__ = [
    "CORRECTION",
    "REPLACED",
    "RESTATABLE",
    "UNREADABLE_STATE",
    "BatchOutcome",
    "Policy",
    "RowIds",
    "integrate_batch",
    "merge_duplicates",
    "source_order",
    "state_from_json",
    "state_to_json",
    "states_to_json",
]

_DETAIL = {
    "invalid-meter": "METER_ID is missing",
    "invalid-time": "TIMESTAMP is missing",
    "invalid-power": "KW is missing, infinite or beyond max_power",
    "late": "older than the meter's last integrated reading; it would rewrite history",
    "already-integrated": "identical to the meter's last integrated reading (re-delivered)",
    "duplicate": "a second reading of the meter at the same TIMESTAMP in this batch",
}
#: Quarantine ``REASON`` of a deleted source row, or of an update's new value the library
#: found late or already integrated; and of the value an update replaced.
CORRECTION, REPLACED = "correction", "replaced"
#: Quarantine ``REASON`` of the rows of a meter whose ``METER_STATE`` row cannot be read.
UNREADABLE_STATE = "unreadable-state"
#: The reasons a reconciliation restates (see :mod:`.reconcile`).
RESTATABLE = ("late", CORRECTION, REPLACED, UNREADABLE_STATE)

_FAR = (
    "outside 1677-09-21..2262-04-11, the times nanoseconds hold (a sentinel date?); "
    "correct the source row and it is read again"
)
_UNREADABLE = (
    "the meter's METER_STATE row cannot be read ({}); restore that row (Time Travel: "
    "AT/BEFORE), then RECONCILE_READINGS integrates these rows. Deleting it would "
    "restart the meter's CUMULATIVE_KWH at 0"
)
#: The ``on_duplicate`` choices that accept several rows of one meter at one time.
_SHARING = ("mean", "step")
_DELETED = "the source row was deleted after it was read; its energy stays counted"
_UPDATED_OLD = "the old value of an updated source row; its energy stays counted"
_UPDATED_NEW = "an update of an already integrated reading; the integrated value stands"


@dataclass(frozen=True)
class Policy:
    """How the procedure integrates: the library's method and data-quality options."""

    method: str = "trapezoid"
    max_gap: str | None = None
    on_duplicate: str = "reject"
    max_power: float | None = None


@dataclass(frozen=True)
class BatchOutcome:
    """Rows of one integrated batch, each a tuple in its table's column order.

    ``results``, ``quarantine`` and ``states`` follow :mod:`.schema`'s
    ``INTEGRAL_SUM_VALUES``, ``QUARANTINED_READINGS`` and ``METER_STATE``.
    ``rows_integrated`` counts landed rows, ``rows_merged`` of which were merged
    into another row's result (so ``len(results) == rows_integrated - rows_merged``).
    """

    batch_id: int
    method: str
    results: Sequence[tuple[Any, ...]]
    quarantine: list[tuple[Any, ...]]
    states: list[tuple[Any, ...]]
    rows_read: int
    rows_integrated: int
    rows_rejected: int
    meters: int
    kwh_added: float
    min_timestamp: dt.datetime | None
    max_timestamp: dt.datetime | None
    rows_merged: int = 0

    @property
    def state_meters(self) -> list[str]:
        """Meters whose state this batch writes."""
        return [row[0] for row in self.states]


def integrate_rows(
    meters: np.ndarray[Any, Any],
    times: np.ndarray[Any, Any],
    power: np.ndarray[Any, np.dtype[np.float64]],
    states: Mapping[Hashable, ei.CumulativeState],
    policy: Policy,
) -> tuple[
    ei.FleetResult,
    np.ndarray[Any, np.dtype[np.bool_]],
    np.ndarray[Any, np.dtype[np.bool_]],
    np.ndarray[Any, np.dtype[np.float64]],
    np.ndarray[Any, np.dtype[np.float64]],
]:
    """:func:`energy_integral.integrate_meters` under ``policy``, shared by the stream and
    the restatements; returns the result, the accepted mask and :func:`merge_duplicates`."""
    res = ei.integrate_meters(
        meters,
        times,
        power,
        states=states,
        method=policy.method,
        max_gap=policy.max_gap,
        on_duplicate=policy.on_duplicate,
        max_power=policy.max_power,
    )
    accepted = np.asarray(res.accepted, dtype=bool)
    increments = np.asarray(res.increments, dtype=np.float64)
    own, kw, interval = merge_duplicates(
        meters, times, power, accepted, increments, policy.on_duplicate
    )
    return res, accepted, own, kw, interval


def merge_duplicates(
    meters: np.ndarray[Any, Any],
    times: np.ndarray[Any, Any],
    power: np.ndarray[Any, np.dtype[np.float64]],
    accepted: np.ndarray[Any, np.dtype[np.bool_]],
    increments: np.ndarray[Any, np.dtype[np.float64]],
    on_duplicate: str,
) -> tuple[
    np.ndarray[Any, np.dtype[np.bool_]],
    np.ndarray[Any, np.dtype[np.float64]],
    np.ndarray[Any, np.dtype[np.float64]],
]:
    r"""Which accepted rows get a result row, the power and the energy each one stands for.

    Rows are in the order they were handed to :func:`energy_integral.integrate_meters`.
    Accepted rows sharing a meter and a time (``on_duplicate="mean"`` or ``"step"``
    accepts several) get one result row:

    * ``"mean"``: the first of them, which the engine integrated as one sample of
      power :math:`\bar p = \tfrac1k\sum_{j=1}^{k} p_j` — summed here in the same
      order and way as the engine, so the value is the one it integrated;
    * ``"step"``: the last of them, with its own power (the one the state holds);
      all rows of a step share the cumulative energy.

    Returns
    -------
    own : ndarray of bool
        ``accepted`` with one row per such group.
    kw : ndarray of float
        ``power``, with each ``"mean"`` group's mean on its first row.
    interval : ndarray of float
        ``increments``, with each group's sum on its own row (0 on the others).

    Examples
    --------
    >>> m, t = np.array(["a", "a", "a", "b"], dtype=object), np.array([0, 0, 1, 0], "M8[m]")
    >>> p, inc, every = np.array([4.0, 8.0, 1.0, 2.0]), np.array([0, 0, 3.0, 0]), np.ones(4, bool)
    >>> own, kw, interval = merge_duplicates(m, t, p, every, inc, "mean")
    >>> own.tolist(), kw.tolist()
    ([True, False, True, True], [6.0, 8.0, 1.0, 2.0])
    >>> own, kw, interval = merge_duplicates(m, t, p, every, inc, "step")
    >>> own.tolist(), kw.tolist()
    ([False, True, True, True], [4.0, 8.0, 1.0, 2.0])
    """
    own, kw, interval = accepted.copy(), power.copy(), increments.copy()
    if on_duplicate not in _SHARING:  # the other choices accept one row per meter and time
        return own, kw, interval
    rows = np.flatnonzero(accepted)
    codes, stamps = pd.factorize(meters[rows])[0], times[rows].astype("M8[ns]").view(np.int64)
    by_key = np.lexsort((stamps, codes))  # stable: a group's rows stay in their order
    rows, codes, stamps = rows[by_key], codes[by_key], stamps[by_key]
    first = np.ones(rows.size, dtype=bool)
    first[1:] = (codes[1:] != codes[:-1]) | (stamps[1:] != stamps[:-1])
    starts = np.flatnonzero(first)
    sizes = np.diff(np.append(starts, rows.size))
    if not (shared := sizes > 1).any():
        return own, kw, interval
    rows = rows[shared[np.cumsum(first) - 1]]  # the rows of the groups of several
    sizes = sizes[shared]
    starts = np.append(0, np.cumsum(sizes)[:-1])
    kept = rows[starts + sizes - 1] if on_duplicate == "step" else rows[starts]
    if on_duplicate != "step":
        kw[kept] = np.add.reduceat(power[rows], starts) / sizes
    sums = np.add.reduceat(increments[rows], starts)
    interval[rows] = 0.0
    interval[kept] = sums
    own[rows] = False
    own[kept] = True
    return own, kw, interval


def integrate_batch(
    landed: pd.DataFrame,
    states: Mapping[str, ei.CumulativeState | ei.StateFormatError],
    batch_id: int,
    policy: Policy,
    now: dt.datetime,
    row_ids: RowIds | None = None,
) -> BatchOutcome:
    """Integrate the landed rows of one batch from each meter's state before it.

    Parameters
    ----------
    landed : DataFrame
        The batch's rows of the landing table (any row order; sorted by ``ID`` here
        so that "the first of two duplicates" is the one that reached the source first):
        ``ACTION`` or ``IS_DELETE``, ``IS_UPDATE``, ``ID``, ``METER_ID``, ``TIMESTAMP``,
        ``KW``, and ``ROW_ID`` unless ``row_ids`` is given.
    states : mapping of str → CumulativeState or StateFormatError
        Each meter's state after the previous batch; meters without one start empty.
        A meter whose state could not be read (its error here) has its rows
        quarantined as ``unreadable-state`` and its state left as it is; the
        other meters integrate.
    batch_id : int
        The batch, written to every output row.
    policy : Policy
        Method and data-quality options for :func:`energy_integral.integrate_meters`.
    now : datetime
        The time stamped on the output rows.
    row_ids : callable, optional
        Given the rows of ``landed`` the batch quarantines, the ``ROW_ID`` of each
        (:meth:`~.store.SqlStore.landed_row_ids`); called only if there are any.

    Returns
    -------
    BatchOutcome
        Result, quarantine and state rows, and the counts for the marker.
        ``rows_read == rows_integrated + rows_rejected`` always holds.
    """
    deleted = deletes(landed)
    order = source_order(landed["ID"], deleted)
    is_delete = deleted[order]
    meter_all = landed["METER_ID"].to_numpy(dtype=object)[order]
    broken = {m: e for m, e in states.items() if isinstance(e, ei.StateFormatError)}
    stuck = ~is_delete & (pd.Series(meter_all).isin(list(broken)).to_numpy() if broken else False)
    live = np.flatnonzero(~is_delete & ~stuck)  # positions in ``order`` the library integrates
    every = live.size == order.size  # (a clean batch: no copies of whole columns)
    rows = order if every else order[live]  # ... and in ``landed``
    meters = meter_all if every else meter_all[live]
    times_all, far_all = checked_times(landed["TIMESTAMP"])
    times, far = times_all[rows], far_all[rows]
    power = landed["KW"].to_numpy(dtype=np.float64, na_value=np.nan)[rows]
    incoming: dict[Hashable, ei.CumulativeState] = {
        m: s for m, s in states.items() if isinstance(s, ei.CumulativeState)
    }
    res, acc, own, kw, interval = integrate_rows(meters, times, power, incoming, policy)
    n_own = int(own.sum())
    mine: Any = slice(None) if n_own == own.size else np.flatnonzero(own)  # every row: views
    results = Rows(
        pd.DataFrame({
            "METER_ID": meters[mine], "TIMESTAMP": times[mine], "KW": kw[mine],
            "INTERVAL_KWH": interval[mine],
            "CUMULATIVE_KWH": np.asarray(res.cumulative, dtype=np.float64)[mine],
            "METHOD": pd.Categorical.from_codes(np.zeros(n_own, np.int8),
                                                dtype=pd.CategoricalDtype([policy.method])),
            # One value seen on every row: no batch-sized array to fill (and fault in).
            "BATCH_ID": np.broadcast_to(np.int64(batch_id), n_own),
            "COMPUTED_AT": np.broadcast_to(np.datetime64(pd.Timestamp(now), "ns"), n_own),
        }, copy=False)
    )  # fmt: skip
    is_update = landed["IS_UPDATE"].to_numpy(dtype=bool)  # in ``landed``'s order
    spots: list[int] = []  # the quarantined rows' positions in ``landed``...
    why: list[tuple[str, str]] = []  # ... and their reason and detail
    for i in np.flatnonzero(~acc):
        reason = str(res.reason[i])
        detail = str(res.detail[i]) or _DETAIL.get(reason, reason)
        if far[i]:
            detail = f"TIMESTAMP={landed['TIMESTAMP'].iloc[rows[i]]} is {_FAR}"
        if is_update[rows[i]] and reason in ("late", "already-integrated"):
            reason, detail = CORRECTION, _UPDATED_NEW
        spots.append(int(rows[i]))
        why.append((reason, detail))
    for i in order[stuck]:
        spots.append(int(i))
        why.append((UNREADABLE_STATE, _UNREADABLE.format(broken[landed["METER_ID"].iloc[i]])))
    for i in order[is_delete]:
        spots.append(int(i))
        why.append((REPLACED, _UPDATED_OLD) if is_update[i] else (CORRECTION, _DELETED))
    quarantine = quarantine_rows(landed, spots, why, times_all, batch_id, now, row_ids)
    table_meters = res.states.meters if isinstance(res.states, ei.StateTable) else None
    batch_meters = sorted(
        m for m in (pd.unique(meters) if table_meters is None else table_meters)
        if isinstance(m, str)
    )  # fmt: skip
    state_rows = [
        (m, policy.method, text, batch_id, now)
        for m, text in zip(batch_meters, states_to_json(res.states, batch_meters), strict=True)
    ]
    missing_t = np.isnat(times)
    valid_t = times[~missing_t] if missing_t.any() else times  # no copy of a clean batch
    return BatchOutcome(
        batch_id=batch_id,
        method=policy.method,
        results=results,
        quarantine=quarantine,
        states=state_rows,
        rows_read=len(landed),
        rows_integrated=int(acc.sum()),
        rows_rejected=len(quarantine),
        meters=len(batch_meters),
        kwh_added=float(np.sum(res.increments if acc.all() else res.increments[acc])),
        min_timestamp=py_times(valid_t.min(keepdims=True))[0] if valid_t.size else None,
        max_timestamp=py_times(valid_t.max(keepdims=True))[0] if valid_t.size else None,
        rows_merged=int(acc.sum() - own.sum()),
    )
