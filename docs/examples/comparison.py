"""One small example, integrated the way each system documents it: the comparison page's numbers.

One meter reports power (kW) in two deliveries. The first holds 00:00-00:50
with one invalid reading (NULL / NaN) at 00:40; the second holds 01:10 and
03:10 (the meter was silent for two hours in between) and a reading stamped
00:20 that arrives late. Every system below receives the same readings in the
same order and is asked for the total kWh and the kWh per hour.

Each function models only what the system's documentation (or source, where
the documentation is silent) states; the assumptions each one needs are in
its docstring. Run ``python docs/examples/comparison.py`` to print the table;
``tests/test_docs_examples.py`` checks every number against values derived by
hand, so the page cannot drift from this script.
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

import energy_integral as ei

# (time as "HH:MM" on 2026-01-01, kW or None for an invalid reading, delivery number)
READINGS: tuple[tuple[str, float | None, int], ...] = (
    ("00:00", 2.0, 1),
    ("00:30", 4.0, 1),
    ("00:40", None, 1),
    ("00:50", 4.0, 1),
    ("01:10", 2.0, 2),
    ("03:10", 1.0, 2),
    ("00:20", 3.0, 2),  # stamped 00:20, delivered with the second batch: late
)
HOURS = (0, 1, 2, 3)
MAX_GAP = "30min"  # ours: the meter reports every 10-30 minutes


@dataclass
class Outcome:
    """A system's answer: total kWh and kWh per hour (hours with no output row are absent)."""

    total: float
    hourly: dict[int, float] = field(default_factory=dict)


def _minutes(hhmm: str) -> int:
    h, m = hhmm.split(":")
    return 60 * int(h) + int(m)


def _delivered(batch: int | None = None) -> list[tuple[int, float | None]]:
    """(minutes since midnight, kW) in delivery order, optionally of one delivery."""
    return [(_minutes(t), p) for t, p, b in READINGS if batch is None or b == batch]


def _in_time_order() -> list[tuple[int, float | None]]:
    return sorted(_delivered())


def _hour(minute: int) -> int:
    return minute // 60


def _trapezoid(t0: int, p0: float, t1: int, p1: float) -> float:
    return 0.5 * (p0 + p1) * (t1 - t0) / 60


def _points_by_hour(points: list[tuple[int, float]]) -> dict[int, list[tuple[int, float]]]:
    groups: dict[int, list[tuple[int, float]]] = defaultdict(list)
    for t, p in points:
        groups[_hour(t)].append((t, p))
    return groups


def ours() -> Outcome:
    """energy_integral, as the Snowflake procedure runs it: delivery by delivery, carrying
    the state, ``method="trapezoid"``, ``max_gap="30min"``, bad rows quarantined."""
    states: dict[str, ei.CumulativeState] | None = None
    parts = []
    for batch in (1, 2):
        rows = [r for r in READINGS if r[2] == batch]
        t = np.array([f"2026-01-01T{r[0]}" for r in rows], dtype="datetime64[m]")
        p = np.array([np.nan if r[1] is None else r[1] for r in rows])
        res = ei.integrate_meters(["m"] * len(rows), t, p, states=states, max_gap=MAX_GAP)
        ok = res.accepted
        parts.append(
            ei.energy_by_interval(
                t[ok],
                p[ok],
                "1h",
                meter_ids=["m"] * int(ok.sum()),
                states=states,
                max_gap=MAX_GAP,
            )
        )
        states = dict(res.states)
    buckets = ei.IntervalEnergy.merge(parts)
    hours = buckets.start.astype("datetime64[h]").astype(np.int64) % 24
    assert states is not None
    return Outcome(
        states["m"].energy,
        {int(h): float(e) for h, e in zip(hours, buckets.energy, strict=True)},
    )


def rejected_by_ours() -> dict[str, int]:
    """What the procedure quarantines, by reason."""
    states = None
    counts: dict[str, int] = defaultdict(int)
    for batch in (1, 2):
        rows = [r for r in READINGS if r[2] == batch]
        t = np.array([f"2026-01-01T{r[0]}" for r in rows], dtype="datetime64[m]")
        p = np.array([np.nan if r[1] is None else r[1] for r in rows])
        res = ei.integrate_meters(["m"] * len(rows), t, p, states=states, max_gap=MAX_GAP)
        for reason, n in res.rejected.counts().items():
            counts[reason] += n
        states = res.states
    return dict(counts)


def home_assistant() -> Outcome:
    """Home Assistant's Riemann sum integral sensor, ``method: trapezoidal`` (the default).

    Event driven: each state change integrates the interval since the previous
    state, timed by when Home Assistant received it; an interval with
    ``unavailable``/``unknown`` at either end adds nothing. No gap limit: a
    silent meter keeps its last value (no ``max_sub_interval``). Assumed: each
    reading reaches Home Assistant at its own timestamp, the late one right
    after 03:10 (so at 03:10, adding 0 kWh; it only becomes the current value).
    Hourly: a ``utility_meter`` with an hourly cycle books each increase in the
    hour in which the integral sensor updates.
    """
    total = 0.0
    hourly: dict[int, float] = {h: 0.0 for h in HOURS}
    previous: tuple[int, float | None] | None = None
    for t, p in _delivered():
        arrival = max(t, previous[0]) if previous else t  # late reading: stamped on arrival
        if previous is not None and previous[1] is not None and p is not None:
            area = _trapezoid(previous[0], previous[1], arrival, p)
            total += area
            hourly[_hour(arrival)] += area
        previous = (arrival, p)
    return Outcome(total, hourly)


