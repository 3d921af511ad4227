"""Integration strategies: how one interval between two samples becomes energy.

A strategy sees whole arrays of intervals at once: durations ``dt`` (hours) and
the power at both ends, ``p0`` and ``p1``. It never loops over samples.

=============  ==========================================  ==========================
name           energy of one interval                      exact for
=============  ==========================================  ==========================
``trapezoid``  :math:`\\tfrac{1}{2}(p_0 + p_1)\\,\\Delta t`     piecewise-linear power
``left``       :math:`p_0\\,\\Delta t` (left Riemann, LOCF)   power held until the next reading
``right``      :math:`p_1\\,\\Delta t` (right Riemann)        power reported for the past interval
``scipy``      ``scipy.integrate.cumulative_trapezoid``    same as ``trapezoid``
=============  ==========================================  ==========================

Besides the interval's energy a strategy knows how energy accrues *inside* an
interval (:meth:`Strategy.partial_energy`, used to split an interval exactly at
a bucket edge) and where its power crosses zero (:meth:`Strategy.zero_crossing`,
used to separate import from export).
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np
import numpy.typing as npt

__all__ = ["LeftStrategy", "RightStrategy", "ScipyStrategy", "Strategy", "TrapezoidStrategy"]

FloatArray = npt.NDArray[np.float64]


class Strategy(ABC):
    """The contract of an integration strategy.

    Subclasses set :attr:`name` and implement :meth:`interval_energy`. They may
    override :meth:`partial_energy` and :meth:`zero_crossing` when power is
    not constant within an interval. A strategy is *chunk-invariant* when the
    energy of an interval depends only on its two end samples — then a series
    integrated in batches (carrying the last sample) equals the series
    integrated at once, which the streaming procedure relies on.
    """

    name: str = ""
    chunk_invariant: bool = True

    @abstractmethod
    def interval_energy(self, dt: FloatArray, p0: FloatArray, p1: FloatArray) -> FloatArray:
        """Energy (power unit × hours) of each interval of ``dt`` hours from ``p0`` to ``p1``."""

    def interval_energy_scratch(self, dt: FloatArray, p0: FloatArray, p1: FloatArray) -> FloatArray:
        """:meth:`interval_energy`, free to overwrite ``p0`` with the result.

        The engine calls this with a ``p0`` it built for the call and drops
        afterwards, so a strategy can save allocating (and page-faulting) one
        array per batch. The default calls :meth:`interval_energy`.
        """
        return self.interval_energy(dt, p0, p1)

    def series_energy(
        self, dt: FloatArray, p: FloatArray, first_p0: FloatArray, starts: npt.NDArray[np.intp]
    ) -> FloatArray:
        """:meth:`interval_energy` of series laid back to back, each interval ending at a sample.

        ``p0`` is ``p`` one sample earlier, and ``first_p0`` at each series'
        first position (``starts``): the engine's layout. The default builds
        that ``p0`` and calls :meth:`interval_energy_scratch`; a built-in
        reads the shifted samples in place instead (one batch-sized pass
        fewer), with the same operations in the same order, so the same bits.
        """
        p0 = np.empty_like(p)
        p0[1:] = p[:-1]
        p0[starts] = first_p0
        return self.interval_energy_scratch(dt, p0, p)

    def partial_energy(
        self, dt: FloatArray, p0: FloatArray, p1: FloatArray, fraction: FloatArray
    ) -> FloatArray:
        """Energy from the start of each interval to ``fraction`` (0..1) of it.

        The default assumes power is constant within the interval, which is
        exact for ``left`` and ``right``.
        """
        return fraction * self.interval_energy(dt, p0, p1)

    def zero_crossing(self, p0: FloatArray, p1: FloatArray) -> FloatArray:
        """Fraction (0..1) of each interval where power changes sign, NaN where it does not.

        The default (power constant within an interval) never crosses zero.
        """
        return np.full(np.shape(p0), np.nan)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"


class TrapezoidStrategy(Strategy):
    """Power varies linearly between samples: :math:`E = \\tfrac{1}{2}(p_0 + p_1)\\,\\Delta t`.

    >>> TrapezoidStrategy().interval_energy(np.array([0.5]), np.array([1.0]), np.array([3.0]))
    array([1.])
    """

    name = "trapezoid"

    def interval_energy(self, dt: FloatArray, p0: FloatArray, p1: FloatArray) -> FloatArray:
        return 0.5 * (p0 + p1) * dt

    def interval_energy_scratch(self, dt: FloatArray, p0: FloatArray, p1: FloatArray) -> FloatArray:
        # interval_energy in p0's memory: the same operations in the same order, same bits.
        np.add(p0, p1, out=p0)
        p0 *= 0.5
        p0 *= dt
        return p0

    def series_energy(
        self, dt: FloatArray, p: FloatArray, first_p0: FloatArray, starts: npt.NDArray[np.intp]
    ) -> FloatArray:
        out = np.empty_like(p)
        np.add(p[:-1], p[1:], out=out[1:])  # p0 + p1, read in place
        out[starts] = first_p0 + p[starts]
        out *= 0.5
        out *= dt
        return out

    def partial_energy(
        self, dt: FloatArray, p0: FloatArray, p1: FloatArray, fraction: FloatArray
    ) -> FloatArray:
        """Energy up to ``f·dt``: the power there is :math:`p_f = p_0 + f(p_1 - p_0)`, so
        :math:`E_f = \\tfrac{1}{2}(p_0 + p_f)\\, f\\,\\Delta t`."""
        with np.errstate(over="ignore", invalid="ignore"):
            p_at = p0 + fraction * (p1 - p0)
            energy = 0.5 * (p0 + p_at) * (fraction * dt)
        if np.all(np.isfinite(energy)):
            return energy
        # p1 - p0 or p0 + p_at beyond float64 (powers near ±1.8e308): the same line in an
        # order whose every step stays finite, where the energy itself is finite.
        bad = ~np.isfinite(energy)
        b0, b1, f = (np.broadcast_to(x, energy.shape)[bad] for x in (p0, p1, fraction))
        at = b0 * (1 - f) + b1 * f
        with np.errstate(over="ignore", invalid="ignore"):
            energy[bad] = (0.5 * b0 + 0.5 * at) * (f * np.broadcast_to(dt, energy.shape)[bad])
        return energy

    def zero_crossing(self, p0: FloatArray, p1: FloatArray) -> FloatArray:
        """The line from ``p0`` to ``p1`` is zero at :math:`f = p_0 / (p_0 - p_1)`."""
        crosses = (p0 * p1) < 0
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(crosses, p0 / (p0 - p1), np.nan)


class LeftStrategy(Strategy):
    """Left Riemann sum, last observation carried forward: :math:`E = p_0\\,\\Delta t`.

    >>> LeftStrategy().interval_energy(np.array([0.5]), np.array([1.0]), np.array([3.0]))
    array([0.5])
    """

    name = "left"

    def interval_energy(self, dt: FloatArray, p0: FloatArray, p1: FloatArray) -> FloatArray:
        return p0 * dt

    def interval_energy_scratch(self, dt: FloatArray, p0: FloatArray, p1: FloatArray) -> FloatArray:
        return np.multiply(p0, dt, out=p0)

    def series_energy(
        self, dt: FloatArray, p: FloatArray, first_p0: FloatArray, starts: npt.NDArray[np.intp]
    ) -> FloatArray:
        out = np.empty_like(p)
        np.multiply(p[:-1], dt[1:], out=out[1:])  # p0 · dt, read in place
        out[starts] = first_p0 * dt[starts]
        return out


class RightStrategy(Strategy):
    """Right Riemann sum, a reading stands for the interval before it: :math:`E = p_1\\,\\Delta t`.

    >>> RightStrategy().interval_energy(np.array([0.5]), np.array([1.0]), np.array([3.0]))
    array([1.5])
    """

    name = "right"

    def interval_energy(self, dt: FloatArray, p0: FloatArray, p1: FloatArray) -> FloatArray:
        return p1 * dt

    def interval_energy_scratch(self, dt: FloatArray, p0: FloatArray, p1: FloatArray) -> FloatArray:
        return np.multiply(p1, dt, out=p0)

    def series_energy(
        self, dt: FloatArray, p: FloatArray, first_p0: FloatArray, starts: npt.NDArray[np.intp]
    ) -> FloatArray:
        return np.multiply(p, dt)  # no p0 at all


class ScipyStrategy(TrapezoidStrategy):
    """The trapezoid rule computed by :func:`scipy.integrate.cumulative_trapezoid`.

    scipy integrates one array and cannot be seeded with a carried total
    (scipy#18588), so each interval is handed to scipy as a two-sample series
    (``axis=0`` over a ``2 × n`` stack, still one vectorised call) and the
    engine adds the carried offset and the bridge from the previous batch,
    exactly as for the other strategies. It agrees with ``trapezoid``; it is
    here as an independent reference and as a plug-in example.

    >>> ScipyStrategy().interval_energy(np.array([0.5]), np.array([1.0]), np.array([3.0]))
    array([1.])
    """

    name = "scipy"

    def interval_energy(self, dt: FloatArray, p0: FloatArray, p1: FloatArray) -> FloatArray:
        from scipy.integrate import cumulative_trapezoid

        y = np.stack((p0, p1))
        x = np.stack((np.zeros_like(dt), dt))
        return np.asarray(cumulative_trapezoid(y, x=x, axis=0)[0], dtype=np.float64)
