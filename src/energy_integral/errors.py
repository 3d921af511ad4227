"""Exceptions raised by :mod:`energy_integral`.

Every error the library raises on a bad argument or bad data derives from
:class:`EnergyIntegralError`, and each subclass also derives from the builtin
that a caller would expect (``ValueError`` or ``TypeError``), so both
``except EnergyIntegralError`` and ``except ValueError`` work. Messages name
the argument and the offending value, so adapters (the CLI, the Snowflake
procedure) can show them to a person unchanged.

::

    EnergyIntegralError
    ├── InvalidArgumentError (ValueError)   a value a parameter cannot take
    │   ├── UnknownStrategyError            a strategy name that is not registered
    │   ├── UnitError                       an unknown unit, or units that differ
    │   ├── MethodMismatchError             states of different strategies
    │   └── BucketLimitError                an interval grid of too many buckets
    ├── InvalidTypeError (TypeError)        an argument of the wrong type
    │   └── MeterIdError                    meter ids of mixed or mismatched types
    ├── InvalidSampleError (ValueError)     a sample that cannot be integrated (NaN power, no time)
    ├── TimeRangeError (ValueError)         a time outside int64 nanoseconds (1677..2262)
    ├── OrderError (ValueError)             times that do not strictly increase
    ├── OverlapError (ValueError)           a stretch that does not follow the previous one
    ├── StateFormatError (ValueError)       a serialised state that cannot be read
    └── ReadingsFileError (ValueError)      a readings file that cannot be read as asked
        └── UnreadableFileError             bytes that are not what the file claims to be
"""

from __future__ import annotations

__all__ = [
    "BucketLimitError",
    "EnergyIntegralError",
    "InvalidArgumentError",
    "InvalidSampleError",
    "InvalidTypeError",
    "MeterIdError",
    "MethodMismatchError",
    "MissingExtraError",
    "OrderError",
    "OverlapError",
    "ReadingsFileError",
    "StateFormatError",
    "TimeRangeError",
    "UnitError",
    "UnknownStrategyError",
    "UnreadableFileError",
]


class EnergyIntegralError(Exception):
    """Base class of every error raised by energy_integral."""


class InvalidArgumentError(EnergyIntegralError, ValueError):
    """An argument whose value is not allowed (a negative bound, an unknown policy, …)."""


class InvalidTypeError(EnergyIntegralError, TypeError):
    """An argument of a type the library does not take (e.g. integers as timestamps)."""


class UnknownStrategyError(InvalidArgumentError):
    """A strategy name that is not registered; the message lists the known ones."""


class UnitError(InvalidArgumentError):
    """An unknown power or energy unit, or states whose units differ."""


class MethodMismatchError(InvalidArgumentError):
    """Two states (or a state and a call) that use different strategies."""


class BucketLimitError(InvalidArgumentError):
    """An interval grid that would hold more buckets than the documented limit."""


class MeterIdError(InvalidTypeError):
    """Meter ids of mixed types in one batch, or of another type than the states' keys.

    ``"1"`` and ``1`` are different keys to Python; taking them as two meters
    would fork one meter's series, so the library refuses to guess.
    """


class InvalidSampleError(EnergyIntegralError, ValueError):
    """A sample that cannot be integrated: missing meter or time, power NaN/±inf or implausible."""


class TimeRangeError(EnergyIntegralError, ValueError):
    """A time outside what int64 nanoseconds can hold (1677-09-21 .. 2262-04-11)."""


class OrderError(EnergyIntegralError, ValueError):
    """Samples of one series that are not strictly increasing in time."""


class OverlapError(EnergyIntegralError, ValueError):
    """A stretch that starts before the stretch it should follow has ended."""


class StateFormatError(EnergyIntegralError, ValueError):
    """A serialised state that cannot be read (unknown version, bad or inconsistent field)."""


class ReadingsFileError(EnergyIntegralError, ValueError):
    """A readings file that cannot be read as asked: missing column, unparseable value."""


class UnreadableFileError(ReadingsFileError):
    """A file whose content is broken: not UTF-8, a corrupt Parquet file, or the files of a
    directory that disagree on their columns or types. The data's fault, not the call's."""


class MissingExtraError(EnergyIntegralError, ImportError):
    """An optional package that is not installed; the message names the extra to install."""
