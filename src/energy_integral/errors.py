"""Exceptions raised by :mod:`energy_integral`.

Every error the library raises on bad input derives from
:class:`EnergyIntegralError`, and each subclass also derives from the builtin
that a caller would expect (``ValueError`` or ``TypeError``), so both
``except EnergyIntegralError`` and ``except ValueError`` work. Messages name
the argument and the offending value, so adapters (the CLI, the Snowflake
procedure) can show them to a person unchanged.
"""

from __future__ import annotations

__all__ = [
    "EnergyIntegralError",
    "MethodMismatchError",
    "MissingExtraError",
    "OrderError",
    "OverlapError",
    "StateFormatError",
    "UnitError",
    "UnknownStrategyError",
]


class EnergyIntegralError(Exception):
    """Base class of every error raised by energy_integral."""


class UnknownStrategyError(EnergyIntegralError, ValueError):
    """A strategy name that is not registered; the message lists the known ones."""


class UnitError(EnergyIntegralError, ValueError):
    """An unknown power or energy unit, or states whose units differ."""


class MethodMismatchError(EnergyIntegralError, ValueError):
    """Two states (or a state and a call) that use different strategies."""


class OrderError(EnergyIntegralError, ValueError):
    """Samples of one series that are not strictly increasing in time, or are invalid."""


class OverlapError(EnergyIntegralError, ValueError):
    """A stretch that starts before the stretch it should follow has ended."""


class StateFormatError(EnergyIntegralError, ValueError):
    """A serialised state that cannot be read (unknown version, missing field)."""


class MissingExtraError(EnergyIntegralError, ImportError):
    """An optional package that is not installed; the message names the extra to install."""
