"""The late and duplicate policies, on rows sorted by (meter, time).

``integrate_meters`` sorts the valid rows once; these two passes then decide,
with whole-array comparisons, which rows are late or already integrated
(against each meter's incoming state) and which one row stands for a
(meter, time) that several rows share (``on_duplicate``).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from . import quality as q
from ._invalid_rows import first_row
from ._segments import segment_ids, segment_starts
from .errors import OrderError, OverlapError
from .state_table import StateTable
from .timestamps import as_datetime64

__all__ = ["drop_stale", "resolve_duplicates"]

IntArray = npt.NDArray[np.intp]


def resolve_duplicates(
    c: npt.NDArray[np.int64],
    t: npt.NDArray[np.int64],
    p: npt.NDArray[np.float64],
    rows: IntArray | None,
    on_duplicate: str,
) -> tuple[IntArray | None, IntArray | None, npt.NDArray[np.float64], IntArray]:
    """One representative per (meter, time) among sorted rows.

    Returns the positions (into the sorted arrays) of the representatives, the
    representative of every position, the representatives' power, and the
    positions rejected as duplicates. Without duplicates the first two are None:
    every row represents itself.
    """
    n = t.size
    new_group = np.ones(n, dtype=bool)
    new_group[1:] = (c[1:] != c[:-1]) | (t[1:] != t[:-1])
    if new_group.all():
        return None, None, p, np.empty(0, dtype=np.intp)
    if on_duplicate == "step":  # every row a sample of its own, but for exact repeats
        repeat = np.zeros(n, dtype=bool)
        repeat[1:] = ~new_group[1:] & (p[1:] == p[:-1])
        if not repeat.any():
            return None, None, p, np.empty(0, dtype=np.intp)
        reps = np.flatnonzero(~repeat)
        return reps, reps[np.cumsum(~repeat) - 1], p[reps], np.flatnonzero(repeat)
    if on_duplicate == "raise":
        i = first_row(~new_group, rows)
        raise OrderError(f"row {i} duplicates an earlier row of its meter at the same timestamp")
    firsts = np.flatnonzero(new_group)
    group_of = np.cumsum(new_group) - 1
    if on_duplicate == "mean":
        sizes = np.diff(np.append(firsts, n))
        with np.errstate(over="ignore", invalid="ignore"):
            power = np.add.reduceat(p, firsts) / sizes
        if not np.isfinite(power).all():  # the sum of huge powers overflowed, not their mean
            power = np.add.reduceat(p / np.repeat(sizes, sizes), firsts)
        return firsts, firsts[group_of], power, np.empty(0, dtype=np.intp)
    reps = np.append(firsts[1:] - 1, n - 1) if on_duplicate == "last" else firsts
    losers = np.setdiff1d(np.arange(n), reps, assume_unique=True)
    return reps, reps[group_of], p[reps], losers


def drop_stale(
    rows: IntArray | None,
    c: npt.NDArray[np.int64],
    ts: npt.NDArray[np.int64],
    ps: npt.NDArray[np.float64],
    incoming: StateTable,
    reason: npt.NDArray[np.int8],
    on_late: str,
    on_duplicate: str,
) -> tuple[IntArray, npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """Flag rows at or before their meter's last integrated sample; return the others.

    With ``on_duplicate="step"`` a row at that sample's time with another power
    is not stale: it continues the step the sample began, and so does every
    row of that time after it (a step may come back to the sample's power).
    """
    positions = np.arange(c.size) if rows is None else rows
    last_ts = incoming.last_ts[c]
    stale = ts <= last_ts
    same = stale & (ts == last_ts) & (ps == incoming.last_power[c])
    if on_duplicate == "step":
        steps = (ts == last_ts) & ~same
        # Rows of one meter at its last time are adjacent (sorted): a step seen so far
        # in this meter's rows makes the identical ones after it part of the step.
        latest_step = np.maximum.accumulate(np.where(steps, np.arange(c.size), -1))
        starts = segment_starts(c)
        same &= latest_step < starts[segment_ids(starts, c.size)]
        stale &= same | (ts < last_ts)
    late = stale & ~same
    if on_late == "raise" and late.any():
        i = first_row(late, positions)
        raise OverlapError(
            f"row {i} ({as_datetime64(ts[late][:1])[0]}) is not after its meter's last "
            "integrated sample; on_late='raise'"
        )
    reason[positions[same]] = q.ALREADY_INTEGRATED
    reason[positions[late]] = q.LATE
    fresh = ~stale
    return positions[fresh], c[fresh], ts[fresh], ps[fresh]
