"""The stored procedure's entry point: ``integrate_stream(session, ...) -> str``.

Deployed as procedure ``INTEGRATE_STREAM`` with the arguments of
:data:`PROCEDURE_ARGUMENTS`; it returns the run's JSON summary (see
:class:`~energy_integral_snowflake.procedure.RunSummary`). It runs against
:class:`~.store.SqlStore` on whatever session it is given: Snowflake's, or
an :class:`~.embedded.EmbeddedSession`.

Run ``python -m energy_integral_snowflake.handler`` to try it without an
account: it sets up an embedded pipeline, inserts a few readings and calls
the handler twice (the second call finds the stream empty).
"""

from __future__ import annotations

from typing import Any, Optional

from snowflake.snowpark import Session

import energy_integral as ei

from .batch import Policy
from .manifest import INTEGRATE_STREAM
from .procedure import run_procedure
from .schema import DEFAULT_NAMES, ObjectNames
from .statements import run
from .store import SqlStore

__all__ = ["PROCEDURE_ARGUMENTS", "BatchNotIntegratedError", "integrate_stream", "store_for"]

#: The procedure's SQL signature: (name, Snowflake type, SQL default), in order.
PROCEDURE_ARGUMENTS = INTEGRATE_STREAM.arguments


def store_for(session: Any, names: ObjectNames = DEFAULT_NAMES) -> SqlStore:
    """The store of the procedure's tables on ``session`` (Snowflake or embedded)."""
    return SqlStore(session, names)


# Snowpark reads these hints when registering the procedure: the first parameter must
# resolve to Session, and it accepts Optional[...] but not the `X | None` spelling.
def integrate_stream(
    session: Session,
    method: str = "trapezoid",
    max_gap: Optional[str] = None,  # noqa: UP045
    on_duplicate: str = "reject",
    max_power: Optional[float] = None,  # noqa: UP045
) -> str:
    """Integrate what the stream holds into kWh, exactly once; returns a JSON summary.

    Parameters
    ----------
    session : snowflake.snowpark.Session
        The procedure's session (Snowflake passes it in).
    method : str, optional
        Integration strategy (``trapezoid``, ``left``, ``right``, ``scipy`` or a plugin).
    max_gap : str, optional
        Intervals longer than this (e.g. ``"15min"``) add no energy.
    on_duplicate : {"reject", "last", "mean", "step"}, optional
        Which of several readings of one meter at one time counts (``"step"``:
        all of them, as an instantaneous step in ``ID`` order).
    max_power : float, optional
        Readings with ``|KW|`` above this are quarantined as invalid.

    Returns
    -------
    str
        JSON: ``status`` (``ok``/``error``), ``consumed_batch``, ``integrated``
        (one entry per batch), ``pending``, ``kwh_added`` and a ``message``
        saying what to do when something could not be integrated.
    """
    policy = Policy(method, max_gap, on_duplicate, max_power)
    summary = run_procedure(store_for(session), policy)
    if summary.status != "ok" and _running_task(session):
        # A returned value counts as SUCCEEDED in TASK_HISTORY whatever it says; only an
        # error makes the run FAILED (and counts toward SUSPEND_TASK_AFTER_NUM_FAILURES).
        raise BatchNotIntegratedError(f"{summary.message} Summary: {summary.to_json()}")
    return summary.to_json()


class BatchNotIntegratedError(ei.EnergyIntegralError):
    """A task's call could not integrate a batch: raised so that the task run fails visibly."""


def _running_task(session: Any) -> bool:
    """Whether this call runs as a task's body (``SYSTEM$CURRENT_USER_TASK_NAME()``)."""
    rows = run(session, "SELECT SYSTEM$CURRENT_USER_TASK_NAME()")
    return bool(rows and rows[0][0])


def _main() -> None:  # pragma: no cover - exercised by hand and by the demo's test
    from . import embedded
    from .generator import insert_readings

    session: Any = embedded.connect()
    embedded.setup(session)
    insert_readings(session, ei.generate_readings(3, periods=10, invalid_fraction=0.1))
    print(integrate_stream(session))
    print(integrate_stream(session))


if __name__ == "__main__":
    _main()
