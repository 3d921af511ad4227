"""``energy-integral backfill`` / ``reconcile``: options become one bound CALL of the procedure."""

from __future__ import annotations

import inspect

import pytest
import typer
from typer.testing import CliRunner

from energy_integral_snowflake import commands
from energy_integral_snowflake.backfill import BACKFILL_ARGUMENTS, backfill
from energy_integral_snowflake.reconcile import RECONCILE_ARGUMENTS, reconcile


@pytest.fixture
def app() -> typer.Typer:
    app = typer.Typer()
    commands.register(app)
    return app


def test_backfill_dry_run_prints_the_bound_call(app: typer.Typer) -> None:
    args = ["backfill", "--dry-run", "--start", "2025-01-01", "--end", "2025-06-30",
            "-m", "meter-001", "-m", "meter-002", "--chunk-by-day", "--method", "left"]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert 'CALL "BACKFILL_READINGS"("METHOD" => ?, "START_TIME" => ?' in result.output
    assert "'left', '2025-01-01', '2025-06-30', 'meter-001,meter-002', True" in result.output


def test_reconcile_dry_run_and_a_bad_meter(app: typer.Typer) -> None:
    result = CliRunner().invoke(app, ["reconcile", "--dry-run", "--max-gap", "15min"])
    assert result.exit_code == 0, result.output
    assert 'CALL "RECONCILE_READINGS"("METHOD" => ?, "MAX_GAP" => ?' in result.output
    bad = CliRunner().invoke(app, ["backfill", "--dry-run", "-m", "a,b"])
    assert bad.exit_code == 2


@pytest.mark.parametrize(
    ("handler", "signature"), [(backfill, BACKFILL_ARGUMENTS), (reconcile, RECONCILE_ARGUMENTS)]
)
def test_procedure_signatures_match_the_handlers(handler: object, signature: tuple) -> None:
    parameters = list(inspect.signature(handler).parameters.values())  # type: ignore[arg-type]
    assert parameters[0].name == "session"
    assert [p.name.upper() for p in parameters[1:]] == [name for name, _, _ in signature]
    for p, (_, _, default) in zip(parameters[1:], signature, strict=True):
        sql = "NULL" if p.default is None else repr(p.default).upper() if isinstance(
            p.default, bool) else f"'{p.default}'"  # fmt: skip
        assert sql == default, p.name
