"""The engine-specific part of the procedure, as a four-method interface.

:func:`~energy_integral_snowflake.procedure.run_procedure` only speaks to a
:class:`Store`; two implementations exist:

* :class:`~energy_integral_snowflake.snowflake_store.SnowflakeStore` — real
  Snowflake: the stream, ``BEGIN``/``COMMIT``, ``MERGE``, bind parameters;
* :class:`~energy_integral_snowflake.local_store.LocalStore` — Snowpark local
  testing: the stream emulated as an offset over the source table, no
  transactions, writes made idempotent per batch.

The contract both keep (and the fault-injection tests check locally):

1. :meth:`Store.consume` moves whatever the stream holds into the landing
   table under a new batch id and records the batch in the marker as
   ``LANDED``, all or nothing; the stream advances exactly then.
2. :meth:`Store.load_batch` returns the landed rows of a batch and each of its
   meters' states *before* the batch (the state rows of earlier batches) —
   never anything the batch itself wrote, so a half-written batch reloads
   exactly as it first did.
3. :meth:`Store.commit_batch` writes results, quarantine and states
   idempotently, marks the batch ``INTEGRATED`` and prunes superseded state
   rows, in that order, so a crash at any point leaves a batch that is either
   still ``LANDED`` (and is redone from the same inputs) or fully written.
"""

from __future__ import annotations

from typing import Protocol

import pandas as pd

import energy_integral as ei

from .batch import BatchOutcome
from .schema import ObjectNames

__all__ = ["Store"]


class Store(Protocol):
    """Where the procedure's tables live and how the stream is consumed."""

    names: ObjectNames

    def consume(self) -> int | None:
        """Phase 1: land the stream's rows as a new batch; its id, or None if it is empty."""
        ...

    def pending_batches(self) -> list[int]:
        """Ids of the batches landed but not yet integrated, oldest first."""
        ...

    def load_batch(
        self, batch_id: int, method: str
    ) -> tuple[pd.DataFrame, dict[str, ei.CumulativeState]]:
        """The batch's landed rows and its meters' ``method`` states before it."""
        ...

    def commit_batch(self, outcome: BatchOutcome, duration_s: float) -> None:
        """Phase 2's writes for one batch, idempotent, ending with the marker's status."""
        ...
