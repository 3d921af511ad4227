"""The energy-integral command, run in-process on generated files."""

from __future__ import annotations

from importlib.metadata import EntryPoint
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

import energy_integral as ei
from energy_integral.cli import app, load_plugins
from energy_integral.synthetic import generate_readings

# Wide enough that rich wraps no message inside its error panel.
runner = CliRunner(env={"COLUMNS": "400"})


def _run(*args: str | Path) -> tuple[int, str, str]:
    result = runner.invoke(app, [str(a) for a in args])
    return result.exit_code, result.stdout, result.stderr


def _generated(tmp_path: Path, name: str, **kwargs: float) -> tuple[Path, ei.Readings]:
    path = tmp_path / name
    code, _, err = _run(
        "generate", path, "--meters", "3", "--periods", "120", "--seed", "4",
        *(x for k, v in kwargs.items() for x in (f"--{k.replace('_', '-')}", str(v))),
    )  # fmt: skip
    assert code == 0, err
    return path, generate_readings(3, periods=120, seed=4, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["r.csv", "r.parquet"])
def test_integrate_totals_match_the_library(tmp_path: Path, name: str) -> None:
    path, r = _generated(tmp_path, name, invalid_fraction=0.05)
    code, _, err = _run("integrate", path, "--out", tmp_path / "out.csv", "--chunk-rows", "50")
    assert code == 0, err
    out = pd.read_csv(tmp_path / "out.csv")
    whole = ei.integrate_meters(r.meter, r.timestamp, r.power)
    for meter, energy in zip(out["meter"], out["energy_kWh"], strict=True):
        assert energy == pytest.approx(whole.states[meter].energy, rel=1e-12)
    assert f"Rejected: {len(whole.rejected)} rows (invalid-power 18)" in err


def test_directory_of_parquet_files(tmp_path: Path) -> None:
    r = generate_readings(2, periods=90, seed=1)
    frame = r.to_pandas()
    (tmp_path / "parts").mkdir()
    for i in range(3):
        frame.iloc[60 * i : 60 * (i + 1)].to_parquet(tmp_path / "parts" / f"{i}.parquet")
    code, _, err = _run("integrate", tmp_path / "parts", "--out", tmp_path / "out.parquet")
    assert code == 0, err
    out = pd.read_parquet(tmp_path / "out.parquet")
    assert out["energy_kWh"].sum() == pytest.approx(
        ei.integrate_meters(r.meter, r.timestamp, r.power).total, rel=1e-12
    )


def test_terminal_table_and_rejected_count_always_printed(tmp_path: Path) -> None:
    path, _ = _generated(tmp_path, "r.csv")
    code, out, err = _run("integrate", path)
    assert code == 0
    assert "meter-000" in out
    assert "energy_kWh" in out
    assert "Rejected: 0 rows" in err


def test_single_series_without_a_meter_column(tmp_path: Path) -> None:
    path = tmp_path / "one.csv"
    path.write_text("TS,P\n2026-01-01T00:00,1000\n2026-01-01T00:30,3000\n")
    code, _, err = _run(
        "integrate", path, "--time", "TS", "--power", "P", "--power-unit", "W",
        "--out", tmp_path / "o.csv",
    )  # fmt: skip
    assert code == 0, err
    out = pd.read_csv(tmp_path / "o.csv")
    assert out["meter"].tolist() == ["default"]
    assert out["energy_kWh"].tolist() == [1.0]  # (1 + 3) / 2 kW for half an hour


def test_every_with_time_zone(tmp_path: Path) -> None:
    path = tmp_path / "day.csv"
    # Local midnight 29 March (UTC+1) to local midnight 30 March (UTC+2), hourly.
    hours = pd.date_range("2026-03-28T23:00", "2026-03-29T22:00", freq="1h")
    pd.DataFrame({"TIMESTAMP": hours, "KW": 1.0}).to_csv(path, index=False)
    code, _, err = _run(
        "integrate", path, "--every", "1D", "--tz", "Europe/Berlin", "--out", tmp_path / "d.parquet"
    )
    assert code == 0, err
    out = pd.read_parquet(tmp_path / "d.parquet")
    # The day daylight saving starts has 23 hours: 1 kW all day is 23 kWh; the
    # reading at the next local midnight opens the next day's bucket, empty so far.
    assert out["energy_kWh"].tolist() == [pytest.approx(23.0), 0.0]
    assert str(out["start"].dt.tz) == "Europe/Berlin"
    assert out["start"].iloc[0] == pd.Timestamp("2026-03-29T00:00", tz="Europe/Berlin")


