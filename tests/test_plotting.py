"""Plots: the right figure with the right artists, drawn without a display."""

from __future__ import annotations

import io
import subprocess
import sys

import matplotlib
import numpy as np
import pytest
from matplotlib.container import BarContainer
from matplotlib.dates import date2num, num2date
from matplotlib.figure import Figure

import energy_integral as ei
from energy_integral.plotting import plot_meters

matplotlib.use("Agg")  # the library never needs a display; savefig below renders with Agg


def minutes(*values: int) -> np.ndarray:
    return np.datetime64("2026-01-01T00:00", "ns") + np.asarray(values).astype("timedelta64[m]")


def renders(fig: Figure) -> bool:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue().startswith(b"\x89PNG")


def test_importing_the_library_does_not_import_matplotlib() -> None:
    code = "import sys, energy_integral; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_a_series_gives_power_above_cumulative_energy() -> None:
    t = minutes(0, 10, 20, 30)
    result = ei.integrate(t, [1.0, 2.0, 3.0, 4.0], power_unit="W", energy_unit="Wh")
    fig = ei.plot(result, title="meter 7")
    assert isinstance(fig, Figure)
    power_ax, energy_ax = fig.axes
    assert power_ax.get_ylabel() == "Power (W)"
    assert energy_ax.get_ylabel() == "Energy (Wh)"
    assert energy_ax.get_xlabel() == "Time (UTC)"
    assert fig.get_suptitle() == "meter 7"
    (power_line,) = power_ax.get_lines()
    (energy_line,) = energy_ax.get_lines()
    assert power_line.get_ydata().tolist() == [1.0, 2.0, 3.0, 4.0]
    # 10 minutes at 1.5, 2.5 and 3.5 W.
    np.testing.assert_allclose(energy_line.get_ydata(), [0.0, 0.25, 2 / 3, 1.25])
    assert power_line.get_drawstyle() == "default"
    assert len(power_ax.patches) == 0
    assert renders(fig)


def test_gaps_are_shaded_and_break_the_power_line() -> None:
    t = minutes(0, 10, 130, 140, 300)
    fig = ei.plot(t, [1.0, 1.0, 2.0, 2.0, 5.0], max_gap="30min", method="left")
    power_ax = fig.axes[0]
    assert len(power_ax.patches) == 2  # 00:10-02:10 and 02:20-05:00
    (line,) = power_ax.get_lines()
    assert line.get_drawstyle() == "steps-post"
    assert int(np.isnan(line.get_ydata()).sum()) == 2
    legend = power_ax.get_legend()
    assert legend is not None
    assert [x.get_text() for x in legend.get_texts()] == ["power (left)", "gap (not integrated)"]
    assert renders(fig)


def test_buckets_are_bars_spanning_them_with_shading_where_incomplete() -> None:
    t = minutes(*range(0, 31), *range(150, 181))  # 00:00-00:30 and 02:30-03:00, 1 kW
    out = ei.energy_by_interval(t, np.ones(t.size), "1h", max_gap="5min")
    fig = ei.plot(out, tz="Europe/Berlin")
    (ax,) = fig.axes
    (bars,) = [c for c in ax.containers if isinstance(c, BarContainer)]
    assert len(bars.patches) == 4  # 00:00, 01:00, 02:00, 03:00
    heights = [b.get_height() for b in bars.patches]
    np.testing.assert_allclose(heights, [0.5, 0.0, 0.5, 0.0])
    widths = [b.get_width() for b in bars.patches]
    np.testing.assert_allclose(widths, [1 / 24] * 4)
    lefts = [b.get_x() for b in bars.patches]
    np.testing.assert_allclose(lefts, date2num(out.start))
    assert num2date(lefts[0]).hour == 0
    shading = [p for p in ax.patches if p not in bars.patches]
    assert len(shading) == 4  # every bucket is at most half covered
    alphas = [p.get_alpha() for p in shading]
    assert alphas[1] > alphas[0]  # the empty hour is darker than the half-covered one
    assert ax.get_ylabel() == "Energy per bucket (kWh)"
    assert ax.get_xlabel() == "Time (Europe/Berlin)"
    assert renders(fig)


