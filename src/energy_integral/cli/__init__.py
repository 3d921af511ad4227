"""The ``energy-integral`` command: files in, energy out.

One module per command group (``integrate``, ``generate``, ``strategies``);
``_app`` builds the application and ``_plugins`` loads plug-in commands. This
module is the console script's entry point and imports neither typer nor
rich, so that a bare ``pip install energy-integral`` still answers
``--help`` and ``--version`` and says in one line which extra a command needs.
Exit codes:

====  =====================================================================
code  meaning
====  =====================================================================
0     done
1     the data: rows were rejected and ``--strict`` was given, or a value
      in the file cannot be parsed
2     the call: unknown option or method, a column or file that does not
      exist, a bad unit or duration; a package the command needs is not
      installed (the message names the extra)
====  =====================================================================

typer and rich are imported in this package only; the library never
imports them.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from importlib.metadata import entry_points
from typing import Any, NoReturn

from .. import __version__
from .._extras import DISTRIBUTION, extra_installed, install_hint
from ..errors import MissingExtraError

__all__ = ["ENTRY_POINT_GROUP", "app", "load_plugins", "main"]

_PROG = "energy-integral"
#: Where other packages add commands (see ``_plugins``); here, so a bare install can list them.
ENTRY_POINT_GROUP = "energy_integral.commands"
# The commands this package defines, shown by the bare install's --help.
_OWN_COMMANDS = {
    "integrate": "Integrate a readings file per meter: total energy, or energy per interval.",
    "generate": "Write synthetic kW readings to a CSV or Parquet file.",
    "strategies": "List the registered integration strategies.",
}


def __getattr__(name: str) -> Any:
    # The typer application is built on first use, so that importing the package needs no typer.
    if name in ("app", "load_plugins"):
        from . import _app

        return getattr(_app, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _error(message: str) -> NoReturn:
    print(f"Error: {message}", file=sys.stderr)
    raise SystemExit(2)


def _command(args: Sequence[str]) -> str | None:
    return next((a for a in args if not a.startswith("-")), None)


def _without_typer(args: Sequence[str], module: str) -> NoReturn:
    """The bare install: ``--version`` and ``--help`` answer, every command gets the hint."""
    if args and args[0] in ("--version", "-V"):
        print(f"{_PROG} {__version__}")
        raise SystemExit(0)
    hint = install_hint(module, prefer="cli")
    command = _command(args)
    plugins = sorted(ep.name for ep in entry_points(group=ENTRY_POINT_GROUP))
    if command is None or args[0] in ("--help", "-h"):
        print(f"Usage: {_PROG} [--version] [-h] COMMAND [ARGS]...\n")
        print("Power readings (kW) in, energy (kWh) out: integrate CSV/Parquet files per meter.\n")
        print(f"Commands (need the cli extra, not installed: {hint}):")
        for name, what in _OWN_COMMANDS.items():
            print(f"  {name:<12}{what}")
        for name in plugins:
            print(f"More commands with the {name} extra: pip install '{DISTRIBUTION}[{name}]'")
        raise SystemExit(0)
    if command not in _OWN_COMMANDS and plugins:  # perhaps a plug-in's: name its extra too
        hint += "".join(f"; the {name} commands: '{DISTRIBUTION}[{name}]'" for name in plugins)
    _error(f"{_PROG} {command} needs {module}, which is not installed: {hint}")


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point: add the plug-in commands, then run.

    A command that misses an optional package ends with one line naming the
    extra to install and exit code 2, never a traceback.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        from ._app import app
        from ._plugins import extra_of, load_plugins
    except ModuleNotFoundError as exc:
        module = (exc.name or "").split(".")[0]
        if module not in ("typer", "rich", "click"):
            raise
        _without_typer(args, module)
    load_plugins(app)
    command = _command(args)
    extra = extra_of(app, command) if command else None
    if extra is not None and not extra_installed(extra) and not {"-h", "--help"} & set(args):
        # Before the command starts: no half-drawn table, no file half written.
        _error(
            f"{_PROG} {command} needs the {extra} extra, which is not installed: "
            f"pip install '{DISTRIBUTION}[{extra}]'"
        )
    try:
        app(args=args, prog_name=_PROG)
    except MissingExtraError as exc:  # the library names the extra itself
        _error(str(exc))
    except ModuleNotFoundError as exc:
        if exc.name is None:
            raise
        what = f"{_PROG} {command}" if command else _PROG
        hint = install_hint(exc.name, prefer=extra)
        _error(f"{what} needs {exc.name.split('.')[0]}, which is not installed: {hint}")
