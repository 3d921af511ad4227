"""The vectorised heart shared by :func:`integrate` and :func:`integrate_meters`."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from .strategies import Strategy
from .timestamps import NS_PER_HOUR

__all__ = ["interval_increments"]


def interval_increments(
    strategy: Strategy,
    t: npt.NDArray[np.int64],
    p: npt.NDArray[np.float64],
    prev_t: npt.NDArray[np.int64],
    prev_p: npt.NDArray[np.float64],
    has_prev: npt.NDArray[np.bool_] | None,
    factor: float,
    max_gap_ns: int | None,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    """Energy of the interval ending at each sample, and which intervals were gaps.

    Row ``i`` is the interval from ``(prev_t[i], prev_p[i])`` to ``(t[i], p[i])``.
    Rows without a previous sample (``has_prev`` False; ``None`` means all have
    one) and gaps longer than ``max_gap_ns`` get 0 energy.
    """
    dt_ns = t - prev_t
    energy = np.asarray(strategy.interval_energy(dt_ns / NS_PER_HOUR, prev_p, p), dtype=np.float64)
    if factor != 1.0:
        energy = energy * factor
    if max_gap_ns is None:
        gap = np.zeros(t.size, dtype=bool)
    else:
        gap = dt_ns > max_gap_ns
        if has_prev is not None:
            gap &= has_prev
    skip = gap if has_prev is None else gap | ~has_prev
    if skip.any():  # out of place: a plug-in may hand back a view of its input
        energy = np.where(skip, 0.0, energy)
    return energy, gap