def test_per_meter_buckets_get_one_panel_each_or_the_one_asked_for() -> None:
    t = minutes(0, 60, 0, 30, 60)
    out = ei.energy_by_interval(
        t, [1.0, 1.0, 2.0, 2.0, 2.0], "30min", meter_ids=["a", "a", "b", "b", "b"]
    )
    fig = ei.plot(out)
    assert [ax.get_title(loc="left") for ax in fig.axes] == ["a", "b"]
    only_b = ei.plot(out, meter="b")
    (ax,) = only_b.axes
    (bars,) = ax.containers
    np.testing.assert_allclose([b.get_height() for b in bars.patches], [1.0, 1.0, 0.0])
    with pytest.raises(ValueError, match="meter='z'"):
        ei.plot(out, meter="z")


def test_wrong_arguments_are_explained() -> None:
    with pytest.raises(TypeError, match="needs power"):
        ei.plot(minutes(0, 10))
    out = ei.energy_by_interval(minutes(0, 10), [1.0, 1.0], "15min")
    with pytest.raises(TypeError, match="no power"):
        ei.plot(out, [1.0])
    with pytest.raises(ValueError, match="not per meter"):
        ei.plot(out, meter="a")


def test_bounds_are_a_hatched_bar_from_least_to_most_energy() -> None:
    out = ei.energy_by_interval(minutes(0, 20, 30), [1.0, 3.0, 3.0], "15min", method="left")
    ax = ei.plot(out, bounds=True).axes[0]
    bars = [c for c in ax.containers if isinstance(c, BarContainer)]
    assert [c.get_label() for c in bars] == ["energy", "energy bounds"]
    bounds = bars[1]
    assert [r.get_y() for r in bounds] == out.energy_min.tolist()
    heights = [r.get_y() + r.get_height() for r in bounds]
    np.testing.assert_allclose(heights, out.energy_max, rtol=1e-12)
    assert all(r.get_hatch() for r in bounds)
    assert "energy bounds" in [t.get_text() for t in ax.get_legend().get_texts()]
    assert renders(ax.figure)
    assert len(ei.plot(out).axes[0].containers) == 1  # off by default
    with pytest.raises(TypeError, match="bounds=True shades buckets"):
        ei.plot(minutes(0, 20), [1.0, 2.0], bounds=True)


# -- every result type of the README's table ----------------------------------------------
def test_a_fleet_is_a_line_per_meter_ending_at_its_state() -> None:
    r = ei.generate_readings(3, periods=30, seed=5, invalid_fraction=0.1)
    result = ei.integrate_meters(r.meter, r.timestamp, r.power)
    fig = ei.plot(result, tz="Europe/Berlin")
    power_ax, energy_ax = fig.axes
    labels = [line.get_label() for line in power_ax.get_lines()]
    assert labels == ["meter-000", "meter-001", "meter-002"]  # sorted, one line each
    for line in energy_ax.get_lines():
        meter = labels[energy_ax.get_lines().index(line)]
        ys = np.asarray(line.get_ydata())
        assert ys[-1] == pytest.approx(result.states[meter].energy, rel=1e-12)
        assert np.isfinite(ys).all()  # rejected rows are not drawn
    assert power_ax.get_legend() is None  # the legend sits beside the axes, covering no line
    assert fig.legends
    assert energy_ax.get_xlabel() == "Time (Europe/Berlin)"
    assert renders(fig)


def test_readings_are_integrated_per_meter_first() -> None:
    r = ei.generate_readings(2, periods=20, seed=1)
    result = ei.integrate_meters(r.meter, r.timestamp, r.power)
    fig = ei.plot(r)
    ends = [float(np.asarray(line.get_ydata())[-1]) for line in fig.axes[1].get_lines()]
    assert ends == [result.states[m].energy for m in ("meter-000", "meter-001")]
    only = ei.plot(result, meter="meter-001")
    assert [line.get_label() for line in only.axes[0].get_lines()] == ["meter-001"]


