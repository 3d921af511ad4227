"""What :func:`~energy_integral.integrate_meters` returns, and how a batch moves the states."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from . import quality as q
from ._row_order import interleave
from .gaps import GapReport
from .state_table import StateTable

__all__ = [
    "DeferredRows",
    "FleetResult",
    "SortedRows",
    "advance_states",
    "copied_states",
    "updated_states",
]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class SortedRows:
    """A clean batch's rows in (meter, time) order, ties in input order, as the engine
    integrated them: meter ``k``'s rows start at ``starts[k]``."""

    t: npt.NDArray[np.int64]
    p: npt.NDArray[np.float64]
    increments: npt.NDArray[np.float64]
    starts: npt.NDArray[np.intp]


@dataclass(frozen=True)
class DeferredRows:
    """Per-row results computed in another order than the input's: input row ``rows[k]``
    gets ``cumulative[k]`` and ``increments[k]``.

    A batch sorted whole to be integrated (shuffled rows) has its results in
    (meter, time) order; putting them back in input order is one scatter of
    the whole batch (about an eighth of the call). It is done when a per-row
    result is first read, so a caller who wants only the states, the gaps or
    the intervals (``energy_by_interval(..., fleet=)``) never pays for it.

    >>> deferred = DeferredRows(np.array([2, 0, 1]), np.array([1.0, 3.0, 6.0]),
    ...                         np.array([1.0, 2.0, 3.0]))
    >>> [a.tolist() for a in deferred.in_input_order()]
    [[3.0, 6.0, 1.0], [2.0, 3.0, 1.0]]
    """

    rows: npt.NDArray[np.intp]
    cumulative: FloatArray
    increments: FloatArray

    def in_input_order(self) -> tuple[FloatArray, FloatArray]:
        """The running energy and the increments, each row where the input had it."""
        # Random access costs about as much per item for 16 bytes as for 8: the two
        # results go back together, as the two halves of one complex128 per row.
        n = self.rows.size
        back = np.empty((n, 2))
        pairs = interleave(self.cumulative, self.increments)
        back.view(np.complex128).reshape(n)[self.rows] = pairs.view(np.complex128).reshape(n)
        return back[:, 0], back[:, 1]


