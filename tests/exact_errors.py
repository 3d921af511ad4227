"""Helpers of the no-silent-wrong-answer tests: exact error classes, times in hours."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pytest

__all__ = ["BIG", "H", "hours", "raises_exactly"]

H = 3_600 * 10**9
BIG = 2**53  # float64 cannot tell BIG from BIG + 1


@contextmanager
def raises_exactly(cls: type[BaseException], *fragments: str) -> Iterator[None]:
    """The error is of exactly ``cls`` and its message holds every fragment."""
    with pytest.raises(cls) as info:
        yield
    assert info.type is cls, f"{info.type.__name__} is not {cls.__name__}: {info.value}"
    for fragment in fragments:
        assert fragment in str(info.value), f"{fragment!r} not in {str(info.value)!r}"


def hours(*h: float) -> np.ndarray:
    return np.datetime64("2026-01-01T00:00", "ns") + (np.array(h) * H).astype("timedelta64[ns]")
