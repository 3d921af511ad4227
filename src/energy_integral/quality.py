"""Data-quality policies and the fixed set of reasons a row can be rejected for.

==========================  ===============================================================
reason                      meaning
==========================  ===============================================================
``invalid-meter``           the meter id is missing (None/NaN)
``invalid-time``            the timestamp is missing (NaT/None)
``invalid-power``           power is NaN or ±inf, or beyond the plausibility bound ``max_power``
``late``                    at or before the meter's last integrated sample, and not identical
                            to it (the state keeps only its last sample, so an earlier
                            re-delivered reading is ``late`` too)
``already-integrated``      identical (time and power) to the meter's last integrated sample:
                            a re-delivered reading, harmless (with ``on_duplicate="step"``
                            also a repeat of the reading before it in a step)
``duplicate``               a second reading of one meter at one time within a batch
                            (which one is kept depends on ``on_duplicate``)
``correction``              set by adapters: a source row deleted or updated after it was
                            integrated (see the Snowflake procedure's reconciliation)
==========================  ===============================================================

Nothing is dropped silently: every row that is not integrated comes back in a
:class:`Rejections` table with one of these reasons.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from .timestamps import as_datetime64

__all__ = [
    "ON_DUPLICATE",
    "ON_INVALID",
    "ON_LATE",
    "REJECTION_REASONS",
    "Rejections",
]

#: Every reason a row can be rejected for, in order of precedence.
REJECTION_REASONS: tuple[str, ...] = (
    "invalid-meter",
    "invalid-time",
    "invalid-power",
    "late",
    "already-integrated",
    "duplicate",
    "correction",
)
#: Policies for rows at or before the meter's last integrated sample.
ON_LATE: tuple[str, ...] = ("reject", "raise")
#: Policies for several rows of one meter at one time: keep the first, keep the last,
#: average their power, take them as a step (every one integrated, in input order), or raise.
ON_DUPLICATE: tuple[str, ...] = ("reject", "last", "mean", "step", "raise")
#: Policies for rows with a missing meter or time, or invalid power: reject, reject and
#: mark an outage (invalid power only: the intervals on both sides add no energy), or raise.
ON_INVALID: tuple[str, ...] = ("reject", "gap", "raise")

# Reason codes used inside the engine: 0 is "accepted", i + 1 is REJECTION_REASONS[i].
ACCEPTED = 0
INVALID_METER, INVALID_TIME, INVALID_POWER, LATE, ALREADY_INTEGRATED, DUPLICATE, CORRECTION = range(
    1, len(REJECTION_REASONS) + 1
)
_REASON_LABELS = np.array(("", *REJECTION_REASONS), dtype=object)


def reason_labels(codes: npt.NDArray[np.int8]) -> npt.NDArray[np.object_]:
    """Reason strings for engine reason codes (``""`` for accepted rows)."""
    return _REASON_LABELS[codes]  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Rejections:
    """Rows that were not integrated, in input order, each with its reason.

    Attributes
    ----------
    row : ndarray of int64
        Position of the row in the input.
    meter, timestamp, power : ndarray
        The row's values (``timestamp`` as ``datetime64[ns]``, NaT where missing).
    reason : ndarray of str
        One of :data:`REJECTION_REASONS`.
    detail : ndarray of str
        What the reason does not say, ``""`` where it says it all: e.g. a
        time ``outside 1677-09-21..2262-04-11`` (not missing), a power whose
        ``energy overflows float64`` or that is ``beyond max_power=...``.
    """

    row: npt.NDArray[np.int64]
    meter: npt.NDArray[Any]
    timestamp: npt.NDArray[np.datetime64]
    power: npt.NDArray[np.float64]
    reason: npt.NDArray[np.object_]
    detail: npt.NDArray[np.object_]

    @classmethod
    def empty(cls) -> Rejections:
        return cls(
            np.empty(0, np.int64),
            np.empty(0, object),
            as_datetime64([]),
            np.empty(0, np.float64),
            np.empty(0, object),
            np.empty(0, object),
        )

    @classmethod
    def from_codes(
        cls,
        reason: npt.NDArray[np.int8],
        codes: npt.NDArray[np.int64],
        meters: npt.NDArray[Any],
        t: npt.NDArray[np.int64],
        p: npt.NDArray[np.float64],
        details: Mapping[int, str] | None = None,
    ) -> Rejections:
        """The rows whose engine reason code is not ``ACCEPTED`` (meter codes ``-1`` → None);
        ``details`` maps a row to its detail."""
        rows = np.flatnonzero(reason != ACCEPTED)
        if rows.size == 0:
            return cls.empty()
        meter = np.empty(rows.size, dtype=object)
        known = codes[rows] >= 0
        meter[known] = meters[codes[rows[known]]]
        meter[~known] = None
        labels = reason_labels(reason[rows])
        detail = np.full(rows.size, "", dtype=object)
        for k, row in enumerate(rows.tolist() if details else ()):
            detail[k] = details.get(row, "") if details else ""
        return cls(rows.astype(np.int64), meter, as_datetime64(t[rows]), p[rows], labels, detail)

    @classmethod
    def concat(cls, parts: list[Rejections]) -> Rejections:
        """The rows of ``parts``, one after the other (``row`` as each part has it)."""
        names = cls.__dataclass_fields__
        return cls(*(np.concatenate([getattr(p, name) for p in parts]) for name in names))

    def __len__(self) -> int:
        return int(self.row.size)

    def counts(self) -> dict[str, int]:
        """Number of rejected rows per reason (reasons with none are left out)."""
        labels, counts = np.unique(self.reason.astype(str), return_counts=True)
        return {str(k): int(v) for k, v in zip(labels, counts, strict=True)}

    def to_pandas(self) -> Any:
        """A DataFrame with columns ``row, meter, timestamp, power, reason, detail``."""
        import pandas as pd

        return pd.DataFrame(
            {
                "row": self.row,
                "meter": self.meter,
                "timestamp": self.timestamp,
                "power": self.power,
                "reason": self.reason,
                "detail": self.detail,
            }
        )