def timescale_time_weight() -> Outcome:
    """TimescaleDB Toolkit ``integral(time_weight('Linear', ts, kw), 'hours')``.

    An aggregate over the table, so the late row is included whenever the query
    (or a continuous aggregate's refresh) runs after it landed; NULL values are
    skipped. Hourly: ``GROUP BY time_bucket('1 hour', ts)`` integrates only
    between the points inside each bucket (``interpolated_integral`` with the
    neighbouring buckets' summaries would split the crossing intervals).
    """
    points = [(t, p) for t, p in _in_time_order() if p is not None]
    total = sum(_trapezoid(*a, *b) for a, b in itertools.pairwise(points))
    hourly = {
        h: sum(_trapezoid(*a, *b) for a, b in itertools.pairwise(ps))
        for h, ps in _points_by_hour(points).items()
    }
    return Outcome(total, hourly)


def influxdb_integral() -> Outcome:
    """InfluxDB Flux ``integral(unit: 1h)`` (default ``interpolate: ""``).

    Trapezoids between successive non-null records of each table, computed at
    query time over what is stored (so the late row is included). Hourly:
    ``window(every: 1h) |> integral(unit: 1h)`` integrates inside each window
    only; hours without records produce no table.
    """
    return timescale_time_weight()  # the same documented rule on these readings


def emoncms_power_to_kwh() -> Outcome:
    """emoncms input processes ``power_to_kwh`` (total) and ``power_to_kwh_custom`` with a
    60-minute slot (hourly), as in ``Modules/process/process_processlist.php``.

    Each posted value ``p`` adds ``p × (time_now − last_time)`` (the *new* value
    times the time since the last update: a right Riemann sum); NULL inputs are
    skipped; elapsed time ``<= 0`` or ``>= 7200 s`` (hourly slot: ``> 3600 s``)
    adds nothing. The hourly process books the whole increment in the slot of
    ``time_now``.
    """
    total = 0.0
    last_t: int | None = None
    hourly: dict[int, float] = {}
    for t, p in _delivered():
        if p is None:
            continue
        if last_t is None:
            last_t = t
        elapsed = (t - last_t) * 60  # seconds
        if 0 < elapsed < 7200:
            total += p * elapsed / 3600
        hourly.setdefault(_hour(t), 0.0)
        if 0 < elapsed <= 3600:
            hourly[_hour(t)] += p * elapsed / 3600
        last_t = t
    return Outcome(total, hourly)


def scipy_cumulative_trapezoid() -> Outcome:
    """``scipy.integrate.cumulative_trapezoid(kw, x=hours)`` over every reading, sorted.

    Plain arithmetic: a NaN makes every later cumulative value NaN. No state:
    ``initial`` may only be 0 or None, so batches cannot be chained by the
    function itself.
    """
    from scipy.integrate import cumulative_trapezoid

    t, p = zip(*_in_time_order(), strict=True)
    y = np.array([np.nan if v is None else v for v in p])
    cumulative = cumulative_trapezoid(y, x=np.array(t) / 60, initial=0)
    return Outcome(float(cumulative[-1]))


def snowflake_lag_sql() -> Outcome:
    """Hand-written SQL run on each stream delivery, as the original procedure did::

        WITH I AS (
          SELECT TIMESTAMP,
                 (KW + LAG(KW) OVER (PARTITION BY METER_ID ORDER BY TIMESTAMP)) / 2
                 * DATEDIFF('second', LAG(TIMESTAMP) OVER (PARTITION BY METER_ID
                                                           ORDER BY TIMESTAMP), TIMESTAMP)
                 / 3600 AS KWH
          FROM RANDOM_VALUES_STREAM)
        SELECT DATE_TRUNC('hour', TIMESTAMP) AS HOUR, SUM(KWH) FROM I GROUP BY 1

    ``LAG`` sees only the delivery's rows (the first row has no predecessor);
    arithmetic with NULL is NULL and ``SUM`` ignores NULLs; each interval goes
    to the hour of the row that ends it. Results of deliveries are added up.
    """
    total = 0.0
    hourly: dict[int, float] = {}
    for batch in (1, 2):
        rows = sorted(_delivered(batch))
        for (t0, p0), (t1, p1) in itertools.pairwise(rows):
            h = _hour(t1)
            hourly.setdefault(h, 0.0)
            if p0 is not None and p1 is not None:
                area = _trapezoid(t0, p0, t1, p1)
                total += area
                hourly[h] += area
    return Outcome(total, hourly)


SYSTEMS = {
    "energy_integral": ours,
    "Home Assistant integral sensor": home_assistant,
    "TimescaleDB Toolkit time_weight": timescale_time_weight,
    "InfluxDB Flux integral()": influxdb_integral,
    "emoncms power_to_kwh": emoncms_power_to_kwh,
    "scipy cumulative_trapezoid": scipy_cumulative_trapezoid,
    "Snowflake LAG() per delivery": snowflake_lag_sql,
}


def table() -> str:
    """The results as a Markdown table (kWh to 3 decimals; — where a system has no row)."""
    lines = [
        "| system | total kWh | " + " | ".join(f"{h:02d}:00" for h in HOURS) + " | sum of hours |",
        "|---|---:|" + "---:|" * len(HOURS) + "---:|",
    ]
    for name, system in SYSTEMS.items():
        out = system()
        cells = [f"{out.hourly[h]:.3f}" if h in out.hourly else "—" for h in HOURS]
        hours_sum = f"{sum(out.hourly.values()):.3f}" if out.hourly else "—"
        total = "NaN" if math.isnan(out.total) else f"{out.total:.3f}"
        lines.append(f"| {name} | {total} | " + " | ".join(cells) + f" | {hours_sum} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(table())
    print("energy_integral quarantined:", rejected_by_ours())
