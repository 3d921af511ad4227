"""``energy-integral strategies``: what ``--method`` accepts, plug-ins included."""

from __future__ import annotations

import typer
from rich.table import Table

from ..registry import available_strategies, get_strategy
from ._output import out_console

__all__ = ["register", "strategies"]


def strategies() -> None:
    """List the registered integration strategies, including third-party ones."""
    table = Table(title="Integration strategies (--method)", title_justify="left")
    for column in ("name", "chunk-invariant", "source", "class"):
        table.add_column(column)
    for name in available_strategies():
        strategy = get_strategy(name)
        module = type(strategy).__module__
        # Registered classes and functions come wrapped by the registry: no module to show.
        if module == "energy_integral.strategies":
            source = "built-in"
        elif module.split(".")[0] == "energy_integral":
            source = "registered"
        else:
            source = module
        invariant = "yes" if strategy.chunk_invariant else "no"
        table.add_row(name, invariant, source, type(strategy).__name__)
    out_console.print(table)


def register(app: typer.Typer) -> None:
    """Add the ``strategies`` command to ``app``."""
    app.command("strategies")(strategies)
