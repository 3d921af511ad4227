"""Validation of array arguments shared by the public entry points."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["all_finite", "all_plausible", "as_power", "check_choice", "check_same_length"]


def as_power(power: Any, name: str = "power") -> npt.NDArray[np.float64]:
    """``power`` as a 1-D float64 array (NaN/inf kept: callers decide what they mean).

    >>> as_power([1, 2])
    array([1., 2.])
    >>> as_power(["a"])
    Traceback (most recent call last):
    ...
    TypeError: power must be numeric; got dtype <U1
    """
    if type(power).__module__.split(".")[0] == "pandas":
        power = power.to_numpy(dtype=np.float64, na_value=np.nan)
    arr = np.asarray(power)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional; got shape {arr.shape}")
    if arr.dtype == object:
        try:
            arr = np.array([np.nan if v is None else v for v in arr], dtype=np.float64)
        except (TypeError, ValueError):
            raise TypeError(f"{name} must be numeric; got values of type object") from None
    if arr.dtype.kind not in "fiub":
        raise TypeError(f"{name} must be numeric; got dtype {arr.dtype}")
    return arr.astype(np.float64, copy=False)


def check_same_length(**arrays: Any) -> int:
    """Raise ``ValueError`` naming the arguments if their lengths differ; return the length."""
    lengths = {name: len(a) for name, a in arrays.items()}
    if len(set(lengths.values())) > 1:
        described = ", ".join(f"{name} has {n}" for name, n in lengths.items())
        raise ValueError(f"arguments must have the same length: {described}")
    return next(iter(lengths.values()), 0)


def check_choice(name: str, value: str, choices: tuple[str, ...]) -> str:
    """Raise ``ValueError`` listing the valid choices if ``value`` is not one of them."""
    if value not in choices:
        raise ValueError(f"{name}={value!r} is not valid; use one of {', '.join(choices)}")
    return value


def all_finite(values: npt.NDArray[np.float64]) -> bool:
    """Whether no value is NaN or ±inf, in one summing pass without a temporary.

    The sum is finite exactly when every value is, unless finite values overflow
    it; only then is each value tested.

    >>> all_finite(np.array([1.0, -1e308, -1e308])), all_finite(np.array([1.0, np.nan]))
    (True, False)
    """
    with np.errstate(over="ignore", invalid="ignore"):  # inf - inf, or a sum beyond 1e308
        total = np.add.reduce(values)
    return bool(np.isfinite(total) or np.isfinite(values).all())


def all_plausible(power: npt.NDArray[np.float64], max_power: float | None) -> bool:
    """Whether every power is finite and, with ``max_power``, within ``±max_power``."""
    if not all_finite(power):
        return False
    if max_power is None or power.size == 0:
        return True
    return max(float(power.max()), -float(power.min())) <= max_power
