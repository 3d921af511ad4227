"""Reconcile: re-integrate the meters whose rows were quarantined as late, corrected or stuck.

Such rows are not a dead end. For every open one (quarantined, not yet in
``RESOLVED_READINGS``):

1. a ``late`` row identical — meter, time and kW — to a stored result row is
   resolved as ``already-integrated``: the library's own meaning (a
   re-delivered reading), which its state alone can only see for the last
   sample. This is how the readings a backfill already integrated come
   back through the stream and go away again (see :mod:`.backfill`);
2. every other row marks its meter as affected from the row's time ``t``.
   Each affected meter is restated from its last stored result before its
   earliest ``t``, continuing the state recovered from that row
   (:func:`~.warehouse.anchor_state`), up to the later of its stored state's
   last sample and its latest affected row — the source table as it stands
   now is the truth. Its results there are replaced, its state updated,
   its open rows resolved as ``restated``, and an audit row records the
   window and the meter's kWh before and after.

After a reconciliation the results are those of a clean run over the
corrected source table (each meter integrated in one go, rows in ``ID``
order); a second reconciliation finds nothing open and writes nothing. The
audit's ``DELTA_KWH`` summed over meters is the change of the fleet's total.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np
import pandas as pd
from snowflake.snowpark import Session

import energy_integral as ei

from .batch import Policy
from .manifest import RECONCILE
from .procedure import check_policy
from .restate import STATUS_RECONCILED, ScaleOutSummary, check_stream_quiet, restate
from .warehouse import SqlWarehouse, Window

__all__ = [
    "RECONCILE_ARGUMENTS",
    "RESOLVED_ALREADY_INTEGRATED",
    "RESOLVED_RESTATED",
    "plan_reconcile",
    "reconcile",
    "run_reconcile",
]

#: The reconcile procedure's SQL signature: (name, Snowflake type, SQL default), in order.
RECONCILE_ARGUMENTS = RECONCILE.arguments
#: ``RESOLUTION`` of a row whose meter was re-integrated over its time.
RESOLVED_RESTATED = "restated"
#: ``RESOLUTION`` of a late row identical to a stored result row.
RESOLVED_ALREADY_INTEGRATED = "already-integrated"


def _latest(times: pd.Series, state: ei.CumulativeState) -> Any:
    last = pd.Timestamp(times.max())
    if state.last_time is None:
        return last
    return max(last, pd.Timestamp(state.last_time))


def plan_reconcile(
    warehouse: SqlWarehouse, policy: Policy
) -> tuple[list[Window], list[tuple[Any, ...]]]:
    """The windows to restate and the ``(batch, row id, reason, resolution)`` of open rows."""
    open_rows = warehouse.open_quarantine()
    open_rows = open_rows[open_rows["METER_ID"].notna() & open_rows["TIMESTAMP"].notna()]
    if open_rows.empty:
        return [], []
    late = (open_rows["REASON"] == "late").to_numpy()
    identical = np.zeros(len(open_rows), dtype=bool)
    if late.any():
        identical[late] = warehouse.stored_matches(policy.method, open_rows[late])
    affected = open_rows[~identical]
    starts = affected.groupby("METER_ID")["TIMESTAMP"].min()
    meters = sorted(str(m) for m in starts.index)
    latest = warehouse.latest_states(policy.method, meters)
    anchors = warehouse.anchors(policy.method, {str(m): pd.Timestamp(t) for m, t in starts.items()})
    empty = ei.CumulativeState.empty(policy.method)
    windows = []
    for m in meters:
        anchor, before = anchors.get(m, empty), latest.get(m, empty)
        through = _latest(affected.loc[affected["METER_ID"] == m, "TIMESTAMP"], before)
        last = anchor.last_time
        after = None if last is None else pd.Timestamp(last)
        windows.append(Window(m, after, through, anchor, before))
    resolution = np.where(identical, RESOLVED_ALREADY_INTEGRATED, RESOLVED_RESTATED)
    resolved = [
        (int(b), r, reason, str(how))
        for b, r, reason, how in zip(
            open_rows["BATCH_ID"], open_rows["ROW_ID"], open_rows["REASON"], resolution,
            strict=True,
        )
    ]  # fmt: skip
    return windows, resolved


def run_reconcile(warehouse: SqlWarehouse, policy: Policy | None = None) -> ScaleOutSummary:
    """Resolve every open row of a reason in :data:`.batch.RESTATABLE`, restating their meters.

    Parameters
    ----------
    warehouse : SqlWarehouse
        The tables, on Snowflake or on the embedded engine.
    policy : Policy, optional
        The stream procedure's options.

    Returns
    -------
    ScaleOutSummary
        One entry per restated meter with its window and kWh before/after;
        ``batch_id`` None when nothing was open (and nothing was written);
        ``status`` ``"error"`` with a ``message`` if it could not run.
    """
    policy = policy or Policy()
    try:
        check_policy(policy)
        check_stream_quiet(warehouse)
        batch_id = warehouse.next_batch_id()
        version = warehouse.states_version(batch_id, policy.method)
        windows, resolved = plan_reconcile(warehouse, policy)
    except ei.EnergyIntegralError as exc:
        return ScaleOutSummary(status="error", kind=STATUS_RECONCILED, message=str(exc))
    if not resolved:
        return ScaleOutSummary(kind=STATUS_RECONCILED, message="no open late or correction rows")
    return restate(
        warehouse, windows, policy, status=STATUS_RECONCILED, batch_id=batch_id,
        resolved=resolved, version=version,
    )  # fmt: skip


# Annotated for Snowpark's registration as handler.integrate_stream is (see there).
def reconcile(
    session: Session,
    method: str = "trapezoid",
    max_gap: Optional[str] = None,  # noqa: UP045
    on_duplicate: str = "reject",
    max_power: Optional[float] = None,  # noqa: UP045
) -> str:
    """The ``RECONCILE_READINGS`` procedure: resolve late and corrected rows; JSON summary."""
    from .backfill import warehouse_for

    summary = run_reconcile(
        warehouse_for(session), Policy(method, max_gap, on_duplicate, max_power)
    )
    return summary.to_json()
