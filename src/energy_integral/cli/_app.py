"""The ``energy-integral`` application: its commands, ``--version`` and ``-h``, plug-ins marked.

Built only when typer is installed (the ``cli`` extra); :func:`energy_integral.cli.main`
reaches here through an import that, without typer, turns into a one-line hint.
A command that needs more than typer says which extra in ``--help``: its panel
is named after the extra, with the install command when that extra is missing.
"""

from __future__ import annotations

from typing import Annotated

import typer

from .. import __version__
from . import _generate, _integrate, _strategies
from ._plugins import load_plugins, mark_extra

__all__ = ["app", "load_plugins"]

app = typer.Typer(
    name="energy-integral",
    help="Power readings (kW) in, energy (kWh) out: integrate CSV/Parquet files per meter.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"energy-integral {__version__}")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option(
            "--version", "-V", is_eager=True, callback=_show_version, help="Print the version."
        ),
    ] = False,
) -> None:
    """Power readings (kW) in, energy (kWh) out: integrate CSV/Parquet files per meter."""


_integrate.register(app)
_generate.register(app)
_strategies.register(app)
# integrate and generate read and write files with pyarrow and pandas: the cli extra.
mark_extra(app, ["integrate", "generate"], "cli", "Files")