def test_strict_exits_1_when_rows_are_rejected(tmp_path: Path) -> None:
    dirty, _ = _generated(tmp_path, "dirty.csv", duplicate_fraction=0.05)
    clean, _ = _generated(tmp_path, "clean.csv")
    assert _run("integrate", dirty)[0] == 0
    code, _, err = _run("integrate", dirty, "--strict")
    assert code == 1
    assert "Rejected: 18 rows (duplicate 18)" in err
    assert _run("integrate", clean, "--strict")[0] == 0


def test_rejected_rows_go_to_a_file(tmp_path: Path) -> None:
    path, r = _generated(tmp_path, "r.parquet", invalid_fraction=0.1)
    code, _, err = _run("integrate", path, "--rejected", tmp_path / "bad.csv", "--chunk-rows", "7")
    assert code == 0, err
    bad = pd.read_csv(tmp_path / "bad.csv")
    assert bad.columns.tolist() == ["row", "meter", "timestamp", "power", "reason", "detail"]
    assert bad["row"].tolist() == np.flatnonzero(~np.isfinite(r.power)).tolist()
    assert set(bad["reason"]) == {"invalid-power"}


def test_rejected_file_is_written_even_when_empty(tmp_path: Path) -> None:
    path, _ = _generated(tmp_path, "r.csv")
    assert _run("integrate", path, "--rejected", tmp_path / "bad.parquet")[0] == 0
    assert len(pd.read_parquet(tmp_path / "bad.parquet")) == 0


def test_missing_column_names_the_columns_that_exist(tmp_path: Path) -> None:
    path, _ = _generated(tmp_path, "r.csv")
    code, _, err = _run("integrate", path, "--power", "POWER")
    assert code == 2
    assert "power='POWER' is not a column" in err
    assert "METER_ID, TIMESTAMP, KW" in err


def test_unparseable_timestamp_names_the_row(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text("TIMESTAMP,KW\n2026-01-01T00:00,1\n2026-01-01T00:01,1\nlater,1\n")
    code, _, err = _run("integrate", path)
    assert code == 1
    assert "r.csv line 4 (row 2): time='TIMESTAMP' is 'later', not a timestamp" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--method", "simpson"], "not a registered strategy; known: trapezoid"),
        (["--power-unit", "hp"], "hp"),
        (["--max-gap", "soon"], "duration 'soon' is not understood"),
        (["--every", "1h", "--tz", "Mars/Olympus"], "Mars/Olympus"),
        (["--tz", "Europe/Berlin"], "needs --every"),
        (["--out", "result.xlsx"], "must end in .csv or .parquet"),
        (["--no-such-option"], "No such option"),
    ],
)
def test_usage_errors_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    path, _ = _generated(tmp_path, "r.csv")
    code, _, err = _run("integrate", path, *args)
    assert code == 2
    assert message in err


def test_missing_file_exits_2(tmp_path: Path) -> None:
    code, _, err = _run("integrate", tmp_path / "nothing.csv")
    assert code == 2
    assert "does not exist" in err


def test_generate_reports_bad_arguments(tmp_path: Path) -> None:
    code, _, err = _run("generate", tmp_path / "r.csv", "--late-fraction", "2")
    assert code == 2
    assert "late_fraction=2.0 must be in [0, 1)" in err


def test_strategies_lists_built_ins_and_third_party_ones() -> None:
    @ei.register_strategy("midpoint-test")
    class Midpoint(ei.Strategy):
        chunk_invariant = False

        def interval_energy(self, dt: np.ndarray, p0: np.ndarray, p1: np.ndarray) -> np.ndarray:
            return np.asarray(dt * (p0 + p1) / 2)

    try:
        code, out, _ = _run("strategies")
        assert code == 0
        lines = {line.split()[1]: line for line in out.splitlines() if "│" in line}
        assert {"trapezoid", "left", "right", "scipy", "midpoint-test"} <= set(lines)
        assert "yes" in lines["trapezoid"]
        assert " no " in lines["midpoint-test"]
        assert "built-in" not in lines["midpoint-test"]
    finally:
        ei.refresh_strategies()


