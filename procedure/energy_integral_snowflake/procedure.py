"""The procedure's logic: consume the stream, then integrate every landed batch, exactly once.

Two phases, so that no kWh is lost or counted twice whatever step a run dies at:

1. **consume** — :meth:`~.store.SqlStore.consume` lands the stream's rows under a new
   batch id and writes the marker row, atomically; only this advances the
   stream. It touches no state, so it is cheap and cannot fail on bad data.
2. **integrate** — for each ``LANDED`` batch, oldest first: load its rows and
   each meter's state *as it was before the batch*, integrate with
   :func:`energy_integral.integrate_meters`, write results, quarantine and
   states idempotently, mark the batch ``INTEGRATED``.

Why the state is kept per batch (``METER_STATE`` keyed by meter, method and
``BATCH_ID``) rather than overwritten: if a run dies after writing batch *b*'s
states but before marking *b*, the redo must start from the states before *b*,
not from the half-applied ones. Reading "the latest state of an earlier batch"
makes the redo a pure function of data that batch *b* never writes; the
superseded rows are pruned only after *b* is marked. The same reasoning makes
the batch, not the reading, the unit of idempotency. Phase 2's writes for a
batch run in one transaction of ``MERGE`` statements on natural keys, so a
crash at any statement leaves the batch ``LANDED`` and untouched (the
fault-injection suite checks this on the embedded engine's real transactions).

A bad meter costs its own rows, not the batch: a meter whose state row
cannot be read, or whose energy would overflow, has its rows quarantined with
a reason naming the cause, and the other meters integrate. A batch the
library cannot integrate at all (e.g. options the stored states were not
written with) stays ``LANDED`` and later batches wait behind it — integrating them first would
skip its energy. The run reports a message saying what to fix (and, run by
the task, fails: see :func:`~.handler.integrate_stream`).

Calls may overlap (a manual ``CALL`` beside the task): each batch is
integrated under a claim, so a call that finds a batch taken by another goes
on, and one whose batch's states changed under it computes the batch again
(see :meth:`~.store.SqlStore.commit_batch`).
"""

from __future__ import annotations

import functools
import json
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import energy_integral as ei

from ._values import utc_now
from .batch import Policy, integrate_batch
from .store import COMMITTED, STALE, TAKEN, SqlStore

__all__ = ["RunSummary", "check_method", "check_policy", "run_procedure"]

#: How often a batch is computed again when its states changed before it committed.
_ATTEMPTS = 3


@dataclass
class RunSummary:
    """What one call did; :meth:`to_json` is the procedure's return value."""

    status: str = "ok"
    consumed_batch: int | None = None
    integrated: list[dict[str, Any]] = field(default_factory=list)
    pending: list[int] = field(default_factory=list)
    message: str = ""

    @property
    def kwh_added(self) -> float:
        """Energy added by the batches integrated in this call."""
        return float(sum(b["kwh_added"] for b in self.integrated))

    def to_json(self) -> str:
        """The summary as one JSON object."""
        out = asdict(self)
        out["kwh_added"] = self.kwh_added
        return json.dumps(out, default=str)

    @classmethod
    def from_json(cls, text: str) -> RunSummary:
        """The summary a call returned (:meth:`to_json`'s text)."""
        data = json.loads(text)
        data.pop("kwh_added", None)
        return cls(**data)


def check_policy(policy: Policy) -> None:
    """Validate the options before anything is consumed; raises library errors."""
    ei.get_strategy(policy.method)
    if policy.max_gap is not None:
        ei.timestamps.to_duration_ns(policy.max_gap, "max_gap")
    if policy.on_duplicate not in ei.quality.ON_DUPLICATE or policy.on_duplicate == "raise":
        choices = [c for c in ei.quality.ON_DUPLICATE if c != "raise"]
        raise ei.errors.InvalidArgumentError(
            f"on_duplicate={policy.on_duplicate!r} must be one of {choices}"
        )
    if policy.max_power is not None and not policy.max_power > 0:
        raise ei.errors.InvalidArgumentError(
            f"max_power={policy.max_power!r} must be a positive number or None"
        )


