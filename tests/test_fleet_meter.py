"""``FleetResult.meter``: each row's meter id in input order, on both engine paths."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from series_strategies import FleetBatch, as_datetime64, fleet_batches

import energy_integral as ei


def _meters(batch: FleetBatch) -> list[object]:
    res = ei.integrate_meters(batch.meter_ids, as_datetime64(batch.t), batch.p)
    return list(res.meter.tolist())


@given(fleet_batches())
def test_meter_is_each_rows_meter_in_input_order(batch: FleetBatch) -> None:
    assert _meters(batch) == batch.meters


@given(fleet_batches(clean=True, with_states=False))
def test_meter_of_a_clean_batch_grouped_by_meter(batch: FleetBatch) -> None:
    """Grouped, clean rows take the engine's fast path, which keeps no per-row codes."""
    numeric = all(isinstance(m, int) for m in batch.meters)  # sorted numeric ids: the fast path
    key = np.array(batch.meters if numeric else [str(m) for m in batch.meters])
    grouped = batch.take(np.lexsort((batch.t, key)))
    assert _meters(grouped) == grouped.meters
