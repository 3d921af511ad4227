"""What one :func:`~energy_integral.integrate_meters` call was asked for, checked once.

Every path the engine may take for a batch (grouped, block by block in time
order, sorted whole, the general path with its policies) integrates by the
same rules; they travel as one value instead of a list of arguments each
path spells out again.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from . import quality as q
from ._inputs import check_choice, check_max_power
from .registry import get_strategy
from .strategies import Strategy
from .timestamps import to_duration_ns
from .units import energy_factor

__all__ = ["IntegrationRules"]


@dataclasses.dataclass(frozen=True)
class IntegrationRules:
    r"""How a batch is integrated.

    Attributes
    ----------
    strategy : Strategy
        The interval formula (trapezoid, left, right, ...).
    factor : float
        Energy units per power unit-hour: an interval of :math:`\Delta t` hours at
        mean power :math:`\bar p` adds :math:`\bar p \, \Delta t \cdot` ``factor``.
    max_gap_ns : int or None
        Intervals longer than this many nanoseconds add no energy (a gap).
    max_power : float or None
        Plausibility bound on ``|power|``; beyond it a row is invalid power.
    on_late, on_duplicate, on_invalid : str
        The row policies (see :func:`~energy_integral.integrate_meters`).

    Examples
    --------
    >>> rules = IntegrationRules.checked("trapezoid", "W", "kWh", max_gap="15min")
    >>> rules.strategy.name, rules.factor, rules.max_gap_ns
    ('trapezoid', 0.001, 900000000000)
    >>> IntegrationRules.checked("trapezoid", "kW", "kWh", on_late="drop")
    Traceback (most recent call last):
    ...
    energy_integral.errors.InvalidArgumentError: on_late='drop' is not valid; ...
    """

    strategy: Strategy
    factor: float
    max_gap_ns: int | None
    max_power: float | None
    on_late: str = "reject"
    on_duplicate: str = "reject"
    on_invalid: str = "reject"

    @classmethod
    def checked(
        cls,
        method: str | Strategy,
        power_unit: str,
        energy_unit: str,
        *,
        max_gap: Any = None,
        max_power: Any = None,
        on_late: str = "reject",
        on_duplicate: str = "reject",
        on_invalid: str = "reject",
    ) -> IntegrationRules:
        """The rules of a call's arguments, each checked (an error names the first one wrong)."""
        strategy = get_strategy(method)
        factor = energy_factor(power_unit, energy_unit)
        check_choice("on_late", on_late, q.ON_LATE)
        check_choice("on_duplicate", on_duplicate, q.ON_DUPLICATE)
        check_choice("on_invalid", on_invalid, q.ON_INVALID)
        bound = check_max_power(max_power)
        max_gap_ns = None if max_gap is None else to_duration_ns(max_gap, "max_gap")
        return cls(strategy, factor, max_gap_ns, bound, on_late, on_duplicate, on_invalid)
