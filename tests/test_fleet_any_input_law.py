"""The law of the fleet engine on any input a fleet may send (issue: no silent wrong answer).

For rows of any supported container (lists, numpy, pandas, polars, pyarrow),
ids of any supported kind (ints, strings, nullable ints beyond 2**53), times
in and out of the nanosecond range or missing, and powers including NaN, ±inf
and values whose energy overflows: :func:`integrate_meters` either returns
finite per-meter totals equal to a reference computed here over exactly the
rows it accepted, and rejects only rows that have something wrong, or it
raises an :class:`EnergyIntegralError` — never anything else.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
from hypothesis import event, given, settings
from hypothesis import strategies as st

import energy_integral as ei

EPOCH = dt.datetime(1970, 1, 1)
BIG = 2**53
CONTAINERS = ("list", "numpy", "pandas", "polars", "pyarrow")
_TIMES = [EPOCH + dt.timedelta(days=20_454, minutes=m) for m in (0, 7, 15, 30, 61, 240)]
_OUT_OF_RANGE = [dt.datetime(1600, 1, 1), dt.datetime(9999, 12, 31)]
_POWERS = [0.0, 1.5, -2.0, 3.25, math.nan, math.inf, -math.inf, 1e308, -1e308, 5e307]
_ID_KINDS = {
    "int": [1, 2, 3],
    "str": ["a", "b", "007"],
    "nullable-int": [1, 2, None],
    "big-int": [BIG, BIG + 1, None],
    "nullable-str": ["a", "b", None],
}


def _ns(t: dt.datetime | None) -> int | None:
    """Nanoseconds since the epoch in Python ints; None when missing or out of int64 range."""
    if t is None:
        return None
    ns = (t - EPOCH) // dt.timedelta(microseconds=1) * 1_000
    return ns if -(2**63) < ns < 2**63 else None


def _ids(values: list[Any], container: str, kind: str) -> Any:
    if container == "list":
        return values
    if container == "numpy":
        has_none = any(v is None for v in values)
        return np.array(values, dtype=object if has_none or kind != "int" else np.int64)
    if container == "pandas":
        return pd.Series(values, dtype="Int64" if "int" in kind else object)
    if container == "polars":
        return pl.Series(values, dtype=pl.Int64 if "int" in kind else pl.Utf8)
    return pa.array(values, pa.int64() if "int" in kind else pa.string())


def _times(values: list[dt.datetime | None], container: str) -> Any:
    if container == "list":
        return values
    micro = np.array(
        [np.datetime64("NaT", "us") if v is None else np.datetime64(v, "us") for v in values],
        dtype="datetime64[us]",
    )
    if container == "numpy":
        return micro
    if container == "pandas":
        return pd.Series(micro)
    if container == "polars":
        return pl.Series(micro)
    return pa.array(micro)


def _power(values: list[float], container: str) -> Any:
    arr = np.array(values, dtype=np.float64)
    return {
        "list": values,
        "numpy": arr,
        "pandas": pd.Series(arr),
        "polars": pl.Series(arr),
        "pyarrow": pa.array(arr),
    }[container]


@st.composite
def fleets(draw: st.DrawFn) -> tuple[list[Any], list[dt.datetime | None], list[float], str]:
    kind = draw(st.sampled_from(sorted(_ID_KINDS)))
    n = draw(st.integers(0, 12))
    ids = draw(st.lists(st.sampled_from(_ID_KINDS[kind]), min_size=n, max_size=n))
    times = draw(
        st.lists(
            st.one_of(st.sampled_from(_TIMES), st.sampled_from(_OUT_OF_RANGE), st.none()),
            min_size=n,
            max_size=n,
        )
    )
    powers = draw(
        st.lists(st.one_of(st.sampled_from(_POWERS), st.floats(-10, 10)), min_size=n, max_size=n)
    )
    return ids, times, powers, kind


def _reference(rows: list[tuple[int, float]]) -> tuple[float, float]:
    """Trapezoid energy (kWh) of one meter's (ns, kW) rows in time order, and its scale."""
    rows = sorted(rows)
    energy = scale = 0.0
    for (t0, p0), (t1, p1) in itertools.pairwise(rows):
        term = (p0 + p1) * 0.5 * ((t1 - t0) / 3.6e12)
        energy += term
        scale += abs(term)
    return energy, scale


@settings(max_examples=300, deadline=None)
@given(
    fleet=fleets(),
    containers=st.tuples(*(st.sampled_from(CONTAINERS) for _ in range(3))),
)
def test_any_input_gives_the_reference_energy_or_a_library_error(
    fleet: tuple[list[Any], list[dt.datetime | None], list[float], str],
    containers: tuple[str, str, str],
) -> None:
    ids, times, powers, kind = fleet
    args = (
        _ids(ids, containers[0], kind),
        _times(times, containers[1]),
        _power(powers, containers[2]),
    )
    try:
        res = ei.integrate_meters(*args)
    except ei.EnergyIntegralError as exc:
        event(f"refused: {type(exc).__name__}")
        return
    event("integrated" + (" with rejections" if len(res.rejected) else ""))
    reasons = res.reason.tolist()
    assert len(reasons) == len(ids)
    ns = [_ns(t) for t in times]
    seen: set[tuple[Any, int]] = set()
    accepted: dict[Any, list[tuple[int, float]]] = {}
    for i, reason in enumerate(reasons):
        if ids[i] is None:
            assert reason == "invalid-meter"
        elif ns[i] is None:
            assert reason == "invalid-time"
        elif not math.isfinite(powers[i]):
            assert reason == "invalid-power"
        elif reason == "invalid-power":  # only for an energy that overflows: a huge power
            assert any(abs(p) > 1e300 for m, p in zip(ids, powers, strict=True) if m == ids[i])
        elif (ids[i], ns[i]) in seen:
            assert reason == "duplicate"
        else:
            assert reason == ""
        if reason == "":
            seen.add((ids[i], ns[i]))  # type: ignore[arg-type]
            accepted.setdefault(ids[i], []).append((ns[i], powers[i]))  # type: ignore[arg-type]
        elif ids[i] is not None and ns[i] is not None and math.isfinite(powers[i]):
            seen.add((ids[i], ns[i]))
    assert res.accepted.tolist() == [r == "" for r in reasons]
    assert {m for m, state in res.states.items() if not state.is_empty} == set(accepted)
    for meter, rows in accepted.items():
        state = res.states[meter]
        expected, scale = _reference(rows)
        assert math.isfinite(state.energy)
        assert state.count == len(rows)
        assert math.isclose(state.energy, expected, rel_tol=1e-9, abs_tol=1e-12 * scale), meter
