"""Throughput of the fleet engine against DuckDB, polars, pandas and a per-sample loop.

Run by hand (not part of the test suite; needs the ``bench`` extra)::

    python benchmarks/bench_engine.py                 # 10 million rows, 10,000 meters
    python benchmarks/bench_engine.py --rows 1000000  # quicker

Every figure is measured in the same run, best of ``--repeat``; ratios are
throughput relative to bare numpy cumulative trapezoid over ONE sorted series
of the same length (the fastest thing that can be called "integration"),
timed right before every call of the engine measured, so that a load that
drifts during the run cancels out. The machine's load (``os.getloadavg``) is
printed with the results: on a shared machine single timings are noisy,
ratios are what to compare.

The fleet comes in three row orders: grouped by meter and sorted by time (a
file or query ordered by meter), time order with meters interleaved (as a
stream delivers), and shuffled; with int64 meter ids and with string ids
(``"meter-00042"``) in every container a caller may hold. The anchors worth
beating are what a user would pick instead: DuckDB window SQL (``LAG`` and a
running ``SUM`` per meter) and polars (``sort``, ``shift`` and ``cum_sum``
over the meter). Before any ratio is printed, every engine's per-meter totals
must agree with the engine's own on the grouped int64 batch (to 1e-9
relative), else the run stops with an error.
"""

from __future__ import annotations

import argparse
import os
import time
import tracemalloc
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
from anchors import (
    NS_PER_HOUR,
    check_totals,
    duckdb_engine,
    duckdb_totals,
    engine_totals,
    home_assistant_loop,
    numpy_trapezoid,
    pandas_groupby,
    polars_engine,
    polars_totals,
)

import energy_integral as ei

ORDERS = ("grouped", "time order", "shuffled")


def best_of(repeat: int, fn: Callable[[], Any]) -> tuple[float, Any]:
    """Shortest wall time of ``repeat`` calls after a warm-up call (one call if ``repeat`` < 2)."""
    result = fn() if repeat > 1 else None
    times = []
    for _ in range(max(repeat, 1)):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def best_beside(
    repeat: int, fn: Callable[[], Any], baseline: Callable[[], Any]
) -> tuple[float, float, Any]:
    """Best times of ``fn`` and of ``baseline``, each ``fn`` call right after a baseline call.

    On a shared machine the load drifts over a run of many minutes; a ratio
    of two times taken side by side cancels the drift that a ratio to one
    baseline timed at the start would not.
    """
    base_seconds, _ = best_of(1, baseline)
    seconds, result = best_of(1, fn)
    for _ in range(repeat - 1):
        base_seconds = min(base_seconds, best_of(1, baseline)[0])
        seconds = min(seconds, best_of(1, fn)[0])
    return seconds, base_seconds, result


def per_row_results(ids: Any, t: np.ndarray, p: np.ndarray) -> np.ndarray:
    """``integrate_meters`` with its running energy read, in input order."""
    return ei.integrate_meters(ids, t, p).cumulative


def paired_cost(repeat: int, ints: Callable[[], Any], other: Callable[[], Any]) -> float:
    """``other``'s best time over ``ints``'s, less one, the calls alternating.

    Two engines timed in turn see the same load; the same two timed minutes
    apart (as their ratios to the baseline are) can differ by tens of percent.
    """
    first, second = [], []
    for _ in range(max(repeat, 1)):
        first.append(best_of(1, ints)[0])
        second.append(best_of(1, other)[0])
    return min(second) / min(first) - 1