def check_method(store: SqlStore, method: str) -> None:
    """Refuse a ``method`` other than the one the stored states were written with.

    The method is part of the pipeline: each meter's series continues its own
    state, and a state holds one method's energy. A call with another method
    would start every meter again from nothing beside the old series (trapezoid,
    then left, then trapezoid gives two forked series and no error), so it is
    refused before anything is consumed; the stream keeps its rows.

    Raises
    ------
    MethodMismatchError
        Naming both methods and what to do.
    """
    others = store.other_methods(method)
    if others:
        used = ", ".join(repr(m) for m in others)
        raise ei.errors.MethodMismatchError(
            f"METHOD={method!r} differs from {used}, the method {store.names.state}'s states "
            f"were written with; nothing was consumed. Call with METHOD => {others[0]!r} "
            "(a pipeline integrates with one method: see the Snowflake guide, "
            "'One method per pipeline')"
        )


def _advice(exc: Exception) -> str:
    if isinstance(exc, ei.StateFormatError):
        return (
            "a METER_STATE row is unreadable: restore it (Time Travel), then call "
            "RECONCILE_READINGS; deleting it would restart that meter at 0 kWh"
        )
    if isinstance(exc, (ei.MethodMismatchError, ei.UnitError)):
        return "the stored states were written with other options: call with the same method"
    return "fix the cause and call the procedure again"


def run_procedure(store: SqlStore, policy: Policy | None = None) -> RunSummary:
    """Consume the stream, then integrate every pending batch in order.

    Parameters
    ----------
    store : SqlStore
        The procedure's tables, on Snowflake or on the embedded engine.
    policy : Policy, optional
        Method and data-quality options (trapezoid, rejecting bad rows, by default).

    Returns
    -------
    RunSummary
        ``status`` is ``"ok"``, or ``"error"`` with a ``message`` when a batch
        could not be integrated; that batch and the later ones stay ``LANDED``
        (listed in ``pending``) and are retried by the next call. Errors of the
        store itself (connection, permissions) propagate, so a task run fails
        visibly and is retried.
    """
    policy = policy or Policy()
    summary = RunSummary()
    try:
        check_policy(policy)
        check_method(store, policy.method)
    except ei.EnergyIntegralError as exc:
        summary.status, summary.message = "error", f"invalid argument: {exc}"
        return summary
    summary.consumed_batch = store.consume()
    pending = store.pending_batches()
    renumbered = 0
    position = -1
    while position + 1 < len(pending):
        position += 1
        batch_id = pending[position]
        for _ in range(_ATTEMPTS):  # the states changed under it: compute it again
            start = time.perf_counter()
            try:
                landed, states, version = store.load_batch(batch_id, policy.method)
                row_ids = functools.partial(store.landed_row_ids, batch_id)
                outcome = integrate_batch(landed, states, batch_id, policy, utc_now(), row_ids)
            except ei.EnergyIntegralError as exc:
                summary.status = "error"
                summary.pending = pending[position:]
                summary.message = (
                    f"batch {batch_id} was not integrated: {exc}. It stays LANDED in "
                    f"{store.names.marker} with {len(summary.pending) - 1} later batch(es) "
                    f"waiting behind it; {_advice(exc)}."
                )
                store.mark_failed(batch_id, f"{type(exc).__name__}: {exc}; {_advice(exc)}")
                return summary
            done = store.commit_batch(outcome, time.perf_counter() - start, version)
            if done != STALE:
                break
        if done == TAKEN and renumbered < _ATTEMPTS and store.renumber_overtaken():
            # a restatement committed under a later id while this batch was landing
            renumbered += 1
            pending, position = store.pending_batches(), -1
            continue
        if done != COMMITTED:  # another call integrates it (or keeps changing its states)
            continue
        summary.integrated.append(
            {
                "batch_id": batch_id,
                "rows_read": outcome.rows_read,
                "rows_integrated": outcome.rows_integrated,
                "rows_merged": outcome.rows_merged,
                "rows_rejected": outcome.rows_rejected,
                "meters": outcome.meters,
                "kwh_added": outcome.kwh_added,
            }
        )
    return summary
