"""``energy-integral demo``: options, files, the final check and its exit codes."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from energy_integral_snowflake import commands, demo
from energy_integral_snowflake.demo import MeterCheck


@pytest.fixture
def app() -> typer.Typer:
    app = typer.Typer()
    commands.register(app)
    app.command("noop")(lambda: None)  # two commands, so "demo" stays a subcommand
    return app


def test_demo_writes_every_table_and_a_png(app: typer.Typer, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["demo", "--meters", "2", "--ticks", "3", "--seed", "3", "--out", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    assert "equal a one-shot integration" in result.output
    for name in ("random_values", "integral_sum_values", "stream_consumed_marker",
                 "quarantined_readings", "meter_state", "landed_readings"):  # fmt: skip
        assert (tmp_path / f"{name}.csv").exists(), name
    assert (tmp_path / "energy.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    marker = pd.read_csv(tmp_path / "stream_consumed_marker.csv")
    assert marker["STATUS"].tolist() == ["INTEGRATED"] * 3
    source = pd.read_csv(tmp_path / "random_values.csv")
    results = pd.read_csv(tmp_path / "integral_sum_values.csv")
    quarantine = pd.read_csv(tmp_path / "quarantined_readings.csv")
    assert len(results) + len(quarantine) == len(source)


def test_an_unknown_method_exits_2(app: typer.Typer) -> None:
    result = CliRunner().invoke(app, ["demo", "--method", "simpson"])
    assert result.exit_code == 2
    assert "simpson" in result.output


def test_a_mismatch_exits_1(app: typer.Typer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(demo, "check_against_oneshot", lambda *a, **k: [MeterCheck("m", 1.0, 2.0)])
    result = CliRunner().invoke(app, ["demo", "--meters", "1", "--ticks", "1"])
    assert result.exit_code == 1
    assert "DIFFERS" in result.output
