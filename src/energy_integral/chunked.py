"""Integrate a stream of chunks in constant memory, carrying each meter's state across them.

This is what lets a file larger than memory be integrated: each chunk (from
:mod:`energy_integral.filereader`, or any iterable of :class:`Chunk`) goes
through :func:`~energy_integral.integrate_meters` with the states the previous
chunk left, exactly as the Snowflake procedure treats one stream batch after
another. Only the states (one per meter), the rejection counts and, with
``every``, the per-bucket energies are kept; rejected rows are handed to a
callback as they appear instead of being collected.

The file is a stream in delivery order: a row older than the last reading of
its meter in an *earlier* chunk is rejected as ``late`` (within a chunk, order
does not matter). For a file in time order per meter the totals equal
integrating the whole file at once, whatever the chunk size.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from . import quality as q
from ._factorize import factorize
from ._invalid_rows import OUT_OF_RANGE
from .errors import InvalidArgumentError
from .filereader import Chunk
from .fleet import integrate_meters
from .intervals import IntervalEnergy, energy_by_interval, extrapolated_by_interval
from .quality import Rejections
from .state import CumulativeState
from .strategies import Strategy

__all__ = ["SINGLE_SERIES", "ChunkedResult", "integrate_chunks"]

#: Meter id given to a file without a meter column (as :func:`integrate_frame` does).
SINGLE_SERIES = "default"


@dataclass(frozen=True)
class ChunkedResult:
    """What :func:`integrate_chunks` returns.

    Attributes
    ----------
    states : dict of meter → CumulativeState
        Each meter's state after the last chunk (its energy is its total).
    rows : int
        Rows read.
    rejected : dict of str → int
        Rejected rows per reason (see :data:`~energy_integral.REJECTION_REASONS`).
    gaps : int
        Intervals longer than ``max_gap`` (they added no energy).
    intervals : IntervalEnergy or None
        Energy per bucket and meter, when ``every`` was given.
    """

    states: dict[Hashable, CumulativeState]
    rows: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    gaps: int = 0
    intervals: IntervalEnergy | None = None

    @property
    def n_rejected(self) -> int:
        """Rejected rows, all reasons together."""
        return sum(self.rejected.values())

    @property
    def total(self) -> float:
        """Energy of all meters."""
        return float(sum(s.energy for s in self.states.values()))


def _as_single(states: Mapping[Hashable, CumulativeState]) -> dict[Hashable, CumulativeState]:
    """States of a one-series stream under the meter code its chunks use (0)."""
    return {0: states[SINGLE_SERIES]} if SINGLE_SERIES in states else {}


def _relabel(meter: Any, single: bool) -> Any:
    if single:
        return np.full(np.shape(meter), SINGLE_SERIES, dtype=object)
    return meter


class _Ends:
    """The rows of each meter that its extrapolation needs, kept across chunks.

    A line needs a series' outermost intervals: its first two and last two
    valid rows, with an invalid one (an outage marker) wherever it falls
    between them, before the first or after the last. A run of invalid rows
    marks the same outage as its first row, so only that one is kept.
    """

    def __init__(self) -> None:
        self.rows: list[npt.NDArray[Any]] = [np.empty(0, np.int64), np.empty(0, object)]
        self.rows += [np.empty(0, np.int64), np.empty(0, np.float64)]

    def add(self, row: Any, meter: Any, t: Any, p: Any) -> None:
        new = (row, np.asarray(meter, dtype=object), t.astype(np.int64), p)
        row, meter, t, p = (np.concatenate(pair) for pair in zip(self.rows, new, strict=True))
        code, _ = factorize(meter, "meter")
        order = np.lexsort((row, t, code))
        c, valid = code[order], np.isfinite(p[order])
        first = np.searchsorted(c, c, side="left")
        counted = np.cumsum(valid)
        before = counted - valid - np.where(first > 0, counted[first - 1], 0)
        after = counted[np.searchsorted(c, c, side="right") - 1] - counted + valid
        needed = (before < 2) | (after <= 2)
        run_start = np.ones(c.size, dtype=bool)
        run_start[1:] = (c[1:] != c[:-1]) | valid[:-1]
        keep = order[needed & (valid | run_start)]
        self.rows = [row[keep], meter[keep], t[keep], p[keep]]


def integrate_chunks(
    chunks: Iterable[Chunk],
    *,
    method: str | Strategy = "trapezoid",
    power_unit: str = "kW",
    energy_unit: str = "kWh",
    max_gap: Any = None,
    every: Any = None,
    tz: Any = None,
    start: Any = None,
    end: Any = None,
    extrapolate: str | None = None,
    on_invalid: str = "reject",
    on_duplicate: str = "reject",
    states: Mapping[Hashable, CumulativeState] | None = None,
    on_rejected: Callable[[Rejections], None] | None = None,
    on_progress: Callable[[float, int], None] | None = None,
) -> ChunkedResult:
    """Integrate chunk after chunk, each continuing the meters' states of the one before.

    Parameters
    ----------
    chunks : iterable of Chunk
        Consecutive parts of one stream of readings; a chunk whose ``meter``
        is ``None`` is one series, reported as meter ``"default"``.
    method, power_unit, energy_unit, max_gap, on_invalid, on_duplicate
        As for :func:`~energy_integral.integrate_meters` (bad rows are rejected).
    every, tz, start, end, extrapolate : optional
        Also compute energy per bucket, as :func:`~energy_integral.energy_by_interval`;
        buckets that straddle chunks are merged. Each series is extrapolated
        once, after the last chunk, from its first and last two valid rows.
    states : mapping of meter → CumulativeState, optional
        States to continue from (e.g. a previous run's).
    on_rejected : callable, optional
        Called with each chunk's rejected rows (``row`` counted in the whole
        stream), e.g. to append them to a file.
    on_progress : callable, optional
        Called after each chunk with the chunk's ``progress`` and the rows read so far.

    Returns
    -------
    ChunkedResult

    Examples
    --------
    >>> t = np.array(["2026-01-01T00:00", "2026-01-01T01:00", "2026-01-01T02:00"],
    ...              dtype="datetime64[ns]")
    >>> parts = [Chunk(None, t[:1], np.array([1.0]), 0, 0.3),
    ...          Chunk(None, t[1:], np.array([3.0, np.nan]), 1, 1.0)]
    >>> res = integrate_chunks(parts)
    >>> res.total, res.rejected
    (2.0, {'invalid-power': 1})
    """
    if every is not None and on_duplicate == "mean":
        raise InvalidArgumentError(
            "on_duplicate='mean' merges rows into a sample no bucket can split; "
            "use 'reject', 'last' or 'step' with every"
        )
    carried: Mapping[Hashable, CumulativeState] | None = states
    ends = _Ends() if every is not None and extrapolate is not None else None
    options = dict(
        method=method, tz=tz, power_unit=power_unit, energy_unit=energy_unit, max_gap=max_gap,
        start=start, end=end,
    )  # fmt: skip
    rows, gaps = 0, 0
    rejected: dict[str, int] = {}
    buckets: list[IntervalEnergy] = []
    single = False
    for chunk in chunks:
        single = chunk.meter is None
        meter = np.zeros(len(chunk), dtype=np.int64) if chunk.meter is None else chunk.meter
        if single and carried is not None and SINGLE_SERIES in carried:
            carried = _as_single(carried)
        res = integrate_meters(
            meter, chunk.timestamps, chunk.power, states=carried, method=method,
            power_unit=power_unit, energy_unit=energy_unit, max_gap=max_gap,
            on_invalid=on_invalid, on_duplicate=on_duplicate, keep_sorted=every is not None,
        )  # fmt: skip
        if every is not None:
            # Accepted rows and outage markers: what the extensions start from.
            ok = res.accepted
            if on_invalid == "gap":
                ok = ok | (res.reason_code == q.INVALID_POWER)
            # The buckets cut the engine's own intervals: the rows are integrated once.
            part = energy_by_interval(
                chunk.timestamps, chunk.power, every, meter_ids=meter, states=carried, fleet=res,
                on_invalid=on_invalid, on_duplicate=on_duplicate, **options,
            )  # fmt: skip
            buckets.append(dataclasses.replace(part, rejected=Rejections.empty()))  # counted above
            if ends is not None:
                took = ok
                ends.add(
                    chunk.first_row + np.flatnonzero(took), meter[took],
                    chunk.timestamps[took], chunk.power[took],
                )  # fmt: skip
        bad = res.rejected
        if len(bad):
            for reason, n in bad.counts().items():
                rejected[reason] = rejected.get(reason, 0) + n
            if on_rejected is not None:
                detail = bad.detail
                if chunk.out_of_range is not None:  # NaT in the chunk, but not a missing time
                    detail = np.where(chunk.out_of_range[bad.row], OUT_OF_RANGE, detail)
                on_rejected(
                    dataclasses.replace(
                        bad,
                        row=bad.row + chunk.first_row,
                        meter=_relabel(bad.meter, single),
                        detail=detail,
                    )
                )
        carried = res.states
        rows += len(chunk)
        gaps += len(res.gaps)
        if on_progress is not None:
            on_progress(chunk.progress, rows)
    final = dict(carried or {})
    if single and 0 in final:
        final = {SINGLE_SERIES: final.pop(0), **final}
    if ends is not None and extrapolate is not None:
        row, meter, t, p = ends.rows
        order = np.argsort(row, kind="stable")
        buckets.append(
            extrapolated_by_interval(
                t[order].view("datetime64[ns]"),
                p[order],
                every,
                meter_ids=meter[order],
                states=states if not single or states is None else _as_single(states),
                extrapolate=extrapolate,
                on_invalid="gap" if on_invalid == "gap" else "raise",
                on_duplicate="step" if on_duplicate == "step" else "raise",
                **options,
            )
        )
    merged = None
    if every is not None and buckets:
        merged = IntervalEnergy.merge(buckets)
        if single and merged.meter is not None:
            merged = dataclasses.replace(merged, meter=_relabel(merged.meter, True))
    return ChunkedResult(final, rows, rejected, gaps, merged)
