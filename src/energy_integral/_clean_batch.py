"""The fleet engine's fast path: a clean batch, already grouped by meter and sorted by time.

Most batches are exactly that — a file or a query ordered by meter and time,
with nothing late, duplicated or invalid — and for them the general path's
per-row bookkeeping (codes, reasons, an order, representatives, a scatter
back to input order) is the identity. Here every check is a reduction or a
by-product of the integration itself:

* meters: :func:`~._factorize.sorted_runs` (one comparison of neighbours);
* power finite: :math:`\\sum p` is finite exactly when every :math:`p` is (a
  finite sum that overflows falls back to the elementwise test);
* times present: :math:`\\min t` is not NaT;
* times strictly increasing within each meter: :math:`\\min \\Delta t > 0`
  over the intervals the integration needs anyway;
* nothing late: each meter's first time is after its state's last one;
* energy finite: each meter's last running total is (inf and NaN never go away).

When any check fails, :func:`integrate_clean` returns None *before* writing
anything, and the general path handles the batch with its policies. Both
paths compute each meter's intervals and running sums with the same kernel
and in the same order, so their results are bit-identical.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from ._inputs import all_plausible
from ._kernel import gap_intervals, interval_increments, time_steps
from ._rules import IntegrationRules
from ._segments import segmented_cumsum
from .fleet_result import FleetResult, updated_states
from .gaps import GapReport
from .state_table import StateTable
from .timestamps import NAT

__all__ = ["clean_increments", "integrate_clean"]


def integrate_clean(
    meters: npt.NDArray[Any],
    starts: npt.NDArray[np.intp],
    t: npt.NDArray[np.int64],
    p: npt.NDArray[np.float64],
    incoming: StateTable,
    rules: IntegrationRules,
) -> FleetResult | None:
    """Integrate rows grouped by meter (``meters[j]``'s run starts at ``starts[j]``).

    ``incoming`` holds the states of ``meters``, in that order. Returns None,
    having changed nothing, if any row needs a data-quality policy: invalid,
    late, a duplicate time, or out of time order within its meter.
    """
    n = t.size
    found = clean_increments(
        starts, t, p, incoming.has_state, incoming.last_ts, incoming.last_power, rules
    )
    if found is None:
        return None
    increments, gap, scratch = found
    gap_series, gap_starts, gap_ends = gap_intervals(gap, t, starts, incoming.last_ts)
    gaps = GapReport.from_ns(gap_starts, gap_ends, meters[gap_series])
    # The interval lengths are used up: their buffer takes the running sums (same size;
    # a fresh array this large costs a page fault per 4 KiB, ~8 % of the whole batch).
    energy0 = incoming.energy
    cumulative = segmented_cumsum(
        increments, starts, energy0 if energy0.any() else None, out=scratch
    )
    if not np.isfinite(cumulative[np.append(starts[1:], n) - 1]).all():
        return None  # some meter's energy overflows float64 (once inf or NaN, always)
    states = updated_states(incoming, starts, np.arange(starts.size), t, p, cumulative)
    return FleetResult.all_accepted(
        cumulative, increments, meters, None, t, p, states, gaps, run_starts=starts
    )


def clean_increments(
    starts: npt.NDArray[np.intp],
    t: npt.NDArray[np.int64],
    p: npt.NDArray[np.float64],
    bridged: npt.NDArray[np.bool_],
    bridge_t: npt.NDArray[np.int64],
    bridge_p: npt.NDArray[np.float64],
    rules: IntegrationRules,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_], npt.NDArray[np.float64]] | None:
    """The checks of a clean batch, then :func:`~._kernel.interval_increments` of its rows.

    Rows grouped by series (series ``j`` starts at ``starts[j]`` and, where
    ``bridged[j]``, continues from the sample ``(bridge_t[j], bridge_p[j])``).
    Returns the increments, the gap flags and a spare buffer as the kernel
    does, or None if any row needs a data-quality policy.
    """
    low = int(t.min())
    if not all_plausible(p, rules.max_power) or low == NAT:
        return None
    if bridged.any() and bool(np.any(t[starts][bridged] <= bridge_t[bridged])):
        return None
    dt_ns = time_steps(t, low)
    dt_ns[starts] = 1  # a series' first row was checked against its bridge above
    if int(dt_ns.min()) <= 0:
        return None
    return interval_increments(
        rules.strategy, t, p, starts, bridge_t, bridge_p, bridged, rules.factor,
        rules.max_gap_ns, dt_ns=dt_ns, low=low,
    )  # fmt: skip
