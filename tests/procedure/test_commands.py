"""``energy-integral demo``: options, files, the final check and its exit codes."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

import energy_integral as ei
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
    # The demo never reconciles: those tables are header-only, and the output says why.
    output = "".join(result.output.split())  # rich wraps long paths anywhere
    for name in ("resolved_readings", "reconciliation_audit"):
        assert len(pd.read_csv(tmp_path / f"{name}.csv")) == 0
        assert f"{name}.csv(headeronly:" in output
    assert "RECONCILE_READINGShasnotrun" in output
    assert "integral_sum_values.csv(headeronly" not in output


def test_the_png_draws_the_stored_results_a_line_per_meter(tmp_path: Path) -> None:
    run = demo.run_demo(meters=2, ticks=2, seed=3, out=tmp_path)
    assert run.ok
    png = next(w.path for w in run.files if w.path.suffix == ".png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_demo_out_without_matplotlib_writes_nothing(
    app: typer.Typer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(__import__("sys").modules, "matplotlib", None)
    monkeypatch.setitem(__import__("sys").modules, "matplotlib.figure", None)
    result = CliRunner().invoke(app, ["demo", "--meters", "1", "--ticks", "1", "--out",
                                      str(tmp_path / "out")])  # fmt: skip
    # The error the CLI's entry point turns into one line naming the extra, with exit 2.
    assert isinstance(result.exception, ei.MissingExtraError), result.output
    assert "energy-integral[plot]" in str(result.exception)
    assert result.output == ""  # no table drawn
    assert not (tmp_path / "out").exists()  # checked before any work


def test_an_unknown_method_exits_2(app: typer.Typer) -> None:
    result = CliRunner().invoke(app, ["demo", "--method", "simpson"])
    assert result.exit_code == 2
    assert "simpson" in result.output


def test_a_mismatch_exits_1(app: typer.Typer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(demo, "check_against_oneshot", lambda *a, **k: [MeterCheck("m", 1.0, 2.0)])
    result = CliRunner().invoke(app, ["demo", "--meters", "1", "--ticks", "1"])
    assert result.exit_code == 1
    assert "DIFFERS" in result.output
