"""Power and energy units.

Energy is power × time. With power ``p`` in ``power_unit`` and time in hours,
``p · h`` is in ``power_unit·h``; :func:`energy_factor` converts that to the
requested ``energy_unit``:

.. math::

    E_{unit} = p \\cdot h \\cdot \\frac{W(power\\_unit)}{Wh(energy\\_unit)}

where ``W(u)`` is the unit in watts and ``Wh(u)`` the unit in watt-hours
(``1 J = 1/3600 Wh``).
"""

from __future__ import annotations

from .errors import UnitError

__all__ = ["ENERGY_UNITS", "POWER_UNITS", "energy_factor", "validate_units"]

#: Watts per power unit.
POWER_UNITS: dict[str, float] = {"W": 1.0, "kW": 1e3, "MW": 1e6, "GW": 1e9}

#: Watt-hours per energy unit.
ENERGY_UNITS: dict[str, float] = {
    "Wh": 1.0,
    "kWh": 1e3,
    "MWh": 1e6,
    "GWh": 1e9,
    "J": 1.0 / 3600.0,
    "kJ": 1e3 / 3600.0,
    "MJ": 1e6 / 3600.0,
}


def validate_units(power_unit: str, energy_unit: str) -> None:
    """Raise :class:`UnitError` naming the argument if a unit is unknown.

    >>> validate_units("kW", "kWh")
    >>> validate_units("hp", "kWh")
    Traceback (most recent call last):
    ...
    energy_integral.errors.UnitError: power_unit='hp' is not a power unit; use one of W, kW, MW, GW
    """
    if power_unit not in POWER_UNITS:
        raise UnitError(
            f"power_unit={power_unit!r} is not a power unit; use one of {', '.join(POWER_UNITS)}"
        )
    if energy_unit not in ENERGY_UNITS:
        raise UnitError(
            f"energy_unit={energy_unit!r} is not an energy unit; "
            f"use one of {', '.join(ENERGY_UNITS)}"
        )


def energy_factor(power_unit: str, energy_unit: str) -> float:
    """Multiplier from ``power_unit × hours`` to ``energy_unit``.

    >>> energy_factor("MW", "kWh")   # 1 MW for 1 h is 1000 kWh
    1000.0
    >>> energy_factor("kW", "J")     # 1 kW for 1 h is 3.6 MJ
    3600000.0
    """
    validate_units(power_unit, energy_unit)
    return POWER_UNITS[power_unit] / ENERGY_UNITS[energy_unit]
