"""The report of intervals skipped because they were longer than ``max_gap``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from .timestamps import as_datetime64

__all__ = ["GapReport"]


@dataclass(frozen=True)
class GapReport:
    """Intervals that contributed no energy because they exceeded ``max_gap``.

    ``start`` and ``end`` are the samples on either side (``datetime64[ns]``, UTC);
    ``meter`` is set by the fleet engine and is ``None`` for a single series.
    """

    start: npt.NDArray[np.datetime64] = field(default_factory=lambda: as_datetime64([]))
    end: npt.NDArray[np.datetime64] = field(default_factory=lambda: as_datetime64([]))
    meter: npt.NDArray[Any] | None = None

    @classmethod
    def from_ns(
        cls,
        start_ns: npt.NDArray[np.int64],
        end_ns: npt.NDArray[np.int64],
        meter: npt.NDArray[Any] | None = None,
    ) -> GapReport:
        return cls(as_datetime64(start_ns), as_datetime64(end_ns), meter)

    @property
    def duration(self) -> npt.NDArray[np.timedelta64]:
        """Length of each gap."""
        return self.end - self.start

    def __len__(self) -> int:
        return int(self.start.size)

    def to_pandas(self) -> Any:
        """A DataFrame with columns ``meter`` (fleet only), ``start``, ``end``, ``duration``."""
        import pandas as pd

        columns: dict[str, Any] = {}
        if self.meter is not None:
            columns["meter"] = self.meter
        columns.update(start=self.start, end=self.end, duration=self.duration)
        return pd.DataFrame(columns)
