"""Validation of array arguments shared by the public entry points."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
import numpy.typing as npt

from ._extras import library_of
from .errors import InvalidArgumentError, InvalidTypeError

__all__ = [
    "all_finite",
    "all_plausible",
    "as_power",
    "check_choice",
    "check_max_power",
    "check_same_length",
]


def _is_missing(value: Any) -> bool:
    """None, NaN, pandas' NA or NaT: a missing power, which the engine rejects as invalid."""
    return value is None or type(value).__name__ in ("NAType", "NaTType")


def as_power(power: Any, name: str = "power") -> npt.NDArray[np.float64]:
    """``power`` as a 1-D float64 array (NaN/inf kept: callers decide what they mean).

    >>> as_power([1, 2])
    array([1., 2.])
    >>> as_power(["a"])
    Traceback (most recent call last):
    ...
    energy_integral.errors.InvalidTypeError: power must be numeric; got dtype <U1
    """
    library = library_of(power)
    if library == "pyarrow" and hasattr(power, "combine_chunks"):
        power = power.combine_chunks()
    if library in ("pyarrow", "polars") and hasattr(power, "to_numpy"):
        power = power.to_numpy(zero_copy_only=False) if library == "pyarrow" else power.to_numpy()
    if library == "pandas" and hasattr(power, "dtype"):
        if power.dtype == object:
            power = power.to_numpy()
        else:
            try:
                power = power.to_numpy(dtype=np.float64, na_value=np.nan)
            except (TypeError, ValueError):
                raise InvalidTypeError(f"{name} must be numeric; got dtype {power.dtype}") from None
    try:
        arr = np.asarray(power)
    except (TypeError, ValueError):
        raise InvalidTypeError(f"{name} must be a sequence of numbers") from None
    if arr.ndim != 1:
        raise InvalidArgumentError(f"{name} must be one-dimensional; got shape {arr.shape}")
    if arr.dtype == object:
        arr = _objects_as_float(arr, name)
    if arr.dtype.kind not in "fiub":
        raise InvalidTypeError(f"{name} must be numeric; got dtype {arr.dtype}")
    return arr.astype(np.float64, copy=False)


def _objects_as_float(arr: npt.NDArray[Any], name: str) -> npt.NDArray[np.float64]:
    out = np.empty(arr.size, dtype=np.float64)
    for i, value in enumerate(arr.tolist()):
        if _is_missing(value):
            out[i] = np.nan
        elif isinstance(value, numbers.Real) and not isinstance(value, bool):
            out[i] = float(value)
        else:
            raise InvalidTypeError(
                f"{name}[{i}]={value!r} is {type(value).__name__}; power must be numeric"
            )
    return out


def check_max_power(max_power: Any) -> float | None:
    """``max_power`` as a positive float, or None; an error naming it otherwise.

    >>> check_max_power(100)
    100.0
    >>> check_max_power("100")
    Traceback (most recent call last):
    ...
    energy_integral.errors.InvalidTypeError: max_power='100' is str; expected a positive number ...
    """
    if max_power is None:
        return None
    if isinstance(max_power, bool) or not isinstance(max_power, numbers.Real):
        raise InvalidTypeError(
            f"max_power={max_power!r} is {type(max_power).__name__}; expected a positive number "
            "or None"
        )
    if not float(max_power) > 0 or not np.isfinite(float(max_power)):
        raise InvalidArgumentError(
            f"max_power={max_power!r} must be a positive finite number or None"
        )
    return float(max_power)


def check_same_length(**arrays: Any) -> int:
    """Raise ``ValueError`` naming the arguments if their lengths differ; return the length."""
    lengths = {name: len(a) for name, a in arrays.items()}
    if len(set(lengths.values())) > 1:
        described = ", ".join(f"{name} has {n}" for name, n in lengths.items())
        raise InvalidArgumentError(f"arguments must have the same length: {described}")
    return next(iter(lengths.values()), 0)


def check_choice(name: str, value: str, choices: tuple[str, ...]) -> str:
    """Raise ``ValueError`` listing the valid choices if ``value`` is not one of them."""
    if not isinstance(value, str) or value not in choices:
        raise InvalidArgumentError(
            f"{name}={value!r} is not valid; use one of {', '.join(choices)}"
        )
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
