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

from ._invalid_rows import OUT_OF_RANGE
from .filereader import Chunk
from .fleet import integrate_meters
from .intervals import IntervalEnergy, energy_by_interval
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


def _relabel(meter: Any, single: bool) -> Any:
    if single:
        return np.full(np.shape(meter), SINGLE_SERIES, dtype=object)
    return meter


def integrate_chunks(
    chunks: Iterable[Chunk],
    *,
    method: str | Strategy = "trapezoid",
    power_unit: str = "kW",
    energy_unit: str = "kWh",
    max_gap: Any = None,
    every: Any = None,
    tz: Any = None,
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
    method, power_unit, energy_unit, max_gap
        As for :func:`~energy_integral.integrate_meters` (bad rows are rejected).
    every, tz : optional
        Also compute energy per bucket, as :func:`~energy_integral.energy_by_interval`;
        buckets that straddle chunks are merged.
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
    carried: Mapping[Hashable, CumulativeState] | None = states
    rows, gaps = 0, 0
    rejected: dict[str, int] = {}
    buckets: list[IntervalEnergy] = []
    single = False
    for chunk in chunks:
        single = chunk.meter is None
        meter = np.zeros(len(chunk), dtype=np.int64) if chunk.meter is None else chunk.meter
        if single and carried is not None and SINGLE_SERIES in carried:
            carried = {0: carried[SINGLE_SERIES]}
        res = integrate_meters(
            meter, chunk.timestamps, chunk.power, states=carried, method=method,
            power_unit=power_unit, energy_unit=energy_unit, max_gap=max_gap,
        )  # fmt: skip
        if every is not None:
            # Only accepted rows: energy_by_interval raises on bad ones.
            ok = res.accepted
            part = energy_by_interval(
                chunk.timestamps[ok], chunk.power[ok], every, method=method, tz=tz,
                meter_ids=meter[ok], states=carried, power_unit=power_unit,
                energy_unit=energy_unit, max_gap=max_gap,
            )  # fmt: skip
            buckets.append(part)
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
    merged = None
    if every is not None and buckets:
        merged = IntervalEnergy.merge(buckets)
        if single and merged.meter is not None:
            merged = dataclasses.replace(merged, meter=_relabel(merged.meter, True))
    return ChunkedResult(final, rows, rejected, gaps, merged)
