"""A batch sorted whole puts its per-row results back in input order only when they are read.

Energies derived by hand: meter ``a`` at 1 kW and meter ``b`` at 2 kW, read on
the hour from 0 h to 3 h, give running totals 0, 1, 2, 3 and 0, 2, 4, 6 kWh,
each interval adding 1 or 2 kWh (a meter's first row adds 0); in 2-hour buckets, 2 + 1
and 4 + 2 kWh.
"""

from __future__ import annotations

import threading

import numpy as np

import energy_integral as ei
from energy_integral.fleet_result import DeferredRows

HOUR_NS = 3_600_000_000_000


def _shuffled_batch() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    meters = np.repeat(np.array(["a", "b"]), 4)
    hours = np.tile(np.arange(4), 2)
    power = np.repeat([1.0, 2.0], 4)
    order = np.array([5, 2, 7, 0, 3, 6, 1, 4])  # some meter's rows go back in time
    cumulative = (hours * power)[order]
    increments = np.where(hours == 0, 0.0, power)[order]
    t = (hours * HOUR_NS)[order].astype("datetime64[ns]")
    return meters[order], t, power[order], cumulative, increments


def test_results_come_back_in_input_order_when_read_and_not_before() -> None:
    meters, t, p, cumulative, increments = _shuffled_batch()
    res = ei.integrate_meters(meters, t, p, keep_sorted=True)
    assert {m: s.energy for m, s in res.states.items()} == {"a": 3.0, "b": 6.0}
    # The intervals cut the sorted rows the engine kept: the scatter is still not done.
    buckets = ei.energy_by_interval(t, p, "2h", meter_ids=meters, fleet=res)
    assert buckets.energy.tolist() == [2.0, 1.0, 4.0, 2.0]  # 0-2 h and 2-3 h, a then b
    assert isinstance(res._per_row, DeferredRows)
    assert res.cumulative.tolist() == cumulative.tolist()
    assert res.increments.tolist() == increments.tolist()
    assert not isinstance(res._per_row, DeferredRows)  # put back once, then kept
    assert res.cumulative is res.cumulative


def _read_at_once(result: ei.FleetResult, threads: int) -> list[tuple[list[float], list[float]]]:
    """What ``threads`` threads, started together, each read as the per-row results."""
    start = threading.Barrier(threads)
    seen: list[tuple[list[float], list[float]]] = []

    def read() -> None:
        start.wait()
        seen.append((result.cumulative.tolist(), result.increments.tolist()))

    workers = [threading.Thread(target=read) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return seen


def test_threads_reading_a_deferred_result_at_once_all_see_the_input_order() -> None:
    meters, t, p, cumulative, increments = _shuffled_batch()
    for _ in range(20):
        res = ei.integrate_meters(meters, t, p)
        assert isinstance(res._per_row, DeferredRows)
        assert _read_at_once(res, 8) == [(cumulative.tolist(), increments.tolist())] * 8