def _register_hello(app: typer.Typer) -> None:
    @app.command("hello-test")
    def hello() -> None:
        print("hello from a plug-in")


def test_plugins_add_commands_and_a_broken_one_is_a_warning(
    capsys: pytest.CaptureFixture[str],
) -> None:
    local = typer.Typer()
    local.command("noop")(lambda: None)
    plugins = [
        EntryPoint("missing", "no_such_package.commands:register", "energy_integral.commands"),
        EntryPoint("hello", f"{__name__}:_register_hello", "energy_integral.commands"),
    ]
    assert load_plugins(local, plugins) == ["hello"]
    err = capsys.readouterr().err
    assert "command plug-in 'missing' (no_such_package.commands:register) not loaded" in err
    assert "ModuleNotFoundError" in err
    result = runner.invoke(local, ["hello-test"])
    assert result.exit_code == 0
    assert "hello from a plug-in" in result.stdout


def test_installed_plugins_load_without_crashing() -> None:
    fresh = typer.Typer()
    fresh.command("noop")(lambda: None)
    load_plugins(fresh)  # whatever is installed: loads, or warns
    assert load_plugins(fresh) == []  # and only once per app


def test_every_with_a_window_holds_the_last_reading_to_the_end(tmp_path: Path) -> None:
    """TimescaleDB Toolkit's LOCF case (extension/src/time_weighted_average.rs) from a file:
    (10 s, 1 W), (20 s, 2 W) held to 25 s is 20 J over 15 s, a mean of 4/3 W."""
    path = tmp_path / "r.csv"
    path.write_text("TIMESTAMP,KW\n2026-01-01T00:00:10,1\n2026-01-01T00:00:20,2\n")
    code, _, err = _run(
        "integrate", path, "--every", "1h", "--method", "left", "--power-unit", "W",
        "--energy-unit", "J", "--start", "2026-01-01T00:00:10", "--end",
        "2026-01-01T01:00:25+01:00", "--extrapolate", "locf", "--out", tmp_path / "o.csv",
    )  # fmt: skip
    assert code == 0, err
    out = pd.read_csv(tmp_path / "o.csv")
    assert out["energy_J"].tolist() == [20.0]
    assert out["mean_power_W"].tolist() == pytest.approx([4 / 3], rel=1e-12)
    assert out["extrapolated"].tolist() == pytest.approx([5 / 3600], rel=1e-12)
    assert {"energy_min_J", "energy_max_J", "covered", "samples"} <= set(out.columns)


def test_every_takes_steps_and_outages(tmp_path: Path) -> None:
    """InfluxQL's step (250 W·s) and Home Assistant's outage (1 + 2 kWh), from files."""
    steps = tmp_path / "steps.csv"
    rows = [(0, 20), (5, 10), (5, 30), (10, 40)]
    steps.write_text(
        "METER_ID,TIMESTAMP,KW\n" + "".join(f"a,2026-01-01T00:00:{s:02d},{p}\n" for s, p in rows)
    )
    code, _, err = _run(
        "integrate", steps, "--every", "1h", "--power-unit", "W", "--energy-unit", "J",
        "--on-duplicate", "step", "--out", tmp_path / "s.csv",
    )  # fmt: skip
    assert code == 0, err
    assert pd.read_csv(tmp_path / "s.csv")["energy_J"].tolist() == [250.0]
    outage = tmp_path / "outage.csv"
    outage.write_text(
        "TIMESTAMP,KW\n"
        + "".join(f"2026-01-01T0{h}:00,{p}\n" for h, p in enumerate(["1", "1", "", "2", "2"]))
    )  # fmt: skip
    code, _, err = _run(
        "integrate", outage, "--every", "1h", "--on-invalid", "gap", "--out", tmp_path / "g.csv",
        "--chunk-rows", "2",
    )  # fmt: skip
    assert code == 0, err
    assert pd.read_csv(tmp_path / "g.csv")["energy_kWh"].tolist() == [1.0, 0.0, 0.0, 2.0, 0.0]
    assert "invalid-power 1" in err


