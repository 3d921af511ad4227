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

from ._extras import missing
from .calendar import resolve_time_zone
from .errors import InvalidArgumentError, InvalidTypeError
from .fleet import integrate_meters
from .fleet_result import FleetResult
from .import_export import ImportExport
from .integrate import IntegrationResult, integrate
from .intervals import IntervalEnergy
from .synthetic import Readings

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["plot", "plot_meters", "require_matplotlib"]

_STEPS = {"left": "steps-post", "right": "steps-pre"}  # how each strategy holds power
_MAX_PANELS = 12


def plot(
    data: IntegrationResult | FleetResult | IntervalEnergy | ImportExport | Readings | Any,
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
    data : IntegrationResult, FleetResult, IntervalEnergy, ImportExport, Readings or datetimes
        What :func:`~energy_integral.integrate`,
        :func:`~energy_integral.integrate_meters` (or ``integrate_frame``),
        :func:`~energy_integral.energy_by_interval` or
        :func:`~energy_integral.split_import_export` returned, readings from
        :func:`~energy_integral.generate_readings` (integrated per meter
        first), or timestamps (then ``power`` is required and the series is
        integrated first).
    power : array_like of float, optional
        Power at each timestamp, when ``data`` is timestamps.
    tz : str, optional
        IANA time zone in which to label the time axis (UTC when omitted; for
        buckets, the zone they were cut in).
    meter : optional
        For a per-meter :class:`~energy_integral.IntervalEnergy`, the one meter
        to draw; by default each meter gets a panel (at most 12). For a
        :class:`~energy_integral.FleetResult` or readings, the one meter to
        draw; by default every meter is a line (at most 12).
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
        a cumulative energy panel. For many meters: the same two panels with a
        line per meter, the legend beside them. For an import/export split:
        power filled above zero (import) and below (export), over the
        cumulative import and export. For buckets: one bar per bucket spanning
        it, and a grey band over every bucket not fully covered by data,
        darker the less it is covered.

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
    figure = _figure_class()
    if tz is None and isinstance(data, IntervalEnergy):
        tz = data.tz  # the wall clock its buckets were cut by
    zone = resolve_time_zone(tz)
    results = IntegrationResult | IntervalEnergy | FleetResult | ImportExport
    if isinstance(data, results) and (power is not None or integrate_kwargs):
        raise InvalidTypeError(f"plot({type(data).__name__}) takes no power or integrate arguments")
    if bounds and not isinstance(data, IntervalEnergy):
        raise InvalidTypeError("bounds=True shades buckets; pass an IntervalEnergy")
    if isinstance(data, IntervalEnergy):
        fig = _buckets(figure, data, meter, bounds)
    elif isinstance(data, ImportExport):
        fig = _import_export(figure, data)
    elif isinstance(data, FleetResult):
        fig = _fleet(figure, data, meter)
    elif isinstance(data, Readings):
        if power is not None:
            raise InvalidTypeError("plot(Readings) takes no power: the readings hold it")
        fleet = integrate_meters(data.meter, data.timestamp, data.power, **integrate_kwargs)
        fig = _fleet(figure, fleet, meter)
    elif isinstance(data, IntegrationResult):
        fig = _series(figure, data)
    elif power is None:
        raise InvalidTypeError(
            f"plot needs power when data is timestamps; got data of type {type(data).__name__}"
        )
    else:
        fig = _series(figure, integrate(data, power, **integrate_kwargs))
    _finish(fig, zone, title)
    return fig


def require_matplotlib() -> None:
    """Raise :class:`~energy_integral.errors.MissingExtraError` now if matplotlib is missing.

    For a caller that would otherwise do work first and fail only at the plot
    (``energy-integral demo --out`` checks before it writes a file).

    >>> require_matplotlib()  # matplotlib is installed here
    """
    _figure_class()


def _figure_class() -> type[Figure]:
    try:
        from matplotlib.figure import Figure
    except ModuleNotFoundError as exc:  # depends on the environment
        if (exc.name or "").split(".")[0] != "matplotlib":
            raise
        raise missing("plot", "matplotlib", prefer="plot") from None
    return Figure


def plot_meters(
    meter_ids: Any,
    timestamps: Any,
    power: Any,
    cumulative: Any,
    *,
    tz: Any = None,
    title: str | None = None,
    power_unit: str = "kW",
    energy_unit: str = "kWh",
) -> Figure:
    """Power and cumulative energy of many meters, a line each, from columns already computed.

    What :func:`plot` draws for a :class:`~energy_integral.FleetResult`, for
    a table that holds its cumulative energy already (the Snowflake results
    table): nothing is integrated again. Rows may come in any order; each
    meter's line follows its time order.

    Examples
    --------
    >>> t = np.array(["2026-01-01T00:00", "2026-01-01T01:00"] * 2, dtype="datetime64[m]")
    >>> fig = plot_meters(["a", "a", "b", "b"], t, [1.0, 1.0, 2.0, 2.0], [0.0, 1.0, 0.0, 2.0])
    >>> [line.get_label() for line in fig.axes[1].get_lines()]
    ['a', 'b']
    """
    figure = _figure_class()
    ids = np.asarray(meter_ids, dtype=object)
    fig = _meter_lines(
        figure,
        ids,
        np.asarray(timestamps, dtype="datetime64[ns]"),
        np.asarray(power, dtype=np.float64),
        np.asarray(cumulative, dtype=np.float64),
        np.ones(ids.size, dtype=bool),
        power_unit,
        energy_unit,
    )
    _finish(fig, resolve_time_zone(tz), title)
    return fig


def _finish(fig: Figure, zone: Any, title: str | None) -> None:
    for ax in fig.axes:
        _date_axis(ax, zone)
    fig.axes[-1].set_xlabel(f"Time ({'UTC' if zone is None else zone.key})")
    if title is not None:
        fig.suptitle(title)


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


def _fleet(figure: type[Figure], result: FleetResult, meter: Any) -> Figure:
    ids = result.meter
    keep = result.accepted & (ids == meter if meter is not None else True)
    if meter is not None and not keep.any():
        raise InvalidArgumentError(f"meter={meter!r} has no integrated rows")
    units = (result.states.power_unit, result.states.energy_unit)
    t = result._t.view("datetime64[ns]")
    return _meter_lines(figure, ids, t, result._p, result.cumulative, keep, *units)


def _meter_lines(
    figure: type[Figure],
    ids: npt.NDArray[Any],
    t: npt.NDArray[np.datetime64],
    power: npt.NDArray[np.float64],
    cumulative: npt.NDArray[np.float64],
    keep: npt.NDArray[np.bool_],
    power_unit: str,
    energy_unit: str,
) -> Figure:
    meters = sorted(set(ids[keep].tolist()), key=str)
    if len(meters) > _MAX_PANELS:
        raise InvalidArgumentError(
            f"{len(meters)} meters are too many lines; pick one with meter=..."
        )
    fig = figure(figsize=(9, 5.5), layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True)
    for name in meters:
        rows = np.flatnonzero(keep & (ids == name))
        rows = rows[np.argsort(t[rows], kind="stable")]
        (line,) = top.plot(t[rows], power[rows], linewidth=1, label=str(name))
        bottom.plot(t[rows], cumulative[rows], linewidth=1, color=line.get_color(), label=str(name))
    top.set_ylabel(f"Power ({power_unit})")
    bottom.set_ylabel(f"Energy ({energy_unit})")
    if meters:  # beside the panels, where it covers no line
        fig.legend(handles=top.get_lines(), loc="outside right upper", title="meter")
    return fig


def _import_export(figure: type[Figure], split: ImportExport) -> Figure:
    result = split.result
    fig = figure(figsize=(9, 5.5), layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True)
    t, p = result.timestamps, result.power
    top.plot(t, p, color="0.3", linewidth=1, label="power")
    top.fill_between(t, p, 0.0, where=p >= 0, interpolate=True, color="C0", alpha=0.4,
                     label="import")  # fmt: skip
    top.fill_between(t, p, 0.0, where=p <= 0, interpolate=True, color="C2", alpha=0.4,
                     label="export")  # fmt: skip
    top.axhline(0.0, color="0.5", linewidth=0.8)
    top.set_ylabel(f"Power ({result.state.power_unit})")
    top.legend(loc="best")
    bottom.plot(t, np.cumsum(split.imported), color="C0", label="imported")
    bottom.plot(t, np.cumsum(split.exported), color="C2", label="exported")
    bottom.set_ylabel(f"Energy ({result.state.energy_unit})")
    bottom.legend(loc="best")
    return fig


def _buckets(figure: type[Figure], out: IntervalEnergy, meter: Any, bounds: bool) -> Figure:
    panels: list[tuple[Any, npt.NDArray[np.bool_]]]
    if out.meter is None:
        if meter is not None:
            raise InvalidArgumentError(f"meter={meter!r} given, but the buckets are not per meter")
        panels = [(None, np.ones(len(out), dtype=bool))]
    elif meter is not None:
        rows = out.meter == meter
        if not rows.any():
            raise InvalidArgumentError(f"meter={meter!r} has no buckets")
        panels = [(meter, rows)]
    else:
        meters = sorted(dict.fromkeys(out.meter.tolist()), key=str)
        if len(meters) > _MAX_PANELS:
            raise InvalidArgumentError(
                f"{len(meters)} meters are too many panels; pick one with meter=..."
            )
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
