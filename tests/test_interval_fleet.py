"""Buckets cut from the engine's own result (``energy_by_interval(..., fleet=)``).

What ``integrate --every`` relies on to integrate every chunk once: the buckets
of a fleet result equal the buckets of the rows it accepted, integrated again.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from series_strategies import FleetBatch, fleet_batches

import energy_integral as ei
import energy_integral.chunked as chunked_module
from energy_integral import _interval_batch
from energy_integral.filereader import Chunk
from energy_integral.timestamps import as_datetime64

POLICIES = st.sampled_from([("reject", "reject"), ("reject", "last"), ("gap", "step")])


def _states(batch: FleetBatch, method: str) -> dict[Any, ei.CumulativeState] | None:
    if not batch.states:
        return None
    return {
        m: ei.CumulativeState.from_dict({**d, "method": method}) for m, d in batch.states.items()
    }


@settings(max_examples=150, deadline=None)
@given(batch=fleet_batches(), every=st.sampled_from(["15min", "1h"]),
       method=st.sampled_from(["trapezoid", "left", "right"]), policies=POLICIES)  # fmt: skip
def test_the_buckets_of_a_fleet_result_are_those_of_its_accepted_rows(
    batch: FleetBatch, every: str, method: str, policies: tuple[str, str]
) -> None:
    on_invalid, on_duplicate = policies
    states = _states(batch, method)
    t = as_datetime64(batch.t)
    try:
        res = ei.integrate_meters(
            batch.meter_ids, t, batch.p, states=states, method=method,
            on_invalid=on_invalid, on_duplicate=on_duplicate,
        )  # fmt: skip
    except ei.EnergyIntegralError:
        return  # e.g. ids of another kind than the states': refused before any bucket
    got = ei.energy_by_interval(
        t, batch.p, every, meter_ids=batch.meter_ids, states=states, method=method,
        fleet=res, on_invalid=on_invalid, on_duplicate=on_duplicate,
    )  # fmt: skip
    # The same buckets from the rows it took (and, for outages, the invalid ones it marked).
    took = res.accepted | ((res.reason == "invalid-power") if on_invalid == "gap" else False)
    ids = np.asarray(batch.meter_ids, dtype=object)[took]
    again = ei.energy_by_interval(
        t[took], batch.p[took], every, meter_ids=ids, states=states, method=method,
        on_invalid="gap" if on_invalid == "gap" else "raise",
        on_duplicate="step" if on_duplicate == "step" else "raise",
    )  # fmt: skip

    def rows(out: ei.IntervalEnergy) -> list[tuple[str, int, float]]:
        return sorted(
            zip(map(str, out.meter), out.start.tolist(), out.energy.tolist(), strict=True)
        )

    assert rows(got) == rows(again)
    assert {str(m): s for m, s in got.state.items()} == {str(m): s for m, s in res.states.items()}


def test_a_fleet_result_of_other_rows_is_refused() -> None:
    t = np.array(["2026-01-01T00:00", "2026-01-01T01:00"], dtype="datetime64[m]")
    res = ei.integrate_meters(["a", "a"], t, [1.0, 1.0])
    with pytest.raises(ei.InvalidArgumentError, match="fleet holds 2 rows but meter_ids 1"):
        ei.energy_by_interval(t[:1], [1.0], "1h", meter_ids=["a"], fleet=res)
    with pytest.raises(ei.InvalidArgumentError, match="fleet= needs the meter_ids"):
        ei.energy_by_interval(t, [1.0, 1.0], "1h", fleet=res)


def test_integrate_chunks_with_every_integrates_each_chunk_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[int] = []
    real = ei.integrate_meters

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(chunked_module, "integrate_meters", counting)
    monkeypatch.setattr(_interval_batch, "integrate_meters", counting)
    t = np.array(["2026-01-01T00:00", "2026-01-01T00:30", "2026-01-01T01:00"], "datetime64[ns]")
    meter = np.array(["a", "b", "a"], dtype=object)
    parts = [
        Chunk(meter[:2], t[:2], np.array([2.0, 1.0]), 0, 0.5),
        Chunk(meter[2:], t[2:], np.array([4.0]), 2, 1.0),
    ]
    res = chunked_module.integrate_chunks(parts, every="1h")
    assert len(calls) == 2  # one integration per chunk, none more for the buckets
    assert res.intervals is not None
    assert res.intervals.total == pytest.approx(3.0)  # meter a: (2 + 4) / 2 kW for an hour


FIELDS = ("start", "end", "energy", "energy_min", "energy_max", "samples", "covered",
          "extrapolated", "largest_gap", "meter")  # fmt: skip


def _same(a: ei.IntervalEnergy, b: ei.IntervalEnergy) -> None:
    for name in FIELDS:
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)


@settings(max_examples=150, deadline=None)
@given(batch=fleet_batches(clean=True, with_states=False, max_rows=40), data=st.data())
def test_keeping_the_sorted_rows_changes_no_result(batch: FleetBatch, data: st.DataObject) -> None:
    """``keep_sorted`` only keeps what the engine sorted: every figure stays bit for bit."""
    batch = batch.take(data.draw(st.permutations(range(len(batch)))))  # a stream's disorder
    t = as_datetime64(batch.t)
    plain = ei.integrate_meters(batch.meter_ids, t, batch.p)
    kept = ei.integrate_meters(batch.meter_ids, t, batch.p, keep_sorted=True)
    for name in ("cumulative", "increments", "accepted"):
        np.testing.assert_array_equal(getattr(plain, name), getattr(kept, name), err_msg=name)
    assert dict(plain.states.items()) == dict(kept.states.items())
    for every in ("15min", "1h"):
        ids = batch.meter_ids
        _same(
            ei.energy_by_interval(t, batch.p, every, meter_ids=ids, fleet=plain),
            ei.energy_by_interval(t, batch.p, every, meter_ids=ids, fleet=kept),
        )


def test_a_clean_batch_out_of_order_keeps_its_sorted_rows() -> None:
    t = np.array(["2026-01-01T00:00", "2026-01-01T00:00", "2026-01-01T01:00"], "datetime64[ns]")
    kept = ei.integrate_meters(["b", "a", "b"], t, [1.0, 2.0, 3.0], keep_sorted=True)
    assert kept._sorted is not None  # the path the law above is about was taken
    assert kept._sorted.p.tolist() == [2.0, 1.0, 3.0]  # by meter ("a" then "b"), then time
    assert kept._sorted.starts.tolist() == [0, 1]
    assert ei.integrate_meters(["b", "a", "b"], t, [1.0, 2.0, 3.0])._sorted is None


@settings(max_examples=150, deadline=None)
@given(batch=fleet_batches(clean=True, with_states=False), every=st.sampled_from(["15min", "1h"]),
       data=st.data())  # fmt: skip
def test_merging_one_part_equals_merging_it_with_nothing(
    batch: FleetBatch, every: str, data: st.DataObject
) -> None:
    """One part is returned as it is when the merge would not change it; the two parts take
    the general path, which sorts by meter code and time and adds up shared buckets."""
    try:
        part = ei.energy_by_interval(as_datetime64(batch.t), batch.p, every,
                                     meter_ids=batch.meter_ids, on_duplicate="last")  # fmt: skip
    except ei.EnergyIntegralError:
        return
    if data.draw(st.booleans()):  # rows in another order: the merge puts them back
        part = part.take(data.draw(st.permutations(range(len(part)))))
    none = dataclasses.replace(ei.IntervalEnergy.empty(), meter=part.meter[:0])
    _same(ei.IntervalEnergy.merge([part]), ei.IntervalEnergy.merge([part, none]))


CUTS = st.sampled_from([("15min", None), ("1d", "Europe/Berlin"), ("1h", "Asia/Kolkata")])


@settings(max_examples=60, deadline=None)
@given(batch=fleet_batches(clean=True, with_states=False), cut=CUTS)
def test_arrow_holds_what_pandas_holds(batch: FleetBatch, cut: tuple[str, str | None]) -> None:
    """``to_arrow`` (what ``integrate --every --out`` writes) is ``to_pandas`` as Arrow."""
    import pyarrow as pa

    every, tz = cut
    try:
        out = ei.energy_by_interval(as_datetime64(batch.t), batch.p, every, tz=tz,
                                    meter_ids=batch.meter_ids, on_duplicate="last")  # fmt: skip
    except ei.EnergyIntegralError:
        return
    via_pandas = pa.Table.from_pandas(out.to_pandas(), preserve_index=False)
    assert out.to_arrow().equals(via_pandas.replace_schema_metadata(None))
