"""Which rows of a fleet batch cannot be integrated, and the detail a reason does not say.

Two kinds of row are invalid: those with something missing or implausible on
their own (meter, time, power; :func:`flag_invalid`) and those whose energy
overflows float64 once integrated (:func:`overflowed`).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from . import quality as q
from ._inputs import all_plausible
from .errors import InvalidSampleError
from .timestamps import NAT

__all__ = ["OUT_OF_RANGE", "OVERFLOW", "describe", "first_row", "flag_invalid", "overflowed"]

#: Details of rejected rows whose reason alone would mislead.
OUT_OF_RANGE = "time outside 1677-09-21..2262-04-11"
OVERFLOW = "energy overflows float64"

IntArray = npt.NDArray[np.intp]


def first_row(mask: npt.NDArray[np.bool_], rows: IntArray | None = None) -> int:
    """The first position where ``mask`` holds (as a row of the input, via ``rows``)."""
    i = int(np.flatnonzero(mask)[0])
    return i if rows is None else int(rows[i])


def flag_invalid(
    codes: npt.NDArray[np.int64],
    t: npt.NDArray[np.int64],
    p: npt.NDArray[np.float64],
    max_power: float | None,
    on_invalid: str,
) -> npt.NDArray[np.int8]:
    reason = np.zeros(t.size, dtype=np.int8)
    checks = []  # masks only where a reduction says some row is bad
    if not all_plausible(p, max_power):
        bad_power = ~np.isfinite(p)
        if max_power is not None:
            bad_power |= np.abs(p) > max_power
        checks.append((bad_power, q.INVALID_POWER, "power"))
    if t.size and int(t.min()) == NAT:
        checks.append((t == NAT, q.INVALID_TIME, "timestamps"))
    if codes.size and int(codes.min()) < 0:
        checks.append((codes < 0, q.INVALID_METER, "meter_ids"))
    for mask, code, name in checks:  # later checks win: a missing meter is reported first
        if on_invalid == "raise":
            i = first_row(mask)
            value = p[i] if name == "power" else "missing"
            raise InvalidSampleError(f"{name}[{i}] is invalid ({value}); on_invalid='raise'")
        reason[mask] = code
    return reason


def overflowed(
    reason: npt.NDArray[np.int8],
    codes: npt.NDArray[np.int64],
    t: npt.NDArray[np.int64],
    c: npt.NDArray[np.int64],
    ts: npt.NDArray[np.int64],
    cum: npt.NDArray[np.float64],
    starts: npt.NDArray[np.intp],
    ends: npt.NDArray[np.intp],
    n_meters: int,
) -> npt.NDArray[np.bool_]:
    """Input rows of each overflowing meter at or after its first non-finite running total.

    Every such row with valid fields counts, including those ``reason`` marks as
    duplicates: without the row they duplicate, one of them would take its place.
    """
    bad = np.flatnonzero(~np.isfinite(cum[ends]))
    limit = np.full(n_meters, np.iinfo(np.int64).max, dtype=np.int64)
    overflowing = np.zeros(n_meters, dtype=bool)
    for j in bad:  # a loop over the (few) overflowing meters, never over rows
        first = starts[j] + int(np.flatnonzero(~np.isfinite(cum[starts[j] : ends[j] + 1]))[0])
        limit[c[first]], overflowing[c[first]] = ts[first], True
    known = np.maximum(codes, 0)
    rejected: npt.NDArray[np.bool_] = (
        ((reason == q.ACCEPTED) | (reason > q.INVALID_POWER))  # not invalid on its own
        & (codes >= 0)
        & overflowing[known]
        & (t >= limit[known])
    )
    return rejected


def describe(
    reason: npt.NDArray[np.int8],
    out_of_range: npt.NDArray[np.bool_] | None,
    p: npt.NDArray[np.float64],
    max_power: float | None,
    overflow: npt.NDArray[np.bool_] | None,
) -> dict[int, str]:
    """Row → detail for the rejected rows whose reason needs one (a loop over those only)."""
    details: dict[int, str] = {}
    if out_of_range is not None and out_of_range.any():
        for row in np.flatnonzero(out_of_range & (reason == q.INVALID_TIME)).tolist():
            details[row] = OUT_OF_RANGE
    if max_power is not None:
        beyond = (reason == q.INVALID_POWER) & (np.abs(p) > max_power) & np.isfinite(p)
        for row in np.flatnonzero(beyond).tolist():
            details[row] = f"|power| beyond max_power={max_power:g}"
    if overflow is not None:
        for row in np.flatnonzero(overflow).tolist():
            details[row] = OVERFLOW
    return details
