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

from .errors import (
    EnergyIntegralError,
    MethodMismatchError,
    MissingExtraError,
    OrderError,
    OverlapError,
    StateFormatError,
    UnitError,
    UnknownStrategyError,
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
    "CumulativeState",
    "EnergyIntegralError",
    "FleetResult",
    "GapReport",
    "ImportExport",
    "IntegrationResult",
    "IntervalEnergy",
    "MethodMismatchError",
    "MissingExtraError",
    "OrderError",
    "OverlapError",
    "Readings",
    "Rejections",
    "StateFormatError",
    "StateTable",
    "Strategy",
    "UnitError",
    "UnknownStrategyError",
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
