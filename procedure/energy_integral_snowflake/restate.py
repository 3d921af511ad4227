"""Restate meters' windows as one batch: what backfill and reconcile share.

A restatement is a batch of its own: it takes the next ``BATCH_ID`` (so the
stream's next batch loads its states as "the states before"), writes its
results, the rows it rejected, each meter's new state, the audit and finally
a marker row with status ``BACKFILLED`` or ``RECONCILED`` — the commit point
(the stream procedure only looks for ``LANDED`` rows, and the emulated
marker row has no ``LAST_SOURCE_ID``).
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

import energy_integral as ei

from ._values import py_times, utc_now
from .batch import Policy, state_to_json
from .statements import COMMITTED
from .warehouse import SqlWarehouse, Window, Writes

__all__ = [
    "STATUS_BACKFILLED",
    "STATUS_RECONCILED",
    "ScaleOutSummary",
    "as_utc",
    "check_stream_quiet",
    "restate",
]

_RACED = (
    "another call landed a stream batch or changed the meters' states while this one ran; "
    "nothing was written: integrate the stream (CALL the procedure), then run this again"
)

#: Marker ``STATUS`` of a backfill batch and of a reconcile batch.
STATUS_BACKFILLED = "BACKFILLED"
STATUS_RECONCILED = "RECONCILED"


@dataclass
class ScaleOutSummary:
    """What a backfill or reconcile call did; returned by the procedures as JSON.

    ``rows_integrated`` counts source rows integrated, ``rows_merged`` of which
    were merged into another row's result (``on_duplicate="mean"`` or ``"step"``).
    """

    status: str = "ok"
    kind: str = ""
    batch_id: int | None = None
    meters: list[dict[str, Any]] = field(default_factory=list)
    rows_integrated: int = 0
    rows_merged: int = 0
    rows_rejected: int = 0
    rows_resolved: int = 0
    message: str = ""

    @property
    def delta_kwh(self) -> float:
        """Energy the restatement added over all meters (after − before)."""
        return float(sum(m["delta_kwh"] for m in self.meters))

    def to_json(self) -> str:
        """The summary as one JSON object."""
        out = asdict(self)
        out["delta_kwh"] = self.delta_kwh
        return json.dumps(out, default=str)


def check_stream_quiet(warehouse: SqlWarehouse) -> None:
    """Refuse (``InvalidArgumentError``) unless the stream procedure is idle and owed nothing.

    A started task keeps landing batches, and any batch that lands while the
    restatement runs makes it lose its claim at the commit (nothing is written,
    see :func:`restate`): suspending the task is what lets it finish. A batch
    still ``LANDED`` holds readings the restatement would not see.
    """
    task = warehouse.names.task
    if warehouse.stream_task_started():
        raise ei.errors.InvalidArgumentError(
            f"task {task} is started: run ALTER TASK {task} SUSPEND first, and RESUME it "
            "afterwards (a batch landing while this runs would undo it: nothing would be written)"
        )
    pending = warehouse.pending_batches()
    if pending:
        raise ei.errors.InvalidArgumentError(
            f"stream batches {pending} are LANDED but not integrated; "
            f"call {warehouse.names.procedure} first"
        )


def as_utc(value: Any, argument: str) -> dt.datetime | None:
    """A time argument as a naive UTC timestamp (ns), None for None/"" ; raises naming it.

    >>> as_utc("2026-01-01T06:00:00+01:00", "end")
    Timestamp('2026-01-01 05:00:00')
    """
    if value is None or value == "":
        return None
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        raise ei.errors.InvalidArgumentError(f"{argument}={value!r} is not a time: {exc}") from None
    if pd.isna(stamp):
        raise ei.errors.InvalidArgumentError(f"{argument}={value!r} is not a time")
    if stamp.tzinfo is not None:  # aware: converted; naive: already UTC
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    return py_times(np.array([stamp.to_datetime64()], dtype="datetime64[ns]"))[0]


def _state_time(state: ei.CumulativeState) -> dt.datetime | None:
    if state.last_ts is None:
        return None
    return py_times(np.array([state.last_ts], dtype="datetime64[ns]"))[0]


def restate(
    warehouse: SqlWarehouse,
    windows: Sequence[Window],
    policy: Policy,
    *,
    status: str,
    batch_id: int,
    chunked: bool = False,
    resolved: Sequence[tuple[Any, ...]] = (),
    version: tuple[int, int] | None = None,
) -> ScaleOutSummary:
    """Integrate the windows on the warehouse and write them as batch ``batch_id``.

    ``version`` is the states' fingerprint taken before the windows were planned;
    if a stream batch landed, or the states changed, before the commit, nothing
    is written and the summary says to run it again.
    ``resolved`` are ``(QUARANTINE_BATCH_ID, ROW_ID, REASON, RESOLUTION)`` of the
    quarantine rows this batch resolves.
    """
    start, now = time.perf_counter(), utc_now()
    restated = warehouse.integrate(windows, policy, chunked)
    audit, states = [], []
    meters: list[dict[str, Any]] = []
    for w in windows:
        after = restated.states[w.meter]
        if not (after.is_empty and w.before.is_empty):
            states.append((w.meter, policy.method, state_to_json(after), batch_id, now))
        end = w.through if w.through is not None else _state_time(after)
        delta = after.energy - w.before.energy
        rows = restated.integrated[w.meter]
        audit.append((batch_id, w.meter, policy.method, status, w.after, end,
                      w.before.energy, after.energy, delta, rows, now))  # fmt: skip
        meters.append({"meter": w.meter, "window_start": w.after, "window_end": end,
                       "kwh_before": w.before.energy, "kwh_after": after.energy,
                       "delta_kwh": delta, "rows_integrated": rows})  # fmt: skip
    integrated = sum(restated.integrated.values())
    times = [t for w in windows for t in (w.after, w.through) if t is not None]
    marker = (batch_id, now, now, integrated + restated.rejected, integrated, restated.rejected,
              len(windows), min(times, default=None), max(times, default=None), None,
              sum(m["delta_kwh"] for m in meters), time.perf_counter() - start, policy.method,
              status, None)  # fmt: skip
    done = warehouse.commit(
        Writes(
            batch_id=batch_id,
            method=policy.method,
            windows=windows,
            restated=restated,
            states=states,
            resolved=[(*r, batch_id, now) for r in resolved],
            audit=audit,
            marker=marker,
            now=now,
            version=version,
        )
    )
    if done != COMMITTED:
        return ScaleOutSummary(status="error", kind=status, message=_RACED)
    return ScaleOutSummary(
        kind=status,
        batch_id=batch_id,
        meters=meters,
        rows_integrated=integrated,
        rows_merged=restated.merged,
        rows_rejected=restated.rejected,
        rows_resolved=len(resolved),
    )
