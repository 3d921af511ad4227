"""The three procedures' SQL signatures and handler paths, written once.

A leaf module (it imports only :mod:`.schema`'s names), so that the handlers,
the deploy code, ``setup.sql``'s tests and ``snowflake.yml``'s tests all read
one list without importing each other. Each argument is ``(name, Snowflake
type, SQL default)``, in order: the handler's keyword arguments after
``session``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

from .schema import BACKFILL_PROCEDURE, DEFAULT_NAMES, RECONCILE_PROCEDURE, ObjectNames

__all__ = [
    "BACKFILL",
    "INTEGRATE_STREAM",
    "PROCEDURES",
    "RECONCILE",
    "Argument",
    "Procedure",
]

#: ``(name, Snowflake type, SQL default)`` of one procedure argument.
Argument = tuple[str, str, str]

_POLICY: tuple[Argument, ...] = (
    ("MAX_GAP", "VARCHAR", "NULL"),
    ("ON_DUPLICATE", "VARCHAR", "'reject'"),
    ("MAX_POWER", "FLOAT", "NULL"),
)
_METHOD: Argument = ("METHOD", "VARCHAR", "'trapezoid'")


@dataclass(frozen=True)
class Procedure:
    """One stored procedure: ``snowflake.yml`` entity, SQL name, handler and signature.

    >>> INTEGRATE_STREAM.handler_path
    'energy_integral_snowflake.handler.integrate_stream'
    >>> " ".join(name for name, _, _ in INTEGRATE_STREAM.arguments)
    'METHOD MAX_GAP ON_DUPLICATE MAX_POWER'
    """

    entity: str
    name: str
    handler_path: str
    arguments: tuple[Argument, ...]
    comment: str

    @property
    def handler(self) -> Callable[..., str]:
        """The handler function itself (imported on first use)."""
        module, _, function = self.handler_path.rpartition(".")
        found: Callable[..., str] = getattr(importlib.import_module(module), function)
        return found

    def sql_name(self, names: ObjectNames = DEFAULT_NAMES) -> str:
        """The procedure's name under ``names`` (only the stream procedure's is configurable)."""
        return names.procedure if self.name == DEFAULT_NAMES.procedure else self.name


INTEGRATE_STREAM = Procedure(
    "integrate_stream", DEFAULT_NAMES.procedure,
    "energy_integral_snowflake.handler.integrate_stream", (_METHOD, *_POLICY),
    "energy_integral: integrate the stream into kWh exactly once",
)  # fmt: skip
BACKFILL = Procedure(
    "backfill_readings", BACKFILL_PROCEDURE, "energy_integral_snowflake.backfill.backfill",
    (_METHOD, ("START_TIME", "VARCHAR", "NULL"), ("END_TIME", "VARCHAR", "NULL"),
     ("METERS", "VARCHAR", "NULL"), ("CHUNK_BY_DAY", "BOOLEAN", "FALSE"), *_POLICY),
    "energy_integral: integrate a range of the source table per meter on the warehouse",
)  # fmt: skip
RECONCILE = Procedure(
    "reconcile_readings", RECONCILE_PROCEDURE, "energy_integral_snowflake.reconcile.reconcile",
    (_METHOD, *_POLICY),
    "energy_integral: restate the meters with late or corrected readings, audited",
)  # fmt: skip
#: Every procedure the adapter deploys, the stream procedure first.
PROCEDURES = (INTEGRATE_STREAM, BACKFILL, RECONCILE)
