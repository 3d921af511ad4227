"""The registry of integration strategies.

Built-in strategies register where they are defined; third-party ones either
call :func:`register_strategy` or advertise themselves in the entry-point group
``energy_integral.strategies`` (the object behind the entry point may be a
:class:`~energy_integral.strategies.Strategy` subclass, an instance, or a plain
function ``f(dt, p0, p1) -> energy``). Entry points are read once, on the first
lookup; a plug-in that fails to load is a warning naming it, never a crash.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Any, TypeVar, overload

import numpy as np

from .errors import InvalidArgumentError, InvalidTypeError, UnknownStrategyError
from .strategies import (
    FloatArray,
    LeftStrategy,
    RightStrategy,
    ScipyStrategy,
    Strategy,
    TrapezoidStrategy,
)

__all__ = [
    "ENTRY_POINT_GROUP",
    "available_strategies",
    "get_strategy",
    "refresh_strategies",
    "register_strategy",
]

ENTRY_POINT_GROUP = "energy_integral.strategies"

IntervalFunction = Callable[[FloatArray, FloatArray, FloatArray], FloatArray]
Registrable = TypeVar("Registrable", bound="type[Strategy] | Strategy | IntervalFunction")

_BUILTINS: tuple[Strategy, ...] = (
    TrapezoidStrategy(),
    LeftStrategy(),
    RightStrategy(),
    ScipyStrategy(),
)
_registry: dict[str, Strategy] = {s.name: s for s in _BUILTINS}
_entry_points_loaded = False


class FunctionStrategy(Strategy):
    """Adapts a plain vectorised function ``f(dt, p0, p1) -> energy`` to :class:`Strategy`."""

    def __init__(self, name: str, function: IntervalFunction) -> None:
        self.name = name
        self._function = function

    def interval_energy(self, dt: FloatArray, p0: FloatArray, p1: FloatArray) -> FloatArray:
        return np.asarray(self._function(dt, p0, p1), dtype=np.float64)


def _as_strategy(name: str, obj: Any) -> Strategy:
    if isinstance(obj, Strategy):
        return obj
    if isinstance(obj, type) and issubclass(obj, Strategy):
        return obj()
    if callable(obj):
        return FunctionStrategy(name, obj)
    raise InvalidTypeError(
        f"strategy {name!r} must be a Strategy subclass, a Strategy instance or a function "
        f"f(dt, p0, p1) -> energy; got {type(obj).__name__}"
    )


def _add(name: str, obj: Any) -> Strategy:
    if not isinstance(name, str) or not name:
        raise InvalidArgumentError(f"strategy name must be a non-empty string; got {name!r}")
    strategy = _as_strategy(name, obj)
    if strategy.name != name:
        # A class registered under another name keeps its behaviour but answers to `name`.
        strategy = _Renamed(name, strategy)
    _registry[name] = strategy
    return strategy


class _Renamed(Strategy):
    def __init__(self, name: str, inner: Strategy) -> None:
        self.name, self._inner = name, inner
        self.chunk_invariant = inner.chunk_invariant

    def interval_energy(self, dt: FloatArray, p0: FloatArray, p1: FloatArray) -> FloatArray:
        return self._inner.interval_energy(dt, p0, p1)

    def partial_energy(
        self, dt: FloatArray, p0: FloatArray, p1: FloatArray, fraction: FloatArray
    ) -> FloatArray:
        return self._inner.partial_energy(dt, p0, p1, fraction)

    def zero_crossing(self, p0: FloatArray, p1: FloatArray) -> FloatArray:
        return self._inner.zero_crossing(p0, p1)


@overload
def register_strategy(name: str) -> Callable[[Registrable], Registrable]: ...
@overload
def register_strategy(name: str, strategy: Registrable) -> Registrable: ...


def register_strategy(name: str, strategy: Any = None) -> Any:
    """Register a strategy under ``name``, as a decorator or a call.

    >>> @register_strategy("midpoint-demo")
    ... def midpoint(dt, p0, p1):
    ...     return 0.5 * (p0 + p1) * dt
    >>> "midpoint-demo" in available_strategies()
    True
    >>> refresh_strategies()  # forget it again
    """
    if strategy is not None:
        _add(name, strategy)
        return strategy

    def decorator(obj: Registrable) -> Registrable:
        _add(name, obj)
        return obj

    return decorator


def _load_entry_points() -> None:
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name in _registry:
            continue  # an explicit registration wins over discovery
        try:
            _add(ep.name, ep.load())
        except Exception as exc:  # a broken plug-in must not break the library
            warnings.warn(
                f"energy_integral strategy plug-in {ep.name!r} ({ep.value}) failed to load: {exc}",
                RuntimeWarning,
                stacklevel=2,
            )


def refresh_strategies() -> None:
    """Forget discovered plug-ins and read the entry points again (built-ins stay)."""
    global _entry_points_loaded
    builtin_names = {s.name for s in _BUILTINS}
    for name in [n for n in _registry if n not in builtin_names]:
        del _registry[name]
    _registry.update({s.name: s for s in _BUILTINS})
    _entry_points_loaded = False


def available_strategies() -> tuple[str, ...]:
    """Names of every registered strategy, built-ins first.

    >>> available_strategies()[:4]
    ('trapezoid', 'left', 'right', 'scipy')
    """
    _load_entry_points()
    return tuple(_registry)


def get_strategy(method: str | Strategy) -> Strategy:
    """The strategy registered as ``method`` (a Strategy passes through unchanged).

    >>> get_strategy("trapezoid")
    <TrapezoidStrategy 'trapezoid'>
    >>> get_strategy("simpson")
    Traceback (most recent call last):
    ...
    energy_integral.errors.UnknownStrategyError: method='simpson' is not a registered ...
    """
    if isinstance(method, Strategy):
        return method
    _load_entry_points()
    try:
        return _registry[method]
    except (KeyError, TypeError):
        raise UnknownStrategyError(
            f"method={method!r} is not a registered strategy; known: {', '.join(_registry)}"
        ) from None
