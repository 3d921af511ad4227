"""Pictures of power and energy: what a person would rather look at than read.

matplotlib is an optional dependency (the ``plot`` extra) and is imported
only when :func:`plot` is called. Figures are built with the object-oriented
API (:class:`matplotlib.figure.Figure`), never through ``pyplot``: no global
state, no backend needed, nothing left open in a loop. In a notebook the
returned figure displays as the cell's value; in a script, ``fig.savefig``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from .calendar import resolve_time_zone
from .integrate import IntegrationResult, integrate
from .intervals import IntervalEnergy

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["plot"]

_STEPS = {"left": "steps-post", "right": "steps-pre"}  # how each strategy holds power
_MAX_PANELS = 12


def plot(
    data: IntegrationResult | IntervalEnergy | Any,
    power: Any = None,
    *,
    tz: Any = None,
    meter: Any = None,
    title: str | None = None,
    bounds: bool = False,
    **integrate_kwargs: Any,
) -> Figure:
    """Draw power and cumulative energy, or energy per bucket with its coverage.

    Parameters
    ----------
    data : IntegrationResult, IntervalEnergy or array_like of datetimes
        What :func:`~energy_integral.integrate` or
        :func:`~energy_integral.energy_by_interval` returned, or timestamps
        (then ``power`` is required and the series is integrated first).
    power : array_like of float, optional
        Power at each timestamp, when ``data`` is timestamps.
    tz : str, optional
        IANA time zone in which to label the time axis (UTC when omitted).
    meter : optional
        For a per-meter :class:`~energy_integral.IntervalEnergy`, the one meter
        to draw; by default each meter gets a panel (at most 12).
    title : str, optional
        Figure title.
    bounds : bool, optional
        For buckets: shade from each bucket's ``energy_min`` to its
        ``energy_max``, the energy it can hold if power moves monotonically
        between samples.
    **integrate_kwargs
        Passed to :func:`~energy_integral.integrate` when ``data`` is timestamps
        (``method``, ``max_gap``, units, ``state``).

    Returns
    -------
    matplotlib.figure.Figure
        For a series: a power panel (the line follows the strategy — straight
        for ``trapezoid``, steps for ``left``/``right`` — with gaps shaded) above
        a cumulative energy panel. For buckets: one bar per bucket spanning it,
        and a grey band over every bucket not fully covered by data, darker
        the less it is covered.

    Examples
    --------
    >>> t = np.array(["2026-01-01T00:00", "2026-01-01T00:30", "2026-01-01T03:00"],
    ...              dtype="datetime64[m]")
    >>> fig = plot(t, [1.0, 3.0, 2.0], max_gap="1h")
    >>> [ax.get_ylabel() for ax in fig.axes]
    ['Power (kW)', 'Energy (kWh)']
    >>> len(fig.axes[0].patches)   # the gap from 00:30 to 03:00
    1
    """
    try:
        from matplotlib.figure import Figure
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError("plot needs matplotlib: pip install 'energy-integral[plot]'") from None
    zone = resolve_time_zone(tz)
    if isinstance(data, IntervalEnergy):
        if power is not None or integrate_kwargs:
            raise TypeError("plot(IntervalEnergy) takes no power or integrate arguments")
        fig = _buckets(Figure, data, meter, bounds)
    else:
        if isinstance(data, IntegrationResult):
            if power is not None or integrate_kwargs:
                raise TypeError("plot(IntegrationResult) takes no power or integrate arguments")
            result = data
        elif power is None:
            raise TypeError(
                f"plot needs power when data is timestamps; got data of type {type(data).__name__}"
            )
        else:
            result = integrate(data, power, **integrate_kwargs)
        if bounds:
            raise TypeError("bounds=True shades buckets; pass an IntervalEnergy")
        fig = _series(Figure, result)
    for ax in fig.axes:
        _date_axis(ax, zone)
    fig.axes[-1].set_xlabel(f"Time ({'UTC' if zone is None else zone.key})")
    if title is not None:
        fig.suptitle(title)
    return fig


def _series(figure: type[Figure], result: IntegrationResult) -> Figure:
    fig = figure(figsize=(9, 5.5), layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True)
    state = result.state
    drawstyle = _STEPS.get(state.method, "default")
    # Break the line across gaps, where nothing was integrated; a step held over the
    # gap would show power that was not counted, so the break sits on the held side.
    after_gap = np.searchsorted(result.timestamps, result.gaps.end)
    held = result.gaps.end if state.method == "right" else result.gaps.start
    times = np.insert(result.timestamps, after_gap, held)
    power = np.insert(result.power, after_gap, np.nan)
    top.plot(times, power, drawstyle=drawstyle, label=f"power ({state.method})")
    for start, end in zip(result.gaps.start, result.gaps.end, strict=True):
        top.axvspan(start, end, color="0.5", alpha=0.25, linewidth=0)
    if len(result.gaps):
        top.legend(handles=[*top.get_lines(), _gap_handle("gap (not integrated)")])
    top.set_ylabel(f"Power ({state.power_unit})")
    bottom.plot(result.timestamps, result.cumulative, color="C1")
    bottom.set_ylabel(f"Energy ({state.energy_unit})")
    return fig


def _buckets(figure: type[Figure], out: IntervalEnergy, meter: Any, bounds: bool) -> Figure:
    panels: list[tuple[Any, npt.NDArray[np.bool_]]]
    if out.meter is None:
        if meter is not None:
            raise ValueError(f"meter={meter!r} given, but the buckets are not per meter")
        panels = [(None, np.ones(len(out), dtype=bool))]
    elif meter is not None:
        rows = out.meter == meter
        if not rows.any():
            raise ValueError(f"meter={meter!r} has no buckets")
        panels = [(meter, rows)]
    else:
        meters = list(dict.fromkeys(out.meter.tolist()))
        if len(meters) > _MAX_PANELS:
            raise ValueError(f"{len(meters)} meters are too many panels; pick one with meter=...")
        panels = [(m, out.meter == m) for m in meters]
    fig = figure(figsize=(9, 1.0 + 2.5 * len(panels)), layout="constrained")
    axes = fig.subplots(len(panels), 1, sharex=True, squeeze=False)[:, 0]
    for ax, (name, rows) in zip(axes, panels, strict=True):
        _bucket_panel(ax, out, rows, bounds)
        if name is not None:
            ax.set_title(str(name), loc="left")
    return fig


def _bucket_panel(ax: Axes, out: IntervalEnergy, rows: npt.NDArray[np.bool_], bounds: bool) -> None:
    from matplotlib.dates import date2num

    start, end = date2num(out.start[rows]), date2num(out.end[rows])  # type: ignore[no-untyped-call]
    covered = out.covered[rows]
    ax.bar(start, out.energy[rows], width=end - start, align="edge", label="energy")
    for lo, hi, c in zip(start, end, covered, strict=True):
        if c < 1.0:
            ax.axvspan(lo, hi, color="0.5", alpha=0.35 * (1.0 - min(max(c, 0.0), 1.0)), lw=0)
    handles = ax.containers[:1]
    if bounds:
        low, high = out.energy_min[rows], out.energy_max[rows]
        handles = [
            *handles,
            ax.bar(
                start, high - low, bottom=low, width=end - start, align="edge", color="none",
                edgecolor="C3", hatch="///", linewidth=0, label="energy bounds",
            ),
        ]  # fmt: skip
    if bool(np.any(covered < 1.0)):
        handles = [*handles, _gap_handle("incomplete coverage")]
    ax.legend(handles=handles)
    ax.set_ylabel(f"Energy per bucket ({out.energy_unit})")


def _gap_handle(label: str) -> Any:
    from matplotlib.patches import Patch

    return Patch(color="0.5", alpha=0.25, label=label)


def _date_axis(ax: Axes, zone: Any) -> None:
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

    locator = AutoDateLocator(tz=zone)  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_locator(locator)
    formatter = ConciseDateFormatter(locator, tz=zone)  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_formatter(formatter)
