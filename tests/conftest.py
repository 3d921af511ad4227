"""Shared test configuration: hypothesis profiles and small data builders."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

# "ci" keeps the whole suite within its time budget on 2 cores; "dev" digs deeper.
settings.register_profile(
    "ci", max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "dev", max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