def peak_memory(fn: Callable[[], Any]) -> int:
    """Peak bytes allocated (numpy reports its buffers to tracemalloc) during ``fn()``."""
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def fleet(rows: int, meters: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``meters`` meters reading every ~60 s, grouped by meter and sorted by time."""
    rng = np.random.default_rng(seed)
    per = rows // meters
    steps = rng.integers(50_000_000_000, 70_000_000_000, size=(meters, per))
    t = (np.datetime64("2026-01-01", "ns").astype(np.int64) + np.cumsum(steps, axis=1)).ravel()
    m = np.repeat(np.arange(meters, dtype=np.int64), per)
    p = rng.normal(2.0, 1.0, size=m.size)
    return m, t.astype("datetime64[ns]"), p


def meter_names(m: np.ndarray) -> np.ndarray:
    """String ids whose sort order is the integer ids' order."""
    names = np.array([f"meter-{i:05d}" for i in range(int(m.max()) + 1)])
    return names[m]


def string_columns(names: np.ndarray) -> dict[str, Any]:
    """The same string ids in every container the engine accepts."""
    import pandas as pd
    import polars as pl
    import pyarrow as pa

    arrow = pa.array(names, type=pa.string())
    read = arrow.to_pandas()  # as pandas readers, Snowpark and polars deliver: shared objects
    objects = read.to_numpy()
    return {
        "numpy <U": names,
        "numpy object": objects,
        "numpy object, one per row": names.astype(object),  # as numpy's astype makes them
        "pandas object": read,
        "pandas Categorical": pd.Series(pd.Categorical(objects)),
        "pandas ArrowDtype": pd.Series(arrow, dtype=pd.ArrowDtype(pa.string())),
        "pyarrow string": arrow,
        "pyarrow dictionary": arrow.dictionary_encode(),
        "polars String": pl.from_arrow(arrow),
        "polars Categorical": pl.from_arrow(arrow).cast(pl.Categorical),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--meters", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--anchor-repeat", type=int, default=2, help="repeats for DuckDB/polars")
    parser.add_argument("--loop-rows", type=int, default=1_000_000, help="rows for the Python loop")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--every-meters", type=int, default=1_000, help="meters of the --every file (0: skip)"
    )
    parser.add_argument("--every-periods", type=int, default=1_000, help="readings per meter")
    args = parser.parse_args()

    m, t, p = fleet(args.rows, args.meters, args.seed)
    names = meter_names(m)
    n = m.size
    one_t = np.sort(t.view(np.int64)).astype("datetime64[ns]")  # one series of the same length
    orders = {
        "grouped": np.arange(n),
        "time order": np.argsort(t.view(np.int64), kind="stable"),  # as a stream delivers
        "shuffled": np.random.default_rng(args.seed).permutation(n),
    }
    from scipy.integrate import cumulative_trapezoid

    reference = engine_totals(ei.integrate_meters(m, t, p))[1]
    rates: dict[tuple[str, str], float] = {}  # (engine, order) -> rows per second
    ratios: dict[tuple[str, str], float] = {}  # (engine, order) -> rate / baseline beside it
    costs: dict[tuple[str, str], float] = {}  # (string container, order) -> time over int64's - 1

    def baseline() -> Any:
        return numpy_trapezoid(one_t, p)

    def measure(label: str, order: str, rows: int, fn: Callable[[], Any], repeat: int) -> Any:
        seconds, base_seconds, result = best_beside(repeat, fn, baseline)
        rates[label, order] = rows / seconds
        ratios[label, order] = (rows / seconds) / (n / base_seconds)
        print(f"  measured {label}, {order}: {seconds:.3f} s", flush=True)
        return result

    single = "one sorted series"
    measure("numpy cumulative trapezoid", single, n, lambda: numpy_trapezoid(one_t, p), args.repeat)
    x = one_t.view(np.int64) / NS_PER_HOUR
    measure("scipy cumulative_trapezoid", single, n, lambda: cumulative_trapezoid(p, x=x), 3)
    measure("energy_integral.integrate", single, n, lambda: ei.integrate(one_t, p), args.repeat)

    for order, rows in orders.items():
        mo, to, po = m[rows], t[rows], p[rows]
        columns = {"int64": mo, **string_columns(names[rows])}
        for kind, ids in columns.items():
            result = measure(
                f"integrate_meters, {kind}",
                order,
                n,
                partial(ei.integrate_meters, ids, to, po),
                args.repeat,
            )
            check_totals(f"integrate_meters {kind} {order}", engine_totals(result), reference)
            if kind == "int64":  # a batch sorted whole puts its rows back when they are read
                measure(
                    f"integrate_meters, {kind}, per-row results read",
                    order,
                    n,
                    partial(per_row_results, ids, to, po),
                    args.repeat,
                )
        for kind, ids in columns.items():
            if kind != "int64":
                costs[kind, order] = paired_cost(
                    args.repeat,
                    partial(ei.integrate_meters, mo, to, po),
                    partial(ei.integrate_meters, ids, to, po),
                )
        for kind, ids in (("int64", mo), ("string", names[rows])):
            result = measure(
                f"DuckDB window SQL, {kind}",
                order,
                n,
                duckdb_engine(ids, to, po),
                args.anchor_repeat,
            )
            check_totals(f"DuckDB {kind} {order}", duckdb_totals(result), reference)
            result = measure(
                f"polars sort+over, {kind}",
                order,
                n,
                polars_engine(ids, to, po),
                args.anchor_repeat,
            )
            check_totals(f"polars {kind} {order}", polars_totals(result), reference)
        if order == "shuffled":
            label = "pandas groupby(meter).apply, int64"
            measure(label, order, n, partial(pandas_groupby, mo, to, po), 1)
    k = min(args.loop_rows, n)
    measure(
        "per-sample Python loop (HA style)",
        single,
        k,
        lambda: home_assistant_loop(one_t[:k], p[:k]),
        1,
    )
    report(rates, ratios, costs, n, args.meters)
    print_floors(m, t, p, orders, n)
    if args.every_meters:
        print_every_overhead(args.every_meters, args.every_periods, args.repeat)


