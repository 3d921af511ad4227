"""The ``energy-integral`` command: files in, energy out.

One module per command group (``integrate``, ``generate``, ``strategies``);
this one builds the application, loads plug-in commands and maps errors to
exit codes:

====  =====================================================================
code  meaning
====  =====================================================================
0     done
1     the data: rows were rejected and ``--strict`` was given, or a value
      in the file cannot be parsed
2     the call: unknown option or method, a column or file that does not
      exist, a bad unit or duration
====  =====================================================================

typer and rich are imported here and in this package only; the library never
imports them.
"""

from __future__ import annotations

import typer

from . import _generate, _integrate, _strategies
from ._plugins import load_plugins

__all__ = ["app", "load_plugins", "main"]

app = typer.Typer(
    name="energy-integral",
    help="Power readings (kW) in, energy (kWh) out: integrate CSV/Parquet files per meter.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)
_integrate.register(app)
_generate.register(app)
_strategies.register(app)


def main() -> None:
    """Console-script entry point: add the plug-in commands, then run."""
    load_plugins(app)
    app()
