"""Backfill: integrate any time range of the source table for any meters, in parallel per meter.

Each meter's source rows in the range are integrated by the warehouse, one
partition per meter (``group_by("METER_ID").apply_in_pandas``), or one per
(meter, day) with the day states folded by ``CumulativeState.combine``
afterwards; both give the straight integration's numbers (1e-12 relative).
The rows, states and cumulative values are those the stream procedure writes
for the same rows in any batching that delivers each meter's readings in
time order (:mod:`.partition` integrates in ``ID`` order, as a batch does).

Where a meter's window starts
    With no ``start``, at the meter's first reading, from an empty state.
    With ``start``, right after the meter's last stored result before
    ``start``, continuing the state recovered from that row (so the meter's
    cumulative kWh runs on without a seam); with no stored result before
    ``start``, at ``start`` from an empty state.

Handing over to the stream at ``end = T``
    The backfill writes each meter's state after its last reading ≤ T as a
    batch of its own; the stream's next batch starts from it, so readings
    after T are integrated on top of it: no gap, no overlap. Readings ≤ T
    that later reach the stream (a stream with ``SHOW_INITIAL_ROWS``, or
    rows written before the backfill) are older than the state's last
    sample, so the procedure quarantines them as ``late`` (the one equal to
    the last sample as ``already-integrated``); :mod:`.reconcile` then finds
    each one identical to a stored result row and resolves it as
    ``already-integrated`` without restating anything. A row ≤ T that
    differs from what was backfilled is a true correction and is restated.

A backfill refuses to start while a stream batch is ``LANDED`` (integrate it
first), and refuses meters whose stored state already lies beyond ``end``:
rewriting the middle of a meter's history is reconciliation's job.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, Optional

import numpy as np
import pandas as pd
from snowflake.snowpark import Session

import energy_integral as ei

from .batch import Policy
from .manifest import BACKFILL
from .procedure import check_policy
from .restate import STATUS_BACKFILLED, ScaleOutSummary, as_utc, check_stream_quiet, restate
from .schema import DEFAULT_NAMES, ObjectNames
from .warehouse import SqlWarehouse, Window

__all__ = ["BACKFILL_ARGUMENTS", "backfill", "plan_backfill", "run_backfill", "warehouse_for"]

#: The backfill procedure's SQL signature: (name, Snowflake type, SQL default), in order.
BACKFILL_ARGUMENTS = BACKFILL.arguments


def warehouse_for(session: Any, names: ObjectNames = DEFAULT_NAMES, **options: Any) -> SqlWarehouse:
    """The warehouse of ``session``: partitions on the warehouse on Snowflake, in-process locally.

    ``options`` (``stage``) go to :func:`.warehouse_snowflake.on_warehouse`.
    """
    if getattr(session, "is_embedded", False):
        return SqlWarehouse(session, names)
    from .warehouse_snowflake import on_warehouse

    return SqlWarehouse(session, names, on_warehouse(**options))


def plan_backfill(
    warehouse: SqlWarehouse,
    policy: Policy,
    *,
    meters: Sequence[str] | None,
    start: dt.datetime | None,
    end: dt.datetime | None,
) -> list[Window]:
    """Each chosen meter's window (see the module docstring); raises on a bad request."""
    chosen = warehouse.source_meters(meters)
    missing = sorted(set(meters or ()) - set(chosen))
    if missing:
        raise ei.errors.InvalidArgumentError(
            f"meters={missing} have no rows in {warehouse.names.source}"
        )
    latest = warehouse.latest_states(policy.method, chosen)
    if end is not None:
        t_end = np.datetime64(end, "ns")
        beyond = sorted(
            m for m, s in latest.items() if s.last_time is not None and s.last_time > t_end
        )
        if beyond:
            raise ei.errors.InvalidArgumentError(
                f"end={end} is before the stored state of meters {beyond[:5]}"
                f"{' ...' if len(beyond) > 5 else ''}; backfill through their last reading, "
                "or restate the middle of their history with reconcile"
            )
    anchors = warehouse.anchors(policy.method, {m: start for m in chosen}) if start else {}
    empty = ei.CumulativeState.empty(policy.method)
    windows = []
    for m in chosen:
        anchor = anchors.get(m, empty)
        before = latest.get(m, empty)
        if start is None or anchor.is_empty:
            windows.append(Window(m, start, end, empty, before, inclusive=start is not None))
        else:
            last = anchor.last_time
            assert last is not None
            windows.append(Window(m, pd.Timestamp(last), end, anchor, before))
    return windows


def run_backfill(
    warehouse: SqlWarehouse,
    policy: Policy | None = None,
    *,
    meters: Sequence[str] | None = None,
    start: Any = None,
    end: Any = None,
    chunk_by_day: bool = False,
) -> ScaleOutSummary:
    """Integrate the source rows of ``meters`` in ``[start, end]`` and write them as one batch.

    Parameters
    ----------
    warehouse : SqlWarehouse
        The tables, on Snowflake or on the embedded engine.
    policy : Policy, optional
        The stream procedure's options (the backfilled states must match them).
    meters : sequence of str, optional
        Meters to backfill; every meter of the source table by default.
    start, end : str or datetime, optional
        The range (UTC; ``end`` inclusive); unbounded by default.
    chunk_by_day : bool, optional
        Integrate each (meter, day) independently and combine the day states.

    Returns
    -------
    ScaleOutSummary
        ``status`` ``"error"`` with a ``message`` if nothing was written.
    """
    policy = policy or Policy()
    try:
        check_policy(policy)
        t0, t1 = as_utc(start, "start"), as_utc(end, "end")
        if t0 is not None and t1 is not None and t0 > t1:
            raise ei.errors.InvalidArgumentError(f"start={start!r} is after end={end!r}")
        check_stream_quiet(warehouse)
        batch_id = warehouse.next_batch_id()
        version = warehouse.states_version(batch_id, policy.method)
        windows = plan_backfill(warehouse, policy, meters=meters, start=t0, end=t1)
    except ei.EnergyIntegralError as exc:
        return ScaleOutSummary(status="error", kind=STATUS_BACKFILLED, message=str(exc))
    return restate(
        warehouse, windows, policy, status=STATUS_BACKFILLED, batch_id=batch_id,
        chunked=chunk_by_day, version=version,
    )  # fmt: skip


# Annotated for Snowpark's registration as handler.integrate_stream is (see there).
def backfill(
    session: Session,
    method: str = "trapezoid",
    start_time: Optional[str] = None,  # noqa: UP045
    end_time: Optional[str] = None,  # noqa: UP045
    meters: Optional[str] = None,  # noqa: UP045
    chunk_by_day: bool = False,
    max_gap: Optional[str] = None,  # noqa: UP045
    on_duplicate: str = "reject",
    max_power: Optional[float] = None,  # noqa: UP045
) -> str:
    """The ``BACKFILL_READINGS`` procedure: backfill a range; returns a JSON summary.

    ``meters`` is a comma-separated list (all meters when NULL); the other
    arguments are :func:`run_backfill`'s and the stream procedure's.
    """
    chosen = None if not meters else [m.strip() for m in meters.split(",") if m.strip()]
    policy = Policy(method, max_gap, on_duplicate, max_power)
    summary = run_backfill(
        warehouse_for(session), policy, meters=chosen, start=start_time, end=end_time,
        chunk_by_day=bool(chunk_by_day),
    )  # fmt: skip
    return summary.to_json()