@dataclass(frozen=True)
class FleetResult:
    """What :func:`integrate_meters` returns; row-aligned arrays follow the input order.

    Attributes
    ----------
    cumulative, increments : ndarray of float64
        Running energy per meter and the energy of the interval ending at each
        row; NaN for rows that were not integrated.
    accepted : ndarray of bool
        Rows that were integrated.
    reason : ndarray of str
        Why a row was rejected (``""`` when accepted); see :data:`REJECTION_REASONS`.
    detail : ndarray of str
        What the reason does not say, ``""`` mostly: a time outside 1677..2262,
        an energy that overflows float64, a power beyond ``max_power``.
    rejected : Rejections
        The rejected rows with meter, timestamp, power and reason.
    states : StateTable
        Mapping meter → :class:`CumulativeState` after the batch, including the
        incoming states of meters that had no rows.
    gaps : GapReport
        Intervals longer than ``max_gap``, per meter.
    frame : DataFrame or None
        Set by :func:`integrate_frame`: the input frame with the results as columns.
    outage : ndarray of bool or None
        With ``on_invalid="gap"``: rows whose interval (the one ending at the
        row) is an outage; None otherwise.
    """

    _per_row: tuple[FloatArray, FloatArray] | DeferredRows  # (cumulative, increments)
    accepted: npt.NDArray[np.bool_]
    reason_code: npt.NDArray[np.int8]
    _meters: npt.NDArray[Any]
    _codes: npt.NDArray[np.int64] | None  # None when every row was accepted
    _t: npt.NDArray[np.int64]
    _p: npt.NDArray[np.float64]
    states: StateTable
    gaps: GapReport
    frame: Any = None
    outage: npt.NDArray[np.bool_] | None = None
    _details: Mapping[int, str] = field(default_factory=dict)  # row -> detail, rejected rows
    _run_starts: npt.NDArray[np.intp] | None = None  # with _codes None: where each meter starts
    _sorted: SortedRows | None = None  # kept on request, when the engine had to sort the rows

    @classmethod
    def all_accepted(
        cls,
        cumulative: npt.NDArray[np.float64],
        increments: npt.NDArray[np.float64],
        meters: npt.NDArray[Any],
        codes: npt.NDArray[np.int64] | None,
        t: npt.NDArray[np.int64],
        p: npt.NDArray[np.float64],
        states: StateTable,
        gaps: GapReport,
        run_starts: npt.NDArray[np.intp] | None = None,
    ) -> FleetResult:
        """The result of a clean batch: every row accepted, none with a reason."""
        n = t.size
        accepted, reasons = np.ones(n, dtype=bool), np.zeros(n, dtype=np.int8)
        return cls(
            (cumulative, increments), accepted, reasons, meters, codes, t, p, states, gaps,
            _run_starts=run_starts,
        )  # fmt: skip

    @property
    def cumulative(self) -> FloatArray:
        """Running energy per meter at each row (NaN where not integrated)."""
        return self._in_input_order()[0]

    @property
    def increments(self) -> FloatArray:
        """Energy of the interval ending at each row (NaN where not integrated)."""
        return self._in_input_order()[1]

    def _in_input_order(self) -> tuple[FloatArray, FloatArray]:
        per_row = self._per_row
        if isinstance(per_row, DeferredRows):
            # Once, on first read; two threads reading at once each compute the same
            # arrays, and either's stay.
            per_row = per_row.in_input_order()
            object.__setattr__(self, "_per_row", per_row)
        return per_row

    @property
    def meter(self) -> npt.NDArray[np.object_]:
        """Each row's meter id, in input order (None where the row had none)."""
        codes = self._row_codes()
        out = np.full(codes.size, None, dtype=object)
        known = codes >= 0
        out[known] = self._meters[codes[known]]
        return out

    def _row_codes(self) -> npt.NDArray[np.int64]:
        """Each row's index into the meters (``-1`` where it had none), in input order."""
        if self._codes is not None:
            return self._codes
        # Every row accepted, grouped by meter: the runs give the codes.
        from ._segments import segment_ids

        starts = self._run_starts if self._run_starts is not None else np.zeros(1, np.intp)
        return segment_ids(starts, self.accepted.size)

    @property
    def reason(self) -> npt.NDArray[np.object_]:
        """Why each row was rejected, ``""`` where accepted (see :data:`REJECTION_REASONS`)."""
        return q.reason_labels(self.reason_code)

    @property
    def detail(self) -> npt.NDArray[np.object_]:
        """What a rejected row's reason does not say (``""`` mostly); see :class:`Rejections`."""
        out = np.full(self.reason_code.size, "", dtype=object)
        for row, text in self._details.items():
            out[row] = text
        return out

    @property
    def rejected(self) -> q.Rejections:
        """The rejected rows, in input order, with meter, timestamp, power and reason."""
        if self._codes is None:
            return q.Rejections.empty()
        return q.Rejections.from_codes(
            self.reason_code, self._codes, self._meters, self._t, self._p, self._details
        )

    @property
    def total(self) -> float:
        """Energy of every meter's state after the batch, summed."""
        return self.states.total_energy()


def updated_states(
    incoming: StateTable,
    starts: npt.NDArray[np.intp],
    touched: npt.NDArray[np.intp],
    rt: npt.NDArray[np.int64],
    rp: npt.NDArray[np.float64],
    cum: npt.NDArray[np.float64],
) -> StateTable:
    """Each touched meter's new first/last sample, energy and count; others unchanged."""
    out = copied_states(incoming)
    advance_states(out, starts, touched, rt, rp, cum)
    return out


def copied_states(incoming: StateTable) -> StateTable:
    """``incoming`` with columns of its own, for :func:`advance_states` to write."""
    return StateTable(
        incoming.method,
        incoming.power_unit,
        incoming.energy_unit,
        incoming.meters,
        incoming.first_ts.copy(),
        incoming.first_power.copy(),
        incoming.last_ts.copy(),
        incoming.last_power.copy(),
        incoming.energy.copy(),
        incoming.count.copy(),
        incoming.outage.copy(),
        incoming.unchanged,
    )


def advance_states(
    table: StateTable,
    starts: npt.NDArray[np.intp],
    touched: npt.NDArray[np.intp],
    rt: npt.NDArray[np.int64],
    rp: npt.NDArray[np.float64],
    cum: npt.NDArray[np.float64],
) -> None:
    """:func:`updated_states` in place: ``table``'s columns are written.

    Meter ``touched[j]``'s rows are ``rt``, ``rp`` (times, power) and ``cum``
    (running energy) from ``starts[j]`` to the next start.
    """
    if starts.size == 0:
        return
    ends = np.append(starts[1:], rt.size) - 1
    fresh = ~table.has_state[touched]
    table.first_ts[touched[fresh]] = rt[starts[fresh]]
    table.first_power[touched[fresh]] = rp[starts[fresh]]
    table.last_ts[touched] = rt[ends]
    table.last_power[touched] = rp[ends]
    table.energy[touched] = cum[ends]
    table.count[touched] += ends - starts + 1
    table.outage[touched] = False  # a later sample closed any outage (the caller sets new ones)
