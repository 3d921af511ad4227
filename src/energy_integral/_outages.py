"""Outage markers: where an invalid reading interrupts a series (``on_invalid="gap"``).

An invalid reading at time :math:`u` of a meter says the meter was read and
had no valid power then. The interval of valid samples :math:`(t_a, t_b]`
that holds :math:`u` is an outage: it adds no energy and is reported as a
gap, as Home Assistant treats ``unavailable``. Readings at one time are in
delivery order: an invalid reading delivered after a valid one of its time
lies in the interval that follows it.
An invalid reading after a meter's last valid sample leaves the outage open
in the meter's state, so the next batch's first interval is one.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["mark_outages"]

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


def mark_outages(
    c: IntArray,
    ts: IntArray,
    rows: IntArray,
    starts: npt.NDArray[np.intp],
    bad_c: IntArray,
    bad_t: IntArray,
    bad_rows: IntArray,
    last_ts: IntArray,
    has_state: BoolArray,
    open_outage: BoolArray,
) -> tuple[BoolArray, BoolArray]:
    """Which intervals are outages, and which meters end the batch in one.

    Parameters
    ----------
    c, ts, rows : ndarray of int64
        Meter code, time and input row of the batch's samples, grouped by
        meter, each in time order (ties in input order).
    starts : ndarray of intp
        First position of each meter's samples.
    bad_c, bad_t, bad_rows : ndarray of int64
        Meter code, time and input row of the invalid readings.
    last_ts, has_state, open_outage : ndarray
        Per meter code: the incoming state's last sample time, whether there is
        a state, and whether it ends in an outage.

    Returns
    -------
    marked : ndarray of bool
        Per sample: the interval ending at it is an outage.
    open_after : ndarray of bool
        Per meter code: an outage is open after the batch (the caller keeps
        the incoming flag of meters with no sample in the batch).

    Examples
    --------
    Samples at 0, 10 and 20 of one meter, an invalid reading at 15:

    >>> z = np.zeros(1, dtype=np.int64)
    >>> marked, open_after = mark_outages(
    ...     np.zeros(3, dtype=np.int64), np.array([0, 10, 20]), np.array([0, 1, 3]), np.array([0]),
    ...     z, np.array([15]), np.array([2]), z, np.array([False]), np.array([False]))
    >>> marked.tolist(), open_after.tolist()
    ([False, False, True], [False])
    """
    marked = np.zeros(ts.size, dtype=bool)
    first_code = c[starts]
    marked[starts] = open_outage[first_code] & has_state[first_code]
    # Before the meter's state: in the past, nothing left to mark (at its time: after it).
    fresh = ~has_state[bad_c] | (bad_t >= last_ts[bad_c])
    bad_c, bad_t, bad_rows = bad_c[fresh], bad_t[fresh], bad_rows[fresh]
    # Merge the invalid readings into the samples by (meter, time, row): the next
    # sample of its meter after an invalid reading closes the interval that holds it.
    row = np.concatenate((bad_rows, rows))
    order = np.lexsort((row, np.concatenate((bad_t, ts)), np.concatenate((bad_c, c))))
    where = np.empty(order.size, dtype=np.intp)
    where[order] = np.arange(order.size)
    sample_at = where[bad_c.size :]  # increasing: the samples are already in this order
    after = np.searchsorted(sample_at, where[: bad_c.size])
    inside = after < ts.size
    closes = np.zeros(bad_c.size, dtype=bool)
    closes[inside] = c[after[inside]] == bad_c[inside]
    target = after[closes]
    is_start = np.zeros(ts.size, dtype=bool)
    is_start[starts] = True
    # A meter's first sample closes an interval only when it bridges from a state.
    marked[target[~is_start[target] | has_state[c[target]]]] = True
    has_samples = np.zeros(open_outage.size, dtype=bool)
    has_samples[first_code] = True
    left_open = bad_c[~closes]
    open_after = np.zeros(open_outage.size, dtype=bool)
    open_after[left_open[has_samples[left_open] | has_state[left_open]]] = True
    return marked, open_after
