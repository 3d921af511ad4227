"""The cumulative state of one series: a small value that can be carried, stored and combined.

A :class:`CumulativeState` summarises an integrated stretch of a series by its
first and last samples, its energy and its sample count. States form a
*monoid* under :meth:`CumulativeState.combine`:

* identity: ``empty.combine(s) == s == s.combine(empty)``;
* associativity: ``(a ⊕ b) ⊕ c == a ⊕ (b ⊕ c)`` (up to float rounding);
* **not** commutative: ``a ⊕ b`` means *b follows a* in time.

Combining bridges the two stretches with the one interval between ``a``'s last
sample and ``b``'s first sample:

.. math::

    E(a \\oplus b) = E(a) + e(a_{last}, b_{first}) + E(b)

where ``e`` is the strategy's interval energy (0 if the interval is longer than
``max_gap``). This is what lets a stream be integrated a minute at a time, or
a history in parallel pieces, and still give the same kWh.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import (
    EnergyIntegralError,
    InvalidSampleError,
    InvalidTypeError,
    MethodMismatchError,
    OverlapError,
    StateFormatError,
    UnitError,
)
from .registry import get_strategy
from .timestamps import NS_PER_HOUR, as_datetime64, check_ns
from .units import energy_factor, validate_units

__all__ = ["STATE_VERSION", "CumulativeState"]

STATE_VERSION = 1


@dataclass(frozen=True, slots=True)
class CumulativeState:
    """Energy integrated so far for one series, with the samples needed to continue.

    Parameters
    ----------
    method : str
        Name of the strategy that produced the energy.
    power_unit, energy_unit : str
        Units of the stored powers and of :attr:`energy`.
    first_ts, last_ts : int or None
        First and last integrated sample times, int64 ns since the epoch (UTC).
    first_power, last_power : float or None
        Power at those samples.
    energy : float
        Energy integrated from ``first_ts`` to ``last_ts``.
    count : int
        Number of samples integrated.
    outage : bool
        An invalid reading followed the last sample (``on_invalid="gap"``): the
        interval from it to the next sample is an outage and adds no energy.

    Examples
    --------
    >>> a = CumulativeState(method="trapezoid", first_ts=0, first_power=1.0,
    ...                     last_ts=3_600_000_000_000, last_power=1.0, energy=1.0, count=2)
    >>> b = CumulativeState(method="trapezoid", first_ts=7_200_000_000_000, first_power=3.0,
    ...                     last_ts=7_200_000_000_000, last_power=3.0, energy=0.0, count=1)
    >>> a.combine(b).energy   # 1 kWh + the bridging hour at (1 + 3) / 2 kW
    3.0
    """

    method: str = "trapezoid"
    power_unit: str = "kW"
    energy_unit: str = "kWh"
    first_ts: int | None = None
    first_power: float | None = None
    last_ts: int | None = None
    last_power: float | None = None
    energy: float = 0.0
    count: int = 0
    outage: bool = False

    def __post_init__(self) -> None:
        _check_fields(self)
        _check_invariants(self)

    # -- construction -------------------------------------------------------------------
    @classmethod
    def empty(
        cls, method: str = "trapezoid", *, power_unit: str = "kW", energy_unit: str = "kWh"
    ) -> CumulativeState:
        """The identity of :meth:`combine`: nothing integrated yet."""
        get_strategy(method)  # fail early on an unknown method
        return cls(method=method, power_unit=power_unit, energy_unit=energy_unit)

    @property
    def is_empty(self) -> bool:
        """True when no sample has been integrated."""
        return self.count == 0

    @property
    def last_time(self) -> np.datetime64 | None:
        """The last integrated sample's time as ``datetime64[ns]``."""
        return None if self.last_ts is None else as_datetime64([self.last_ts])[0]

    # -- the monoid ---------------------------------------------------------------------
    def check_compatible(self, other: CumulativeState) -> None:
        """Raise if ``other`` is no state, or uses another method or other units."""
        if not isinstance(other, CumulativeState):
            raise InvalidTypeError(
                f"other must be a CumulativeState; got {type(other).__name__} (a dict? read it "
                "with CumulativeState.from_dict)"
            )
        if other.method != self.method:
            raise MethodMismatchError(
                f"cannot combine a {self.method!r} state with a {other.method!r} state"
            )
        if (other.power_unit, other.energy_unit) != (self.power_unit, self.energy_unit):
            raise UnitError(
                f"cannot combine a state in ({self.power_unit}, {self.energy_unit}) with one in "
                f"({other.power_unit}, {other.energy_unit})"
            )

    def bridge_energy(self, ts: int, power: float, max_gap_ns: int | None = None) -> float:
        """Energy of the interval from this state's last sample to ``(ts, power)``.

        0 when the state is empty, ends in an outage, or the interval is longer
        than ``max_gap_ns``.
        """
        if self.last_ts is None or self.last_power is None or self.outage:
            return 0.0
        gap = ts - self.last_ts
        if max_gap_ns is not None and gap > max_gap_ns:
            return 0.0
        strategy = get_strategy(self.method)
        with np.errstate(over="ignore", invalid="ignore"):  # an overflow is checked by combine
            energy = strategy.interval_energy(
                np.array([gap / NS_PER_HOUR]), np.array([self.last_power]), np.array([power])
            )
            return float(energy[0]) * energy_factor(self.power_unit, self.energy_unit)

    def combine(self, other: CumulativeState, *, max_gap: Any = None) -> CumulativeState:
        """The state of this stretch followed by ``other``.

        Raises :class:`~energy_integral.errors.OverlapError` if ``other`` starts
        at or before this stretch's last sample, and
        :class:`~energy_integral.errors.MethodMismatchError` /
        :class:`~energy_integral.errors.UnitError` if the two disagree.
        ``max_gap`` (timedelta, timedelta64 or string) drops the bridge if longer.
        """
        self.check_compatible(other)
        if other.is_empty:
            return self
        if self.is_empty:
            return other
        assert self.last_ts is not None
        assert other.first_ts is not None
        assert other.first_power is not None
        if other.first_ts <= self.last_ts:
            raise OverlapError(
                f"cannot combine: the second stretch starts at {as_datetime64([other.first_ts])[0]}"
                f", not after the first one's last sample at {as_datetime64([self.last_ts])[0]}"
            )
        from .timestamps import to_duration_ns

        gap_ns = None if max_gap is None else to_duration_ns(max_gap, "max_gap")
        bridge = self.bridge_energy(other.first_ts, other.first_power, gap_ns)
        if not math.isfinite(self.energy + bridge + other.energy):
            raise InvalidSampleError(
                f"combined energy {self.energy} + {bridge} + {other.energy} overflows float64"
            )
        return dataclasses.replace(
            self,
            last_ts=other.last_ts,
            last_power=other.last_power,
            energy=self.energy + bridge + other.energy,
            count=self.count + other.count,
            outage=other.outage,
        )

    # -- serialisation ------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict (``"version": 1``); times are int nanoseconds since the epoch.

        ``outage`` is written only when set, so states of series without
        outage markers read exactly as before.

        >>> CumulativeState.from_dict(CumulativeState().to_dict()) == CumulativeState()
        True
        """
        out: dict[str, Any] = {"version": STATE_VERSION}
        for field in dataclasses.fields(self):
            out[field.name] = getattr(self, field.name)
        if not self.outage:
            del out["outage"]
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CumulativeState:
        """Read a state written by :meth:`to_dict`, checking its version and every field.

        Each field must have its type and range (``count`` an int >= 0, times
        int nanoseconds inside 1677..2262, powers and energy finite numbers)
        and the fields must agree (a state of one sample has its first sample
        equal to its last); anything else is a :class:`StateFormatError`
        naming the field.

        >>> CumulativeState.from_dict({"version": 1, "count": 2.7})
        Traceback (most recent call last):
        ...
        energy_integral.errors.StateFormatError: state count=2.7 is float; expected an int >= 0
        """
        if not isinstance(data, Mapping):
            raise StateFormatError(f"a state must be a mapping; got {type(data).__name__}")
        version = data.get("version")
        if type(version) is not int or version != STATE_VERSION:  # True == 1, but is no version
            raise StateFormatError(
                f"state version={version!r} is not supported; this library reads version "
                f"{STATE_VERSION}"
            )
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - names - {"version"}
        if unknown:
            raise StateFormatError(f"state has unknown fields: {', '.join(sorted(unknown))}")
        kwargs = {k: v for k, v in data.items() if k in names}
        return cls(**kwargs)

    def to_json(self) -> str:
        """:meth:`to_dict` as a JSON text, the form to store in a table or a file.

        Times stay int nanoseconds, which JSON holds exactly (Python reads them back
        as ints); the floats are written with the 17 digits that read back bit for bit.

        >>> s = CumulativeState(first_ts=0, first_power=0.1, last_ts=1, last_power=0.2,
        ...                     energy=1e-10, count=2)
        >>> CumulativeState.from_json(s.to_json()) == s
        True
        """
        return json.dumps(self.to_dict(), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | bytes) -> CumulativeState:
        """Read a state written by :meth:`to_json` (checked like :meth:`from_dict`).

        Raises :class:`~energy_integral.errors.StateFormatError` when ``text`` is not
        JSON or not a JSON object.
        """
        try:
            data = json.loads(text)
        except (ValueError, TypeError) as exc:
            raise StateFormatError(f"state is not JSON: {exc}; got {text[:80]!r}") from None
        if not isinstance(data, dict):
            raise StateFormatError(f"state JSON must be an object, got {type(data).__name__}")
        return cls.from_dict(data)


_EXACT_FLOAT = 2**53  # every integer up to this is a float exactly: none was rounded


def _as_int(value: Any) -> int | None:
    """An int, or a float holding an integer exactly (JSON readers turn ints into floats);
    None for anything else (bools, strings, 2.7, or floats too large to be exact)."""
    if isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return int(value) if abs(float(value)) <= _EXACT_FLOAT else None
    return None


def _is_int(value: Any) -> bool:
    return _as_int(value) is not None


def _as_float(value: Any) -> float | None:
    """A float from an int or float (not a bool or string); None if it is none or too large."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(
        value, (int, float, np.integer, np.floating)
    ):
        return None
    try:
        return float(value)
    except OverflowError:  # an int beyond float64
        return None