@pytest.mark.parametrize(
    ("args", "named", "says"),
    [
        (["--start", "2026-01-01"], "--start", "needs --every"),
        (["--every", "1h", "--extrapolate", "locf"], "--extrapolate", "needs --start or --end"),
        (["--every", "1h", "--end", "2026-01-01", "--extrapolate", "cubic"], "--extrapolate",
         "'cubic' is not one of locf, linear"),
        (["--every", "1h", "--start", "soon"], "--start", "'soon' is not a time"),
        (["--every", "1h", "--start", "2026-01-02", "--end", "2026-01-01"], "--end",
         "is not after --start"),
        (["--on-invalid", "skip"], "--on-invalid", "'skip' is not one of reject, gap"),
        (["--every", "1h", "--on-duplicate", "mean"], "--on-duplicate", "use reject, last or step"),
    ],
)  # fmt: skip
def test_window_and_policy_flags_are_checked_before_reading(
    tmp_path: Path, args: list[str], named: str, says: str
) -> None:
    code, _, err = _run("integrate", tmp_path / "missing.csv", *args)
    assert code == 2
    assert named in err
    assert says in err


# -- the terminal table -------------------------------------------------------------------
narrow = CliRunner(env={"COLUMNS": "80"})


def test_interval_table_fits_80_columns_and_says_what_it_left_out(tmp_path: Path) -> None:
    path, _ = _generated(tmp_path, "r.csv")
    result = narrow.invoke(app, ["integrate", str(path), "--every", "15min", "--tz",
                                 "Europe/Berlin"])  # fmt: skip
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert "…" not in "".join(line for line in lines if "│" in line)  # no cell cut short
    said = " ".join(result.stdout.split())
    hidden = said.partition("Not shown at 80 columns: ")[2].partition(";")[0].split(", ")
    assert hidden == ["end", "energy_min_kWh", "energy_max_kWh", "mean_power_kW",
                      "extrapolated", "largest_gap"]  # fmt: skip
    assert "energy_kWh" in lines[2] or any("energy_kWh" in line for line in lines)
    # Local wall-clock edges: Berlin is UTC+1 in January, the file starts at 00:00 UTC.
    assert "2026-01-01 01:00+0100" in result.stdout


def _table_rows(stdout: str) -> list[list[str]]:
    return [[cell.strip() for cell in line.split("│")[1:-1]] for line in stdout.splitlines()
            if line.startswith("│")]  # fmt: skip


def test_meters_are_sorted_and_each_number_column_has_one_precision(tmp_path: Path) -> None:
    frame = generate_readings(3, periods=30, seed=2).to_pandas()
    frame = frame.iloc[::-1].sort_values("TIMESTAMP", kind="stable")  # meter-002 comes first
    path = tmp_path / "r.csv"
    frame.to_csv(path, index=False)
    code, out, _ = _run("integrate", path)
    assert code == 0
    rows = _table_rows(out)
    assert [row[0] for row in rows] == ["meter-000", "meter-001", "meter-002"]
    decimals = {len(row[-1].partition(".")[2]) for row in rows}
    assert len(decimals) == 1  # e.g. 16.048 / 18.761 / -6.661, not 16.0482 / 18.761 / -6.66052
    code, _, _ = _run("integrate", path, "--out", tmp_path / "o.csv")
    assert pd.read_csv(tmp_path / "o.csv")["meter"].tolist() == [r[0] for r in rows]


def test_one_meter_is_not_one_meters(tmp_path: Path) -> None:
    path = tmp_path / "one.csv"
    assert _run("generate", path, "--meters", "1", "--periods", "5")[0] == 0
    code, _, err = _run("integrate", path)
    assert code == 0
    assert "from 1 meter:" in err


def test_help_explains_largest_gap() -> None:
    code, out, _ = _run("integrate", "--help")
    assert code == 0
    assert "0:00:00 without --max-gap" in " ".join(out.split()).replace("│ ", "")
