"""Commands added by other packages through the ``energy_integral.commands`` entry points.

Each entry point names a function ``register(app: typer.Typer) -> None``
that adds its commands (the Snowflake adapter adds ``demo``, ``backfill``,
...). A plug-in that cannot be imported or fails to register is a warning
naming it, never a crash: the file commands must keep working without it.

An entry point named after an extra of ``energy-integral`` (``snowflake``)
says that its commands need that extra: ``--help`` lists them under a panel
named after it, with the install command while the extra is not installed,
and :func:`extra_of` tells :func:`~energy_integral.cli.main` which extra to
name when such a command misses a package.
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib.metadata import EntryPoint, entry_points

import typer

from .._extras import DISTRIBUTION, extra_installed, extras
from . import ENTRY_POINT_GROUP
from ._output import warn

__all__ = ["ENTRY_POINT_GROUP", "extra_of", "load_plugins", "mark_extra"]

_loaded: set[int] = set()
_extra_of: dict[tuple[int, str], str] = {}


def _command_names(app: typer.Typer) -> list[str]:
    return [
        info.name or (info.callback.__name__ if info.callback else "")
        for info in app.registered_commands
    ]


def mark_extra(app: typer.Typer, commands: Iterable[str], extra: str, title: str) -> None:
    """Show ``commands`` of ``app`` under a help panel saying they need ``extra``."""
    wanted = set(commands)
    if extra_installed(extra):
        panel = f"{title} (extra: {extra})"
    else:
        panel = f"{title} — not installed: pip install '{DISTRIBUTION}[{extra}]'"
    for info, name in zip(app.registered_commands, _command_names(app), strict=True):
        if name in wanted:
            info.rich_help_panel = info.rich_help_panel or panel
            _extra_of[id(app), name] = extra


def extra_of(app: typer.Typer, command: str) -> str | None:
    """The extra a command of ``app`` was marked with, if any."""
    return _extra_of.get((id(app), command))


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
        before = set(_command_names(app))
        try:
            register = ep.load()
            register(app)
        except Exception as exc:  # a broken plug-in must not take the CLI down
            warn(
                f"command plug-in {ep.name!r} ({ep.value}) not loaded: {type(exc).__name__}: {exc}"
            )
        else:
            loaded.append(ep.name)
            if ep.name in extras():
                added = set(_command_names(app)) - before
                mark_extra(app, added, ep.name, ep.name.capitalize())
    return loaded