def report(
    rates: dict[tuple[str, str], float],
    ratios: dict[tuple[str, str], float],
    costs: dict[tuple[str, str], float],
    n: int,
    meters: int,
) -> None:
    base = rates["numpy cumulative trapezoid", "one sorted series"]
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"\n{n:,} rows, {meters:,} meters; load average {load}; {os.cpu_count()} cores")
    print(
        f"bare numpy baseline: {base / 1e6:.1f} M rows/s (best of the run); cells are "
        "M rows/s (ratio to the baseline timed beside that row)\n"
    )
    labels = list(dict.fromkeys(label for label, _ in rates))
    columns = ["one sorted series", *ORDERS]
    print(f"| engine | {' | '.join(columns)} |")
    print(f"|---|{'---:|' * len(columns)}")
    for label in labels:
        cells = []
        for order in columns:
            rate, ratio = rates.get((label, order)), ratios.get((label, order))
            cells.append("" if rate is None else f"{rate / 1e6:.1f} ({ratio:.3f}×)")
        print(f"| {label} | {' | '.join(cells)} |")
    print("\nintegrate_meters against the faster of DuckDB and polars on the same ids:")
    for kind, ours in (
        ("int64", "int64"),
        ("int64", "int64, per-row results read"),
        ("string", "pyarrow string"),
    ):
        cells = []
        for order in ORDERS:
            # Throughputs, not ratios: DuckDB's threads can still be busy while the
            # baseline beside its next call is timed, which would flatter it.
            anchor = max(
                rates[f"DuckDB window SQL, {kind}", order],
                rates[f"polars sort+over, {kind}", order],
            )
            cells.append(f"{order} {rates[f'integrate_meters, {ours}', order] / anchor:.1f}×")
        print(f"  {kind} ids ({ours}): " + ", ".join(cells))
    print(
        "\nstring ids: cost over int64 ids in the same order (best time over int64's - 1, "
        "the two alternating):"
    )
    for order in ORDERS:
        extra = [f"{kind} {cost:+.0%}" for (kind, o), cost in costs.items() if o == order]
        print(f"  {order}: " + ", ".join(extra))


def print_floors(
    m: np.ndarray, t: np.ndarray, p: np.ndarray, orders: dict[str, np.ndarray], n: int
) -> None:
    """What numpy's data movement alone costs, and the engine's peak memory."""
    arrival = orders["time order"]
    by_meter = np.argsort(m[arrival], kind="stable")  # a time-ordered batch, grouped
    power = p[arrival]
    gather_seconds, _ = best_of(3, lambda: np.take(power, by_meter))
    print(
        f"\none gather of a float64 column from time order into meter order: "
        f"{n / gather_seconds / 1e6:.1f} M rows/s; a shuffled batch needs two such passes "
        "of 16-byte pairs (times and power in; running sums and increments back out, when "
        "they are read), a batch in time order none: it is integrated block by block in cache"
    )
    ms, ts, ps = m[orders["shuffled"]], t[orders["shuffled"]], p[orders["shuffled"]]
    # A floor for any numpy answer to a shuffled batch: sorting its times, values only
    # (no index, no meter), is numpy's cheapest sort of that many int64 keys.
    sort_seconds, _ = best_of(3, lambda: np.sort(ts.view(np.int64)))
    print(f"np.sort of the shuffled times alone: {n / sort_seconds / 1e6:.1f} M rows/s")
    peak = peak_memory(lambda: ei.integrate_meters(ms, ts, ps))
    inputs = ms.nbytes + ts.nbytes + ps.nbytes
    print(
        f"peak memory of integrate_meters on the shuffled batch: {peak / 2**20:.0f} MiB "
        f"({peak / n:.0f} bytes per row; the inputs alone are {inputs / 2**20:.0f} MiB)"
    )
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"load average at the end: {load}")


def print_every_overhead(meters: int, periods: int, repeat: int) -> None:
    """``energy-integral integrate --every 15min`` against plain totals on one Parquet file.

    Both run in this process (no interpreter start-up in either), alternating,
    median of ``repeat`` runs each; the file is what ``energy-integral generate``
    writes: meters interleaved in time order, string ids.
    """
    import statistics
    import tempfile
    from pathlib import Path

    try:
        from typer.testing import CliRunner

        from energy_integral.cli import app
    except ImportError:
        print("\n--every against plain totals: skipped (needs the cli extra)")
        return
    runner = CliRunner()
    with tempfile.TemporaryDirectory() as tmp:
        readings = str(Path(tmp) / "readings.parquet")
        made = runner.invoke(
            app, ["generate", readings, "--meters", str(meters), "--periods", str(periods)]
        )
        if made.exit_code:
            raise SystemExit(f"generate failed: {made.output}")

        def run(*extra: str) -> float:
            start = time.perf_counter()
            done = runner.invoke(app, ["integrate", readings, *extra])
            seconds = time.perf_counter() - start
            if done.exit_code:
                raise SystemExit(f"integrate {' '.join(extra)} failed: {done.output}")
            return seconds

        plain, every = [], []
        run("--out", str(Path(tmp) / "plain.parquet"))  # warm-up
        for _ in range(max(repeat, 1)):
            plain.append(run("--out", str(Path(tmp) / "plain.parquet")))
            every.append(run("--every", "15min", "--out", str(Path(tmp) / "every.parquet")))
    p, e = statistics.median(plain), statistics.median(every)
    print(
        f"\nintegrate --every 15min against plain totals, {meters * periods:,} rows of "
        f"{meters:,} meters from Parquet (median of {len(plain)}): {p * 1e3:.0f} ms plain, "
        f"{e * 1e3:.0f} ms --every ({e / p:.2f}x)"
    )


if __name__ == "__main__":
    main()
