"""Integrate many meters' readings at once, with an explicit policy for every bad sample.

The engine is a handful of whole-array passes, never a Python loop over rows
or meters:

1. factorise meter ids to integer codes; flag missing meters/times and invalid power;
2. order the valid rows by (meter, time) — skipped when they already are, and
   done block by block in cache for a clean batch in a stream's order (``_time_order``);
3. compare each row with its meter's incoming state (late / already integrated)
   and with its neighbour (duplicates);
4. compute every interval's energy with the strategy (bridging each meter's
   first row from its state) and a segmented cumulative sum per meter;
5. scatter the results back to input order.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Hashable, Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from . import quality as q
from ._clean_batch import integrate_clean
from ._column_runs import column_runs
from ._factorize import as_ids, column_ids, factorize, grouped_runs, sorted_runs
from ._inputs import as_power, check_same_length
from ._invalid_rows import describe, first_row, flag_invalid, overflowed
from ._kernel import gap_intervals, interval_increments
from ._outages import mark_outages
from ._row_order import meter_time_order, meter_time_pairs
from ._row_policies import drop_stale, resolve_duplicates
from ._rules import IntegrationRules
from ._segments import segment_ids, segment_starts, segmented_cumsum
from ._time_order import SortWhole, integrate_time_order
from .errors import InvalidSampleError
from .fleet_result import DeferredRows, FleetResult, SortedRows, updated_states
from .gaps import GapReport
from .state import CumulativeState
from .state_table import StateTable
from .strategies import Strategy
from .timestamps import to_ns, to_ns_flagged

__all__ = ["FleetResult", "integrate_meters"]

IntArray = npt.NDArray[np.intp]


def _take(arr: npt.NDArray[Any], rows: IntArray | None) -> npt.NDArray[Any]:
    return arr if rows is None else np.take(arr, rows)


def integrate_meters(
    meter_ids: Any,
    timestamps: Any,
    power: Any,
    *,
    states: Mapping[Hashable, CumulativeState] | None = None,
    method: str | Strategy = "trapezoid",
    power_unit: str = "kW",
    energy_unit: str = "kWh",
    max_gap: Any = None,
    on_late: str = "reject",
    on_duplicate: str = "reject",
    on_invalid: str = "reject",
    max_power: float | None = None,
    keep_sorted: bool = False,
) -> FleetResult:
    """Integrate a batch of readings from many meters, continuing each meter's state.

    Parameters
    ----------
    meter_ids, timestamps, power : array_like
        One reading per row, in any order (pandas Series work too).
    states : mapping of meter → CumulativeState, optional
        Each meter's state after the previous batch (e.g. the previous result's ``states``).
    method, power_unit, energy_unit, max_gap
        As for :func:`~energy_integral.integrate`.
    on_late : {"reject", "raise"}
        Rows at or before their meter's last integrated sample. A row identical
        to that sample is ``already-integrated`` (how a re-delivered batch
        becomes harmless); any other is ``late``. Dropping silently is not offered.
    on_duplicate : {"reject", "last", "mean", "step", "raise"}
        Several rows of one meter at one time: keep the first (by input order)
        and reject the rest, keep the last, or merge them into one sample with
        their mean power (all merged rows count as accepted; the interval's
        energy is on the first of them). ``"step"`` keeps them all as a step
        in input order: the interval before ends at the first, the one after
        starts at the last (the intervals between them last 0 s). A row at a
        meter's last integrated time continues that step across batches. A
        row identical to the one before it (or to that sample) repeats it and
        is ``already-integrated``, in one batch as across two.
    on_invalid : {"reject", "gap", "raise"}
        Rows with a missing meter or time (or a time outside 1677..2262, which
        int64 nanoseconds cannot hold), power that is NaN, ±inf or beyond
        ``max_power`` in absolute value, and rows from which a meter's energy
        would overflow float64 (that row and the meter's later ones). They
        never touch a state; ``detail`` says which of these an ``invalid-time``
        or ``invalid-power`` row is where the value alone does not. ``"gap"``
        rejects them too and takes invalid power as an outage: the interval
        between the valid samples around it adds no energy and is reported
        in ``gaps`` (one at the end of a batch is carried in the state, see
        :attr:`CumulativeState.outage`).
    max_power : float, optional
        Plausibility bound on ``|power|`` in ``power_unit``.
    keep_sorted : bool
        Where the engine sorts a clean batch by (meter, time) to integrate it
        (rows in a stream's time order, or shuffled), keep the sorted rows on
        the result, so that :func:`energy_by_interval` given it (``fleet=``)
        buckets them without sorting again. Costs 24 bytes per row for as long
        as the result lives, and a batch in a stream's order is sorted whole.

    Returns
    -------
    FleetResult
        A clean batch the engine sorted whole (some meter's rows out of time
        order) has its per-row results put back in input order when
        ``cumulative`` or ``increments`` is first read: a caller who needs only
        the states, the gaps or the intervals never pays for that scatter.

    Examples
    --------
    >>> t = np.array(["2026-01-01T00:00", "2026-01-01T01:00", "2026-01-01T00:00",
    ...               "2026-01-01T01:00", "2026-01-01T01:00"], dtype="datetime64[m]")
    >>> res = integrate_meters(["a", "a", "b", "b", "b"], t, [1.0, 1.0, 2.0, np.nan, 2.0])
    >>> res.states["a"].energy, res.states["b"].energy
    (1.0, 2.0)
    >>> res.rejected.reason.tolist()
    ['invalid-power']
    """
    rules = IntegrationRules.checked(
        method, power_unit, energy_unit, max_gap=max_gap, max_power=max_power, on_late=on_late,
        on_duplicate=on_duplicate, on_invalid=on_invalid,
    )  # fmt: skip
    # A string column grouped by meter: its runs, no code per row; any other string or
    # categorical column: its codes, never unwrapped.
    runs = column_runs(meter_ids)
    coded = column_ids(meter_ids) if runs is None else None
    ids = meter_ids if runs is not None else as_ids(meter_ids) if coded is None else coded[0]
    if runs is None and coded is None:
        if ids is not meter_ids:  # a list (or a column) turned into an array: look again
            runs = column_runs(ids)
        if runs is None:
            runs = sorted_runs(ids)
    # A time outside int64 ns is data like a missing one: an invalid-time row, unless told to raise.
    if rules.on_invalid != "raise":
        t, far = to_ns_flagged(timestamps)
    else:
        t, far = to_ns(timestamps), None
    p = as_power(power)
    n = check_same_length(meter_ids=ids, timestamps=t, power=p)
    if runs is None:
        codes, meters = factorize(ids) if coded is None else coded
        grouped = grouped_runs(codes, meters.size)
        if grouped is not None:  # grouped in an order of its own: meters in that order
            runs = meters[codes[grouped]], grouped
    if runs is not None:
        meters, starts = runs
    incoming = StateTable.lookup(states, meters, rules.strategy.name, power_unit, energy_unit)
    if runs is not None:  # already grouped by meter: the fast path, if the batch is clean
        clean = None
        if not incoming.outage.any():
            clean = integrate_clean(meters, starts, t, p, incoming, rules)
        if clean is not None:
            return clean
        codes = segment_ids(starts, n)  # what factorize() gives sorted ids
    elif n and not incoming.outage.any() and int(codes.min()) >= 0:
        fast_args = (codes, meters, t, p, incoming, rules)
        # Each meter's rows in time order, as a stream delivers them: block by block.
        reordered = None if keep_sorted else integrate_time_order(*fast_args)
        if keep_sorted or isinstance(reordered, SortWhole):  # to be sorted whole
            reordered = _integrate_reordered(*fast_args, keep_sorted)
        if isinstance(reordered, FleetResult):
            return reordered

    invalid = flag_invalid(codes, t, p, rules.max_power, rules.on_invalid)
    args = (codes, meters, t, p, incoming, rules)
    result = _integrate_rows(invalid.copy(), *args)
    if isinstance(result, FleetResult):
        details = describe(result.reason_code, far, p, rules.max_power, None)
        return dataclasses.replace(result, _details=details) if details else result
    # Some meter's energy overflowed float64: its rows from there on are invalid power,
    # and the rest integrates exactly as before (the prefix is unchanged).
    if rules.on_invalid == "raise":
        i = first_row(result)
        raise InvalidSampleError(
            f"power[{i}]={p[i]}: the energy up to this row is not finite (overflows float64); "
            "on_invalid='raise'"
        )
    invalid[result] = q.INVALID_POWER
    again = _integrate_rows(invalid, *args)
    assert isinstance(again, FleetResult)
    details = describe(again.reason_code, far, p, rules.max_power, result)
    return dataclasses.replace(again, _details=details)


def _integrate_reordered(
    codes: npt.NDArray[np.int64],
    meters: npt.NDArray[Any],
    t: npt.NDArray[np.int64],
    p: npt.NDArray[np.float64],
    incoming: StateTable,
    rules: IntegrationRules,
    keep_sorted: bool,
) -> FleetResult | None:
    """A clean batch in another order (a stream's time order, shuffled), by the fast path.

    The rows are put in (meter, time) order and integrated by
    :func:`~._clean_batch.integrate_clean`; its per-row results go back to
    input order when first read (:class:`~.fleet_result.DeferredRows`). None,
    having changed nothing, when the batch needs a policy
    (as the fast path itself says) or some meter has no row.
    """
    rows, sizes, tp = meter_time_pairs(codes, t, p)
    if sizes.size != meters.size or not sizes.all():
        return None
    starts = np.cumsum(sizes) - sizes
    clean = integrate_clean(meters, starts, tp[0], tp[1].view(np.float64), incoming, rules)
    if clean is None:
        return None
    # The results are in (meter, time) order: they go back to input order when first read
    # (a caller wanting the states or the intervals never needs them there).
    kept = None
    if keep_sorted:
        kept = SortedRows(tp[0], tp[1].view(np.float64), clean.increments, starts)
    deferred = DeferredRows(rows, clean.cumulative, clean.increments)
    return dataclasses.replace(
        clean, _per_row=deferred, _codes=codes, _t=t, _p=p, _run_starts=None, _sorted=kept
    )


def _integrate_rows(
    reason: npt.NDArray[np.int8],
    codes: npt.NDArray[np.int64],
    meters: npt.NDArray[Any],
    t: npt.NDArray[np.int64],
    p: npt.NDArray[np.float64],
    incoming: StateTable,
    rules: IntegrationRules,
) -> FleetResult | npt.NDArray[np.bool_]:
    """The general path over the rows whose ``reason`` is still ``ACCEPTED``.

    Returns the result, or, when some meter's running energy is not finite,
    the mask of input rows to reject for it (that meter's rows from the first
    non-finite total on) without a result.
    """
    n = t.size
    valid = np.flatnonzero(reason == q.ACCEPTED) if reason.any() else None
    rows, c, ts = meter_time_order(codes, t, valid)
    ps = _take(p, rows)
    starts = segment_starts(c)
    if incoming.has_state.any() and bool(np.any(ts[starts] <= incoming.last_ts[c[starts]])):
        rows, c, ts, ps = drop_stale(
            rows, c, ts, ps, incoming, reason, rules.on_late, rules.on_duplicate
        )
        starts = segment_starts(c)

    reps, rep_of, rep_power, losers = resolve_duplicates(c, ts, ps, rows, rules.on_duplicate)
    if losers.size:  # in a step, a repeat is what a re-delivery would be
        loser = q.ALREADY_INTEGRATED if rules.on_duplicate == "step" else q.DUPLICATE
        reason[_take(np.arange(n), rows)[losers]] = loser
    if reps is not None:
        c, ts = c[reps], ts[reps]
        starts = segment_starts(c)

    # Each meter's first sample bridges from the meter's state.
    first_codes = c[starts]
    marked, open_after, sample_rows = None, None, None
    if rules.on_invalid == "gap" or incoming.outage.any():
        sample_rows = _take(np.arange(n), rows)
        if reps is not None:
            sample_rows = sample_rows[reps]
        gap_power = rules.on_invalid == "gap"
        bad = np.flatnonzero(reason == q.INVALID_POWER) if gap_power else np.arange(0)
        marked, open_after = mark_outages(
            c, ts, sample_rows, starts, codes[bad], t[bad], bad, incoming.last_ts,
            incoming.has_state, incoming.outage,
        )  # fmt: skip
    del c  # the segments' codes say it all from here on (one batch-sized array fewer)
    rep_inc, gap, scratch = interval_increments(
        rules.strategy,
        ts,
        rep_power,
        starts,
        incoming.last_ts[first_codes],
        incoming.last_power[first_codes],
        incoming.has_state[first_codes],
        rules.factor,
        rules.max_gap_ns,
    )
    if marked is not None:
        rep_inc[marked] = 0.0
        gap = gap | marked
    gap_series, gap_starts, gap_ends = gap_intervals(gap, ts, starts, incoming.last_ts[first_codes])
    gaps = GapReport.from_ns(gap_starts, gap_ends, meters[first_codes[gap_series]])
    energy0 = incoming.energy[first_codes]
    # The interval lengths are used up: their buffer takes the running sums (a batch-sized
    # array fewer at the peak, which a shuffled batch reaches here).
    rep_cum = segmented_cumsum(rep_inc, starts, energy0 if energy0.any() else None, out=scratch)
    ends = np.append(starts[1:], ts.size) - 1
    if starts.size and not np.isfinite(rep_cum[ends]).all():  # once inf or NaN, always
        c = first_codes[segment_ids(starts, ts.size)]
        return overflowed(reason, codes, t, c, ts, rep_cum, starts, ends, meters.size)
    states_after = updated_states(incoming, starts, first_codes, ts, rep_power, rep_cum)
    del scratch, gap, ts, ps, rep_power  # sorted copies no longer needed before the scatter

    if rows is None and reps is None:
        cumulative, increments = rep_cum, rep_inc
    else:
        cumulative, increments = _scatter(n, rows, reason, reps, rep_of, rep_cum, rep_inc)
    outage_rows = None
    if marked is not None and open_after is not None and sample_rows is not None:
        states_after.outage[open_after] = True
        outage_rows = np.zeros(n, dtype=bool)
        outage_rows[sample_rows[marked]] = True
    return FleetResult(
        (cumulative, increments),
        reason == q.ACCEPTED,
        reason,
        meters,
        codes,
        t,
        p,
        states_after,
        gaps,
        outage=outage_rows,
    )


def _scatter(
    n: int,
    rows: IntArray | None,
    reason: npt.NDArray[np.int8],
    reps: IntArray | None,
    rep_of: IntArray | None,
    rep_cum: npt.NDArray[np.float64],
    rep_inc: npt.NDArray[np.float64],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Representatives' results back to input rows (NaN where not integrated).

    ``rep_of`` maps each sorted row to its representative's position among
    *all* sorted rows; ``reps`` lists those positions in order (both None when
    every row represents itself).
    """
    if reps is None or rep_of is None:
        assert rows is not None  # else the results are in input order already
        # Every row is written when none was rejected: no NaN fill needed.
        cumulative = np.empty(n) if rows.size == n else np.full(n, np.nan)
        increments = np.empty(n) if rows.size == n else np.full(n, np.nan)
        cumulative[rows] = rep_cum
        increments[rows] = rep_inc
        return cumulative, increments
    positions = np.arange(rep_of.size) if rows is None else rows
    cumulative = np.full(n, np.nan)
    increments = np.full(n, np.nan)
    kept = reason[positions] == q.ACCEPTED
    rank = np.empty(rep_of.size, dtype=np.intp)  # sorted position -> index into reps
    rank[reps] = np.arange(reps.size)
    group = rank[rep_of]
    cumulative[positions[kept]] = rep_cum[group[kept]]
    is_rep = np.arange(rep_of.size) == rep_of
    increments[positions[kept]] = np.where(is_rep, rep_inc[group], 0.0)[kept]
    return cumulative, increments
