"""energy_integral: power readings in, billable energy out.

Turns power samples (irregular, arriving in batches, from many meters) into
energy, with a state that can be carried from batch to batch, stored as JSON
and combined — so a stream integrated a minute at a time, a history integrated
in parallel pieces and a series integrated at once all give the same kWh.

>>> import numpy as np, energy_integral as ei
>>> t = np.array(["2026-01-01T00:00", "2026-01-01T00:30"], dtype="datetime64[m]")
>>> ei.integrate(t, [1.0, 3.0]).total   # (1 + 3) / 2 kW for half an hour
1.0
"""

# No `from __future__ import annotations` here: it would bind the name `annotations`
# in the package namespace (`ei.annotations`), and nothing here needs it.

from . import ids as ids  # the checked id conversion adapters call: ei.ids.to_ids
from . import timestamps as timestamps  # and the time one: ei.timestamps.to_ns
from .errors import (
    BucketLimitError,
    EnergyIntegralError,
    InvalidArgumentError,
    InvalidSampleError,
    InvalidTypeError,
    MeterIdError,
    MethodMismatchError,
    MissingExtraError,
    OrderError,
    OverlapError,
    ReadingsFileError,
    StateFormatError,
    TimeRangeError,
    UnitError,
    UnknownStrategyError,
    UnreadableFileError,
)
from .fleet import FleetResult, integrate_meters
from .frame import integrate_frame
from .gaps import GapReport
from .import_export import ImportExport, split_import_export
from .integrate import IntegrationResult, integrate
from .intervals import IntervalEnergy, energy_by_interval
from .plotting import plot
from .quality import REJECTION_REASONS, Rejections
from .registry import (
    available_strategies,
    get_strategy,
    refresh_strategies,
    register_strategy,
)
from .state import CumulativeState
from .state_table import StateTable
from .strategies import Strategy
from .synthetic import Readings, generate_readings
from .units import ENERGY_UNITS, POWER_UNITS

__version__ = "0.1.0"

__all__ = [
    "ENERGY_UNITS",
    "POWER_UNITS",
    "REJECTION_REASONS",
    "BucketLimitError",
    "CumulativeState",
    "EnergyIntegralError",
    "FleetResult",
    "GapReport",
    "ImportExport",
    "IntegrationResult",
    "IntervalEnergy",
    "InvalidArgumentError",
    "InvalidSampleError",
    "InvalidTypeError",
    "MeterIdError",
    "MethodMismatchError",
    "MissingExtraError",
    "OrderError",
    "OverlapError",
    "Readings",
    "ReadingsFileError",
    "Rejections",
    "StateFormatError",
    "StateTable",
    "Strategy",
    "TimeRangeError",
    "UnitError",
    "UnknownStrategyError",
    "UnreadableFileError",
    "__version__",
    "available_strategies",
    "energy_by_interval",
    "generate_readings",
    "get_strategy",
    "integrate",
    "integrate_frame",
    "integrate_meters",
    "plot",
    "refresh_strategies",
    "register_strategy",
    "split_import_export",
]
