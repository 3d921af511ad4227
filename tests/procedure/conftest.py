"""Fixtures shared by the adapter's tests."""

from __future__ import annotations

import pytest

from energy_integral_snowflake import embedded


@pytest.fixture
def session() -> embedded.EmbeddedSession:
    """A fresh in-memory pipeline, set up by ``setup.sql``."""
    s = embedded.connect()
    embedded.setup(s)
    return s