_MIN_NS, _MAX_NS = int(np.iinfo(np.int64).min) + 1, int(np.iinfo(np.int64).max)


def _check_fields(state: CumulativeState) -> None:
    """Each field's type and range; numbers become plain ``int``/``float``.

    Plain ints and floats in range pass a fast test (a fleet builds many states);
    anything else goes through the conversions that name what is wrong.
    """
    for name in ("method", "power_unit", "energy_unit"):
        value = getattr(state, name)
        if not isinstance(value, str) or not value:
            raise StateFormatError(f"state {name}={value!r} must be a non-empty string")
    validate_units(state.power_unit, state.energy_unit)
    if type(state.count) is not int or state.count < 0:
        count = _as_int(state.count)
        if count is None or count < 0:
            kind = type(state.count).__name__
            raise StateFormatError(f"state count={state.count!r} is {kind}; expected an int >= 0")
        object.__setattr__(state, "count", count)
    for name in ("first_ts", "last_ts"):
        value = getattr(state, name)
        if value is None or (type(value) is int and _MIN_NS <= value <= _MAX_NS):
            continue
        try:
            ns = check_ns(_as_int(value) if _is_int(value) else value, name)
        except EnergyIntegralError as exc:
            raise StateFormatError(f"state {exc}") from None
        object.__setattr__(state, name, ns)
    for name in ("first_power", "last_power", "energy"):
        value = getattr(state, name)
        if (value is None and name != "energy") or (type(value) is float and math.isfinite(value)):
            continue
        number = _as_float(value)
        if number is None or not math.isfinite(number):
            raise StateFormatError(
                f"state holds a non-finite value or no number: {name}={value!r} "
                f"({type(value).__name__}); expected a finite number"
            )
        object.__setattr__(state, name, number)
    if not isinstance(state.outage, bool):
        raise StateFormatError(f"state outage={state.outage!r} must be True or False")


def _check_invariants(state: CumulativeState) -> None:
    """The fields agree: no samples without a count, one sample is first and last, …"""
    samples = (state.first_ts, state.first_power, state.last_ts, state.last_power)
    if state.count == 0:
        if any(v is not None for v in samples) or state.energy != 0.0 or state.outage:
            raise StateFormatError(
                "an empty state (count=0) cannot hold samples, energy or an outage"
            )
        return
    if any(v is None for v in samples):
        raise StateFormatError(
            f"a state with count={state.count} needs first_ts, first_power, last_ts, last_power"
        )
    assert state.first_ts is not None
    assert state.last_ts is not None
    if state.last_ts < state.first_ts:
        raise StateFormatError(f"state last_ts={state.last_ts} is before first_ts={state.first_ts}")
    one_sample = state.first_ts == state.last_ts
    if state.count == 1 and not (one_sample and state.first_power == state.last_power):
        raise StateFormatError(
            "a state with count=1 holds one sample: first_ts/first_power must equal "
            f"last_ts/last_power; got ({state.first_ts}, {state.first_power}) and "
            f"({state.last_ts}, {state.last_power})"
        )
