"""Commands added by other packages through the ``energy_integral.commands`` entry points.

Each entry point names a function ``register(app: typer.Typer) -> None``
that adds its commands (the Snowflake adapter adds ``demo``, ``backfill``,
...). A plug-in that cannot be imported or fails to register is a warning
naming it, never a crash: the file commands must keep working without it.
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib.metadata import EntryPoint, entry_points

import typer

from ._output import warn

__all__ = ["ENTRY_POINT_GROUP", "load_plugins"]

ENTRY_POINT_GROUP = "energy_integral.commands"
_loaded: set[int] = set()


def load_plugins(app: typer.Typer, plugins: Iterable[EntryPoint] | None = None) -> list[str]:
    """Let every plug-in add its commands to ``app`` (once per app); return the names loaded.

    ``plugins`` defaults to the installed entry points of :data:`ENTRY_POINT_GROUP`.
    """
    if id(app) in _loaded and plugins is None:
        return []
    _loaded.add(id(app))
    found = entry_points(group=ENTRY_POINT_GROUP) if plugins is None else plugins
    loaded = []
    for ep in found:
        try:
            register = ep.load()
            register(app)
        except Exception as exc:  # a broken plug-in must not take the CLI down
            warn(
                f"command plug-in {ep.name!r} ({ep.value}) not loaded: {type(exc).__name__}: {exc}"
            )
        else:
            loaded.append(ep.name)
    return loaded
