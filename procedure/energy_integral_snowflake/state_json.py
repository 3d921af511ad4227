"""Meter states as the JSON text ``METER_STATE.STATE`` holds."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

import energy_integral as ei
from energy_integral.state import STATE_VERSION

__all__ = ["state_from_json", "state_to_json", "states_to_json"]


def state_to_json(state: ei.CumulativeState) -> str:
    """A state as the JSON text stored in ``METER_STATE.STATE`` (sorted keys, stable)."""
    return json.dumps(state.to_dict(), sort_keys=True)


def states_to_json(states: Mapping[Any, ei.CumulativeState], meters: Sequence[Any]) -> list[str]:
    """:func:`state_to_json` of each of ``meters``' states, the same text, from a
    :class:`~energy_integral.StateTable`'s columns where it can (no state objects built).

    >>> res = ei.integrate_meters(["a", "b", "a"], np.array([0, 0, 60], "M8[s]"), [1.0, 2.0, 3.0])
    >>> states_to_json(res.states, ["b", "a"]) == [state_to_json(res.states[m]) for m in "ba"]
    True
    """
    if not isinstance(states, ei.StateTable):
        return [state_to_json(states[m]) for m in meters]
    t = states
    position = {m: i for i, m in enumerate(t.meters.tolist())}
    # Empty or odd states (no sample, a non-finite value) are built, and checked, as objects.
    plain = ((t.count > 0) & np.isfinite(t.first_power) & np.isfinite(t.last_power)
             & np.isfinite(t.energy)).tolist()  # fmt: skip
    ft, fp, lt, lp = (
        t.first_ts.tolist(),
        t.first_power.tolist(),
        t.last_ts.tolist(),
        t.last_power.tolist(),
    )
    energy, count, outage = t.energy.tolist(), t.count.tolist(), t.outage.tolist()
    units = {"method": t.method, "power_unit": t.power_unit, "energy_unit": t.energy_unit}
    out = []
    for m in meters:
        i = position.get(m)
        if i is None or not plain[i]:  # (None: a meter the batch did not have)
            out.append(state_to_json(states[m]))
            continue
        fields = {"version": STATE_VERSION, **units, "first_ts": ft[i], "first_power": fp[i],
                  "last_ts": lt[i], "last_power": lp[i], "energy": energy[i],
                  "count": count[i]}  # fmt: skip
        if outage[i]:
            fields["outage"] = True
        out.append(json.dumps(fields, sort_keys=True))
    return out


def state_from_json(text: str) -> ei.CumulativeState:
    """Read ``METER_STATE.STATE``; a broken value raises ``StateFormatError``."""
    try:
        data = json.loads(text)
    except (TypeError, json.JSONDecodeError) as exc:
        raise ei.errors.StateFormatError(f"METER_STATE.STATE is not JSON: {text!r:.80}") from exc
    if not isinstance(data, dict):
        raise ei.errors.StateFormatError(f"METER_STATE.STATE is not a JSON object: {text!r:.80}")
    return ei.CumulativeState.from_dict(data)
