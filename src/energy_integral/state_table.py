"""Many meters' states as columns: the fleet engine's fast, lazy Mapping of meter → state."""

from __future__ import annotations

from collections.abc import Hashable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt

from ._factorize import id_kind, ids_kind
from .errors import InvalidTypeError, MeterIdError, MethodMismatchError, UnitError
from .state import CumulativeState
from .timestamps import NAT

__all__ = ["StateTable"]


@dataclass(frozen=True, eq=False)
class StateTable(Mapping[Hashable, CumulativeState]):
    """A read-only ``Mapping`` of meter → :class:`CumulativeState`, stored as columns.

    Building ten thousand state objects would cost more than integrating ten
    million rows, so the fleet engine keeps states as arrays and builds a
    :class:`CumulativeState` only when one is looked up. ``dict(table)`` gives a
    plain dict. Meters that the batch did not touch are kept in ``unchanged``
    exactly as they came in. Missing samples are stored as ``NAT``/NaN with
    ``count == 0``.
    """

    method: str
    power_unit: str
    energy_unit: str
    meters: npt.NDArray[Any]
    first_ts: npt.NDArray[np.int64]
    first_power: npt.NDArray[np.float64]
    last_ts: npt.NDArray[np.int64]
    last_power: npt.NDArray[np.float64]
    energy: npt.NDArray[np.float64]
    count: npt.NDArray[np.int64]
    outage: npt.NDArray[np.bool_]  # see CumulativeState.outage
    unchanged: Mapping[Hashable, CumulativeState] = field(default_factory=dict)

    @classmethod
    def lookup(
        cls,
        states: Mapping[Hashable, CumulativeState] | None,
        meters: npt.NDArray[Any],
        method: str,
        power_unit: str,
        energy_unit: str,
    ) -> StateTable:
        """The incoming states of ``meters`` as columns (empty where a meter has none).

        The meters of ``states`` that are not in ``meters`` go to ``unchanged``.
        Raises if a state's method or units differ from the call's.
        """
        n = len(meters)
        table = cls(
            method,
            power_unit,
            energy_unit,
            meters,
            np.full(n, NAT, np.int64),
            np.full(n, np.nan),
            np.full(n, NAT, np.int64),
            np.full(n, np.nan),
            np.zeros(n),
            np.zeros(n, np.int64),
            np.zeros(n, bool),
            {},
        )
        if states is not None and not isinstance(states, Mapping):
            raise InvalidTypeError(
                f"states must be a mapping of meter → CumulativeState or None; "
                f"got {type(states).__name__}"
            )
        if not states:
            return table
        kind = ids_kind(meters)
        if isinstance(states, StateTable):
            _check_same_kind(kind, ids_kind(states.meters), states.meters[:1].tolist())
        position = table._position
        unchanged: dict[Hashable, CumulativeState] = {}
        objects: Mapping[Hashable, CumulativeState] = states
        if isinstance(states, StateTable):
            table._check(states.method, states.power_unit, states.energy_unit, "states")
            found = [(position[m], i) for m, i in states._position.items() if m in position]
            if found:
                to, frm = (np.array(x, dtype=np.intp) for x in zip(*found, strict=True))
                names = ("first_ts", "first_power", "last_ts", "last_power", "energy", "count")
                for name in (*names, "outage"):
                    getattr(table, name)[to] = getattr(states, name)[frm]
            unchanged.update({m: states[m] for m in states._position if m not in position})
            objects = states.unchanged
        for meter, state in objects.items():
            if kind is not None and id_kind(meter) != kind:
                _check_same_kind(kind, id_kind(meter), [meter])
            if not isinstance(state, CumulativeState):
                raise InvalidTypeError(
                    f"states[{meter!r}] must be a CumulativeState; got {type(state).__name__}"
                )
            table._check(state.method, state.power_unit, state.energy_unit, f"states[{meter!r}]")
            i = position.get(meter)
            if i is None:
                unchanged[meter] = state
            elif not state.is_empty:
                assert state.first_ts is not None
                assert state.last_ts is not None
                table.first_ts[i], table.first_power[i] = state.first_ts, state.first_power
                table.last_ts[i], table.last_power[i] = state.last_ts, state.last_power
                table.energy[i], table.count[i] = state.energy, state.count
                table.outage[i] = state.outage
        object.__setattr__(table, "unchanged", unchanged)
        return table

    def _check(self, method: str, power_unit: str, energy_unit: str, name: str) -> None:
        if method != self.method:
            raise MethodMismatchError(
                f"{name} was integrated with method={method!r} but method={self.method!r}"
            )
        if (power_unit, energy_unit) != (self.power_unit, self.energy_unit):
            raise UnitError(
                f"{name} is in ({power_unit}, {energy_unit}) but the call asks for "
                f"power_unit={self.power_unit!r}, energy_unit={self.energy_unit!r}"
            )

    @cached_property
    def _position(self) -> dict[Hashable, int]:
        return {m: i for i, m in enumerate(self.meters.tolist())}

    @property
    def has_state(self) -> npt.NDArray[np.bool_]:
        """True for the meters (of :attr:`meters`) that hold at least one sample."""
        return self.count > 0

    def __getitem__(self, meter: Hashable) -> CumulativeState:
        i = self._position.get(meter)
        if i is None:
            return self.unchanged[meter]
        if self.count[i] == 0:
            return CumulativeState(self.method, self.power_unit, self.energy_unit)
        return CumulativeState(
            self.method,
            self.power_unit,
            self.energy_unit,
            int(self.first_ts[i]),
            float(self.first_power[i]),
            int(self.last_ts[i]),
            float(self.last_power[i]),
            float(self.energy[i]),
            int(self.count[i]),
            bool(self.outage[i]),
        )

    def __iter__(self) -> Iterator[Hashable]:
        yield from self._position
        yield from self.unchanged

    def __len__(self) -> int:
        return len(self._position) + len(self.unchanged)

    def __contains__(self, meter: object) -> bool:
        return meter in self._position or meter in self.unchanged

    def __repr__(self) -> str:
        return f"<StateTable {self.method!r} of {len(self)} meters>"

    def total_energy(self) -> float:
        """Sum of every meter's energy (the batch's meters and the unchanged ones)."""
        return float(self.energy.sum()) + sum(s.energy for s in self.unchanged.values())


def _check_same_kind(batch: str | None, stored: str | None, example: list[Any]) -> None:
    """Refuse states keyed by ids of another kind than the batch's: ``"1"`` is not ``1``."""
    if batch is None or stored is None or batch == stored:
        return
    raise MeterIdError(
        f"states are keyed by {stored} ids (e.g. {example[0]!r}) but meter_ids are {batch} "
        "ids; a meter would be forked into two series. Convert one to the other's type"
    )
