"""Third-party strategies: a real entry-point distribution, and register_strategy's forms.

The distribution is built on disk in ``tmp_path`` — a package plus a
``*.dist-info`` folder whose ``entry_points.txt`` declares the group
``energy_integral.strategies`` — and put on ``sys.path``, so
:func:`importlib.metadata.entry_points` finds it exactly as it would an
installed wheel.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from test_strategies_contract import check_strategy_contract

import energy_integral as ei

T = np.array(
    ["2026-01-01T00:00", "2026-01-01T01:00", "2026-01-01T01:30", "2026-01-01T03:30"],
    dtype="datetime64[m]",
)
P = np.array([1.0, 3.0, -1.0, 2.0])

PACKAGE = '''
"""Strategies shipped by a third party."""
import numpy as np
from energy_integral import Strategy


class PeakStrategy(Strategy):
    """Bill each interval at its higher end."""

    name = "peak"

    def interval_energy(self, dt, p0, p1):
        return np.maximum(p0, p1) * dt


def valley(dt, p0, p1):
    return np.minimum(p0, p1) * dt


class _Midpoint(Strategy):
    name = "mid"

    def interval_energy(self, dt, p0, p1):
        return 0.5 * (p0 + p1) * dt


MID = _Midpoint()
'''

BOOM = """
raise ImportError("mypkg_strategies.boom needs a GPU driver")
"""


def _distribution(root: Path, entry_points: dict[str, str]) -> None:
    pkg = root / "mypkg_strategies"
    pkg.mkdir()
    (pkg / "__init__.py").write_text(PACKAGE)
    (pkg / "boom.py").write_text(BOOM)
    info = root / "mypkg_strategies-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: mypkg-strategies\nVersion: 0.1\n")
    lines = "\n".join(f"{name} = {target}" for name, target in entry_points.items())
    (info / "entry_points.txt").write_text(f"[energy_integral.strategies]\n{lines}\n")


@pytest.fixture(autouse=True)
def clean_registry() -> Iterator[None]:
    ei.refresh_strategies()
    yield
    sys.modules.pop("mypkg_strategies", None)
    sys.modules.pop("mypkg_strategies.boom", None)
    ei.refresh_strategies()


@pytest.fixture
def plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    _distribution(
        tmp_path,
        {
            "peak": "mypkg_strategies:PeakStrategy",
            "valley": "mypkg_strategies:valley",
            "mid": "mypkg_strategies:MID",
        },
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    ei.refresh_strategies()
    return tmp_path


def test_entry_point_strategies_are_discovered(plugin: Path) -> None:
    names = ei.available_strategies()
    assert names[:4] == ("trapezoid", "left", "right", "scipy")
    assert {"peak", "valley", "mid"} <= set(names)
    assert type(ei.get_strategy("peak")).__name__ == "PeakStrategy"
    for name in ("peak", "valley", "mid"):
        assert ei.get_strategy(name).name == name


@pytest.mark.parametrize("name", ["peak", "valley", "mid"])
def test_entry_point_strategies_keep_the_contract(plugin: Path, name: str) -> None:
    rng = np.random.default_rng(7)
    dt, p0, p1 = rng.uniform(0, 2, 50), rng.uniform(-5, 5, 50), rng.uniform(-5, 5, 50)
    check_strategy_contract(ei.get_strategy(name), dt, p0, p1)


@pytest.mark.parametrize(
    ("name", "expected"),
    # By hand over T/P: intervals of 1 h (1→3), 0.5 h (3→-1), 2 h (-1→2).
    [("peak", 3.0 + 1.5 + 4.0), ("valley", 1.0 - 0.5 - 2.0), ("mid", 2.0 + 0.5 + 1.0)],
)
def test_entry_point_strategy_end_to_end(plugin: Path, name: str, expected: float) -> None:
    whole = ei.integrate(T, P, method=name)
    assert whole.total == pytest.approx(expected, rel=1e-15)
    assert whole.state.method == name

    # In batches, carrying the state through JSON.
    first = ei.integrate(T[:2], P[:2], method=name)
    carried = ei.CumulativeState.from_dict(json.loads(json.dumps(first.state.to_dict())))
    second = ei.integrate(T[2:], P[2:], method=name, state=carried)
    np.testing.assert_allclose(
        np.concatenate([first.cumulative, second.cumulative]), whole.cumulative, rtol=1e-15
    )

    # Two halves integrated independently, then combined.
    halves = first.state.combine(ei.integrate(T[2:], P[2:], method=name).state)
    assert halves.energy == pytest.approx(expected, rel=1e-15)
    assert halves == ei.CumulativeState.empty(name).combine(halves).combine(
        ei.CumulativeState.empty(name)
    )
    # max_gap applies to the plug-in too: split before the 2 h interval, it is the bridge.
    head = ei.integrate(T[:3], P[:3], method=name).state
    tail = ei.integrate(T[3:], P[3:], method=name).state
    assert head.combine(tail).energy == pytest.approx(expected, rel=1e-15)
    assert head.combine(tail, max_gap="1h").energy == head.energy


def test_plugin_that_fails_to_load_warns_and_the_rest_works(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _distribution(
        tmp_path,
        {
            "boom": "mypkg_strategies.boom:Strategy",
            "missing": "mypkg_strategies:no_such_thing",
            "peak": "mypkg_strategies:PeakStrategy",
        },
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    ei.refresh_strategies()
    with pytest.warns(RuntimeWarning) as record:
        names = ei.available_strategies()
    messages = [str(w.message) for w in record]
    assert any("'boom'" in m and "needs a GPU driver" in m for m in messages), messages
    assert any("'missing'" in m and "no_such_thing" in m for m in messages), messages
    assert "peak" in names
    assert "boom" not in names
    assert "missing" not in names
    assert ei.integrate(T, P).total == pytest.approx(2.0 + 0.5 + 1.0, rel=1e-15)
    with pytest.raises(ei.UnknownStrategyError, match="method='boom'"):
        ei.get_strategy("boom")


def test_refresh_forgets_plugins_whose_distribution_is_gone(
    plugin: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert "peak" in ei.available_strategies()
    monkeypatch.undo()  # the distribution leaves sys.path
    ei.refresh_strategies()
    assert "peak" not in ei.available_strategies()
    assert ei.available_strategies()[:4] == ("trapezoid", "left", "right", "scipy")


def test_explicit_registration_wins_over_an_entry_point(plugin: Path) -> None:
    ei.register_strategy("peak", lambda dt, p0, p1: p0 * 0.0)
    assert ei.integrate(T, P, method="peak").total == 0.0


# -- register_strategy, decorator and call ----------------------------------------------------


def _hourly_total(method: str) -> float:
    return ei.integrate(T, P, method=method).total


def test_decorator_on_a_class() -> None:
    @ei.register_strategy("held-high")
    class HeldHigh(ei.Strategy):
        name = "something-else"
        chunk_invariant = False

        def interval_energy(self, dt: Any, p0: Any, p1: Any) -> Any:
            return np.maximum(p0, p1) * dt

    assert isinstance(HeldHigh, type)  # the decorator hands the class back
    strategy = ei.get_strategy("held-high")
    assert strategy.name == "held-high"
    assert strategy.chunk_invariant is False
    assert _hourly_total("held-high") == pytest.approx(8.5, rel=1e-15)


def test_decorator_on_a_function() -> None:
    @ei.register_strategy("double-left")
    def double_left(dt: Any, p0: Any, p1: Any) -> Any:
        return 2.0 * p0 * dt

    assert double_left(np.array([1.0]), np.array([2.0]), np.array([0.0]))[0] == 4.0
    assert "double-left" in ei.available_strategies()
    assert _hourly_total("double-left") == pytest.approx(2 * _hourly_total("left"), rel=1e-15)
    assert ei.get_strategy("double-left").chunk_invariant is True


def test_call_with_an_instance_and_with_a_class() -> None:
    left = ei.get_strategy("left")
    returned = ei.register_strategy("locf", left)
    assert returned is left
    assert _hourly_total("locf") == _hourly_total("left")
    ei.register_strategy("rhs", type(ei.get_strategy("right")))
    assert _hourly_total("rhs") == _hourly_total("right")
    state = ei.integrate(T, P, method="locf").state
    assert state.method == "locf"
    assert ei.CumulativeState.from_dict(state.to_dict()) == state


def test_refresh_forgets_explicit_registrations() -> None:
    ei.register_strategy("temp", lambda dt, p0, p1: p0 * dt)
    assert "temp" in ei.available_strategies()
    ei.refresh_strategies()
    assert "temp" not in ei.available_strategies()


@pytest.mark.parametrize("bad", [42, "trapezoid"])
def test_register_refuses_what_is_not_a_strategy(bad: Any) -> None:
    with pytest.raises(TypeError, match="strategy 'odd' must be a Strategy subclass"):
        ei.register_strategy("odd", bad)


def test_register_refuses_an_empty_name() -> None:
    with pytest.raises(ValueError, match="non-empty string"):
        ei.register_strategy("", lambda dt, p0, p1: p0 * dt)
