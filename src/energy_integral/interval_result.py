"""What :func:`~energy_integral.energy_by_interval` returns, and how batches' results merge."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from ._column_runs import column_runs
from ._factorize import factorize
from .errors import InvalidArgumentError
from .quality import Rejections
from .state import CumulativeState
from .state_table import StateTable
from .timestamps import NS_PER_HOUR, as_datetime64
from .units import energy_factor

__all__ = ["IntervalEnergy"]

FloatArray = npt.NDArray[np.float64]

#: Columns added up bucket by bucket when batches' results merge.
_ADDED = ("energy", "energy_min", "energy_max", "samples", "covered", "extrapolated")


@dataclass(frozen=True)
class IntervalEnergy:
    """What :func:`energy_by_interval` returns: one row per bucket (per meter), in time order.

    Attributes
    ----------
    start, end : ndarray of datetime64[ns]
        The bucket's edges (UTC); the bucket is ``[start, end)``.
    energy : ndarray of float64
        Energy integrated inside the bucket, in ``energy_unit``.
    energy_min, energy_max : ndarray of float64
        The least and the most energy the bucket can hold if power moves
        monotonically between consecutive samples: each piece of an interval
        from :math:`p_0` to :math:`p_1` that lies in the bucket, of length
        :math:`\\delta`, holds between :math:`\\min(p_0, p_1)\\,\\delta` and
        :math:`\\max(p_0, p_1)\\,\\delta`. Every strategy's energy lies between
        them; for constant power all three agree.
    samples : ndarray of int64
        Samples of this batch inside the bucket (a state's carried sample is not counted).
    covered : ndarray of float64
        Fraction (0..1) of the bucket's time covered by integrated intervals,
        extrapolated ones included; time before the first sample, after the
        last and inside gaps is not covered.
    extrapolated : ndarray of float64
        Fraction (0..1) of the bucket's time covered by extrapolation only
        (``extrapolate=``): a provisional figure.
    largest_gap : ndarray of timedelta64[ns]
        Length of the longest gap (an interval longer than ``max_gap``, or an
        outage) that overlaps the bucket, 0 where none does.
    meter : ndarray or None
        The meter of each bucket when ``meter_ids`` was given.
    energy_unit, power_unit : str
        Units of ``energy`` and of :attr:`mean_power`.
    state : CumulativeState or StateTable or None
        The state(s) after the batch, to pass as ``states`` to the next call.
    tz : str or None
        The IANA time zone the buckets were cut in (``tz=``), which
        :meth:`to_pandas` and :func:`~energy_integral.plot` show their edges in;
        None for UTC.
    rejected : Rejections
        Rows not integrated, with their reason (only with a policy that rejects;
        ``row`` is the position in the call's input).
    """

    start: npt.NDArray[np.datetime64]
    end: npt.NDArray[np.datetime64]
    energy: FloatArray
    energy_min: FloatArray
    energy_max: FloatArray
    samples: npt.NDArray[np.int64]
    covered: FloatArray
    extrapolated: FloatArray
    largest_gap: npt.NDArray[np.timedelta64]
    meter: npt.NDArray[Any] | None = None
    energy_unit: str = "kWh"
    power_unit: str = "kW"
    state: CumulativeState | StateTable | None = None
    rejected: Rejections = field(default_factory=Rejections.empty)
    tz: str | None = None

    def __len__(self) -> int:
        return int(self.start.size)

    @classmethod
    def empty(cls, energy_unit: str = "kWh", power_unit: str = "kW") -> IntervalEnergy:
        """No buckets at all, per meter (what a file of no rows gives).

        >>> len(IntervalEnergy.empty()), IntervalEnergy.empty().total
        (0, 0.0)
        """
        times = np.empty(0, dtype="datetime64[ns]")
        zeros = np.zeros(0)
        return cls(
            times, times.copy(), zeros, zeros.copy(), zeros.copy(), np.zeros(0, np.int64),
            zeros.copy(), zeros.copy(), np.zeros(0, "timedelta64[ns]"), np.empty(0, object),
            energy_unit, power_unit,
        )  # fmt: skip

    def take(self, rows: npt.ArrayLike) -> IntervalEnergy:
        """The buckets at positions ``rows``, e.g. in another order; the rest is kept.

        >>> t = np.array(["2026-01-01T00:00", "2026-01-01T02:00"], dtype="datetime64[m]")
        >>> import energy_integral as ei
        >>> ei.energy_by_interval(t, [1.0, 3.0], "1h").take([1, 0]).energy.tolist()
        [2.5, 1.5]
        """
        per_row = ("start", "end", *_ADDED, "largest_gap") + (("meter",) * (self.meter is not None))
        return dataclasses.replace(self, **{name: getattr(self, name)[rows] for name in per_row})

    @property
    def total(self) -> float:
        """Energy of all buckets."""
        return float(self.energy.sum())

    @property
    def mean_power(self) -> FloatArray:
        """Time-weighted mean power in each bucket, in ``power_unit``; NaN where nothing is covered.

        .. math:: \\bar p = \\frac{E}{\\mathrm{covered} \\cdot (\\mathrm{end} - \\mathrm{start})}

        The covered time includes extrapolated time, so with ``extrapolate="locf"``
        to the end of a day this is TimescaleDB Toolkit's ``average``.
        """
        length = (self.end - self.start).astype(np.int64) / NS_PER_HOUR
        hours = self.covered * length * energy_factor(self.power_unit, self.energy_unit)
        out = np.full(self.energy.size, np.nan)
        np.divide(self.energy, hours, out=out, where=hours > 0)
        return out

    def to_pandas(self) -> Any:
        """A DataFrame with columns (``meter``,) ``start``, ``end``, ``energy``,
        ``energy_min``, ``energy_max``, ``mean_power``, ``samples``, ``covered``,
        ``extrapolated``, ``largest_gap``; ``start`` and ``end`` are tz-aware, in :attr:`tz`
        (UTC when None): the wall clock the buckets were cut by.

        >>> t = np.array(["2026-01-01T00:00", "2026-01-01T02:00"], dtype="datetime64[m]")
        >>> import energy_integral as ei
        >>> ei.energy_by_interval(t, [1.0, 1.0], "1h", tz="Europe/Berlin").to_pandas().start.iloc[0]
        Timestamp('2026-01-01 01:00:00+0100', tz='Europe/Berlin')
        """
        import pandas as pd

        columns: dict[str, Any] = {} if self.meter is None else {"meter": self.meter}
        columns.update(
            start=pd.DatetimeIndex(self.start).tz_localize("UTC").tz_convert(self.tz or "UTC"),
            end=pd.DatetimeIndex(self.end).tz_localize("UTC").tz_convert(self.tz or "UTC"),
            energy=self.energy,
            energy_min=self.energy_min,
            energy_max=self.energy_max,
            mean_power=self.mean_power,
            samples=self.samples,
            covered=self.covered,
            extrapolated=self.extrapolated,
            largest_gap=self.largest_gap,
        )
        return pd.DataFrame(columns)

    def _merged(self) -> bool:
        """Whether :meth:`merge` would give these rows back as they are: one row per bucket,
        in the order of the meters' codes, then of time."""
        start = self.start.view(np.int64)
        later = start[1:] > start[:-1]
        if self.meter is None or not start.size:
            return bool(later.all())
        runs = column_runs(self.meter, "meter")  # each meter's rows together, or None
        if runs is None:
            return False
        meters, first = runs
        later[first[1:] - 1] = True  # a meter's first row may start before the last one's
        return bool(later.all()) and bool(np.all(np.diff(factorize(meters, "meter")[0]) > 0))

    def to_arrow(self) -> Any:
        """A pyarrow Table with the columns of :meth:`to_pandas`; ``start`` and ``end`` are
        timestamps in :attr:`tz` (UTC when None), ``largest_gap`` a duration.

        >>> t = np.array(["2026-01-01T00:00", "2026-01-01T02:00"], dtype="datetime64[m]")
        >>> import energy_integral as ei
        >>> table = ei.energy_by_interval(t, [1.0, 1.0], "1h", tz="Europe/Berlin").to_arrow()
        >>> table.schema.field("start").type, table.column("energy").to_pylist()
        (TimestampType(timestamp[ns, tz=Europe/Berlin]), [1.0, 1.0, 0.0])
        """
        import pyarrow as pa

        edge = pa.timestamp("ns", tz=self.tz or "UTC")
        columns: dict[str, Any] = {}
        if self.meter is not None:
            columns["meter"] = self.meter
        columns.update(
            start=pa.array(self.start.view(np.int64), edge),
            end=pa.array(self.end.view(np.int64), edge),
            energy=self.energy,
            energy_min=self.energy_min,
            energy_max=self.energy_max,
            mean_power=self.mean_power,  # NaN where nothing is covered: null, as from pandas
            samples=self.samples,
            covered=self.covered,
            extrapolated=self.extrapolated,
            largest_gap=self.largest_gap.astype("timedelta64[ns]"),
        )
        return pa.table({k: pa.array(v, from_pandas=True) for k, v in columns.items()})

    @classmethod
    def merge(cls, parts: Sequence[IntervalEnergy]) -> IntervalEnergy:
        """Combine the outputs of consecutive batches into one, bucket by bucket.

        Rows with the same meter and start are one bucket: energy, its bounds,
        samples, covered and extrapolated add up (the batches' intervals do not
        overlap) and the largest gap is the larger one. Since a batch boundary
        never moves energy between buckets, merging per-batch outputs equals one
        call over all rows. The state is the last part's; the rejected rows are
        every part's, one after the other.
        """
        if not parts:
            raise InvalidArgumentError("parts must hold at least one IntervalEnergy")
        units = {(p.energy_unit, p.power_unit) for p in parts}
        if len(units) > 1:
            raise InvalidArgumentError(f"parts mix (energy, power) units: {sorted(units)}")
        has_meter = {p.meter is not None for p in parts}
        if len(has_meter) > 1:
            raise InvalidArgumentError("parts mix per-meter and single-series results")
        zones = {p.tz for p in parts}
        if len(zones) > 1:
            raise InvalidArgumentError(f"parts were cut in different time zones: {zones}")
        if len(parts) == 1 and parts[0]._merged():
            return parts[0]

        def cat(name: str) -> npt.NDArray[Any]:
            return np.concatenate([getattr(p, name) for p in parts])

        start, end = cat("start").view(np.int64), cat("end").view(np.int64)
        if has_meter == {True}:
            code, meters = factorize(cat("meter"), "meter")
        else:
            code, meters = np.zeros(start.size, dtype=np.int64), None
        order = np.lexsort((start, code))
        code, start, end = code[order], start[order], end[order]
        new = np.ones(start.size, dtype=bool)
        new[1:] = (code[1:] != code[:-1]) | (start[1:] != start[:-1])
        firsts = np.flatnonzero(new)
        if np.any(end != end[firsts][np.cumsum(new) - 1]):
            raise InvalidArgumentError(
                "parts disagree on a bucket's end; were they made with one every/tz?"
            )
        gaps = cat("largest_gap").view(np.int64)[order]
        added = {
            name: np.add.reduceat(cat(name)[order], firsts) if start.size else cat(name)
            for name in _ADDED
        }
        rejected = [p.rejected for p in parts if len(p.rejected)]
        return cls(
            start=as_datetime64(start[firsts]),
            end=as_datetime64(end[firsts]),
            largest_gap=(np.maximum.reduceat(gaps, firsts) if start.size else gaps).view(
                "timedelta64[ns]"
            ),
            meter=None if meters is None else meters[code[firsts]],
            energy_unit=parts[0].energy_unit,
            power_unit=parts[0].power_unit,
            state=parts[-1].state,
            rejected=Rejections.concat(rejected) if rejected else Rejections.empty(),
            tz=parts[0].tz,
            **added,
        )