def test_import_export_fills_each_side_of_zero_and_sums_each() -> None:
    # +1 kW to -1 kW over an hour, then back: a quarter kWh each way per hour.
    t = minutes(0, 60, 120)
    split = ei.split_import_export(t, [1.0, -1.0, 1.0])
    fig = ei.plot(split)
    power_ax, energy_ax = fig.axes
    fills = [c for c in power_ax.collections if c.get_label() in ("import", "export")]
    assert sorted(c.get_label() for c in fills) == ["export", "import"]
    imported, exported = (np.asarray(line.get_ydata()) for line in energy_ax.get_lines())
    assert imported[-1] == pytest.approx(0.5)
    assert exported[-1] == pytest.approx(0.5)
    assert renders(fig)


def test_plot_meters_draws_stored_columns_without_integrating() -> None:
    t = minutes(0, 10, 0, 10)
    fig = plot_meters(["b", "b", "a", "a"], t[[1, 0, 2, 3]], [1.0, 1.0, 2.0, 2.0],
                      [7.0, 5.0, 0.0, 9.0], title="stored")  # fmt: skip
    energy = {line.get_label(): np.asarray(line.get_ydata()).tolist()
              for line in fig.axes[1].get_lines()}  # fmt: skip
    energy = dict(zip(["a", "b"], energy.values(), strict=True))
    assert energy == {"a": [0.0, 9.0], "b": [5.0, 7.0]}  # each in time order, as stored
    assert fig.get_suptitle() == "stored"


def test_results_take_no_power_argument() -> None:
    r = ei.generate_readings(1, periods=5, seed=0)
    for result in (ei.integrate_meters(r.meter, r.timestamp, r.power),
                   ei.split_import_export(r.timestamp, r.power)):  # fmt: skip
        with pytest.raises(TypeError, match="takes no power"):
            ei.plot(result, r.power)


def test_without_matplotlib_plot_names_the_extra() -> None:
    code = (
        "import sys; sys.modules['matplotlib'] = None\n"
        "import numpy as np, energy_integral as ei\n"
        "t = np.array(['2026-01-01T00:00', '2026-01-01T01:00'], dtype='datetime64[m]')\n"
        "try:\n    ei.plot(t, [1.0, 1.0])\n"
        "except ei.EnergyIntegralError as exc:\n    print(type(exc).__name__, exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.startswith("MissingExtraError plot needs matplotlib, which is not installed")
    assert out.stdout.strip().endswith("[plot]'")


def test_buckets_cut_in_a_zone_are_drawn_and_listed_in_it() -> None:
    # Two Berlin days in winter (UTC+1): the local day starts at 23:00 UTC the day before.
    t = np.array(["2026-01-01T12:00", "2026-01-02T12:00"], dtype="datetime64[m]")
    out = ei.energy_by_interval(t, [1.0, 1.0], "1d", tz="Europe/Berlin")
    assert out.tz == "Europe/Berlin"
    starts = out.to_pandas()["start"]
    assert [str(s) for s in starts] == ["2026-01-01 00:00:00+01:00", "2026-01-02 00:00:00+01:00"]
    fig = ei.plot(out)
    assert fig.axes[-1].get_xlabel() == "Time (Europe/Berlin)"
    assert ei.plot(out, tz="UTC").axes[-1].get_xlabel() == "Time (UTC)"
    merged = ei.IntervalEnergy.merge([out, out])
    assert merged.tz == "Europe/Berlin"
    with pytest.raises(ei.InvalidArgumentError, match="different time zones"):
        ei.IntervalEnergy.merge([out, ei.energy_by_interval(t, [1.0, 1.0], "1d")])
