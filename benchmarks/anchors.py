"""The engines ``bench_engine.py`` measures the fleet engine against, and their totals.

What a user would pick instead of ``integrate_meters``: bare numpy over one
series (the baseline), DuckDB window SQL and polars window expressions over
the fleet, pandas ``groupby.apply`` and a per-sample Python loop (Home
Assistant's shape) as reference rows. Each ``*_totals`` gives an engine's
per-meter totals, sorted by meter, for :func:`check_totals`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

import energy_integral as ei

NS_PER_HOUR = 3.6e12


def numpy_trapezoid(t: np.ndarray, p: np.ndarray) -> np.ndarray:
    dt = np.diff(t.view(np.int64)) / NS_PER_HOUR
    return np.cumsum(0.5 * (p[1:] + p[:-1]) * dt)


def home_assistant_loop(t: np.ndarray, p: np.ndarray) -> float:
    """The shape of HA's integration sensor: one Python step per state change."""
    total = 0.0
    last_t, last_p = None, None
    for ti, pi in zip(t.view(np.int64).tolist(), p.tolist(), strict=True):
        if last_t is not None:
            total += 0.5 * (last_p + pi) * (ti - last_t) / NS_PER_HOUR
        last_t, last_p = ti, pi
    return total


def pandas_groupby(m: Any, t: np.ndarray, p: np.ndarray) -> Any:
    import pandas as pd

    frame = pd.DataFrame({"meter": m, "t": t.view(np.int64), "p": p})

    def per_meter(group: pd.DataFrame) -> pd.Series:
        g = group.sort_values("t")
        dt = g["t"].diff().fillna(0).to_numpy() / NS_PER_HOUR
        pw = g["p"].to_numpy()
        inc = 0.5 * (pw + np.concatenate(([pw[0]], pw[:-1]))) * dt
        return pd.Series(np.cumsum(inc), index=g.index)

    return frame.groupby("meter", group_keys=False)[["t", "p"]].apply(per_meter)


DUCKDB_SQL = """
WITH steps AS (
    SELECT m, t,
           COALESCE(0.5 * (p + LAG(p) OVER w) * (t - LAG(t) OVER w) / 3.6e12, 0) AS e
    FROM fleet WINDOW w AS (PARTITION BY m ORDER BY t)
)
SELECT m, t, SUM(e) OVER (PARTITION BY m ORDER BY t ROWS UNBOUNDED PRECEDING) AS cumulative
FROM steps
"""


def duckdb_engine(m: Any, t: np.ndarray, p: np.ndarray) -> Callable[[], Any]:
    """DuckDB window SQL over an Arrow table (zero copy in), the result fetched as Arrow."""
    import duckdb
    import pyarrow as pa

    con = duckdb.connect()
    con.register("fleet", pa.table({"m": m, "t": t.view(np.int64), "p": p}))
    return lambda: con.sql(DUCKDB_SQL).to_arrow_table()


def duckdb_totals(result: Any) -> tuple[np.ndarray, np.ndarray]:
    import duckdb

    totals = duckdb.sql("SELECT m, arg_max(cumulative, t) AS e FROM result GROUP BY m ORDER BY m")
    out = totals.fetchnumpy()
    return np.asarray(out["m"]), np.asarray(out["e"])


def polars_engine(m: Any, t: np.ndarray, p: np.ndarray) -> Callable[[], Any]:
    """polars: sort by meter and time, then shift and cum_sum over the meter."""
    import polars as pl

    frame = pl.DataFrame({"m": m, "t": t.view(np.int64), "p": p})
    step = (pl.col("p") + pl.col("p").shift(1).over("m")) * (
        pl.col("t") - pl.col("t").shift(1).over("m")
    )
    energy = (0.5 * step / NS_PER_HOUR).fill_null(0.0).alias("e")

    def run() -> Any:
        return (
            frame.sort("m", "t")
            .with_columns(energy)
            .with_columns(pl.col("e").cum_sum().over("m").alias("cumulative"))
        )

    return run


def polars_totals(result: Any) -> tuple[np.ndarray, np.ndarray]:
    import polars as pl

    totals = result.group_by("m").agg(pl.col("cumulative").last()).sort("m")
    return totals["m"].to_numpy(), totals["cumulative"].to_numpy()


def engine_totals(result: ei.FleetResult) -> tuple[np.ndarray, np.ndarray]:
    meters = np.asarray(result.states.meters)
    order = np.argsort(meters)
    return meters[order], result.states.energy[order]


def check_totals(label: str, got: tuple[np.ndarray, np.ndarray], want: np.ndarray) -> None:
    """Stop the run unless ``label``'s per-meter totals equal the reference."""
    keys, totals = got
    if keys.size != want.size or not np.allclose(totals, want, rtol=1e-9, atol=1e-9):
        worst = np.max(np.abs(totals - want)) if keys.size == want.size else "missing meters"
        raise SystemExit(f"{label}: per-meter totals disagree with the engine's ({worst})")
