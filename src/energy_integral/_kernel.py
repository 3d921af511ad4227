"""The vectorised heart shared by :func:`integrate` and :func:`integrate_meters`."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from .strategies import Strategy
from .timestamps import NS_PER_HOUR

__all__ = ["interval_increments", "time_steps"]


def time_steps(t: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """``t[i] - t[i - 1]`` at every ``i >= 1``; entry 0 is left unset.

    A series' first step bridges from its state, so the caller writes it (and
    every other series start of a fleet) itself.
    """
    dt_ns = np.empty_like(t)
    np.subtract(t[1:], t[:-1], out=dt_ns[1:])
    return dt_ns


def interval_increments(
    strategy: Strategy,
    t: npt.NDArray[np.int64],
    p: npt.NDArray[np.float64],
    starts: npt.NDArray[np.intp],
    bridge_t: npt.NDArray[np.int64],
    bridge_p: npt.NDArray[np.float64],
    bridged: npt.NDArray[np.bool_],
    factor: float,
    max_gap_ns: int | None,
    dt_ns: npt.NDArray[np.int64] | None = None,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_], npt.NDArray[np.int64]]:
    """Energy of the interval ending at each sample, which intervals were gaps, and their length.

    ``t`` and ``p`` hold one or more series back to back, each sorted by time;
    ``starts`` are the series' first positions. Inside a series the interval
    ending at sample ``i`` starts at sample ``i - 1``; a series' first sample
    bridges from ``(bridge_t, bridge_p)`` (its incoming state's last sample)
    where ``bridged``, and otherwise gets 0. Intervals longer than
    ``max_gap_ns`` get 0 and are flagged. A caller that already holds
    :func:`time_steps` of ``t`` passes it as ``dt_ns`` (its series' first
    entries are overwritten) to save a pass.
    """
    if dt_ns is None:
        dt_ns = time_steps(t)
    dt_ns[starts] = np.where(bridged, t[starts] - bridge_t, 0)
    p0 = np.empty_like(p)
    p0[1:] = p[:-1]
    p0[starts] = np.where(bridged, bridge_p, 0.0)

    energy = np.asarray(
        strategy.interval_energy_scratch(dt_ns / NS_PER_HOUR, p0, p), dtype=np.float64
    )
    if energy is not p0 and (not energy.flags.owndata or np.may_share_memory(energy, p)):
        energy = energy.copy()  # a plug-in may hand back its input (the caller's power)
    if factor != 1.0:
        energy *= factor
    energy[starts[~bridged]] = 0.0
    if max_gap_ns is None:
        gap = np.zeros(t.size, dtype=bool)
    else:
        gap = dt_ns > max_gap_ns  # a series' unbridged first sample has dt 0: never a gap
        energy[gap] = 0.0
    return energy, gap, dt_ns
