"""Run everything in ``examples/`` and check its numbers against values derived here.

The notebook is executed with nbclient on the ``python3`` kernel (ipykernel,
this interpreter); the cells tagged in its metadata print the figures the
tests compare with hand-derived values or with plain numpy sums over the CSV
the notebook wrote. The scripts run in-process through ``runpy``.
"""

from __future__ import annotations

import re
import runpy
from pathlib import Path
from typing import Any

import nbformat
import numpy as np
import pandas as pd
import pytest
from nbclient import NotebookClient

import energy_integral as ei

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
NOTEBOOK = EXAMPLES / "energy_integral_tour.ipynb"


# -- plain numpy references ---------------------------------------------------------------
def _series(df: pd.DataFrame, meter: str) -> tuple[Any, Any]:
    """Hours since the first reading and power of one meter, in time order."""
    rows = df[df["METER_ID"] == meter].sort_values("TIMESTAMP")
    t = rows["TIMESTAMP"].to_numpy(dtype="datetime64[ns]").astype(np.int64)
    return (t - t[0]) / 3.6e12, rows["KW"].to_numpy(dtype=np.float64)


def _riemann(hours: Any, p: Any) -> dict[str, float]:
    dt = np.diff(hours)
    return {
        "left": float(np.sum(p[:-1] * dt)),
        "right": float(np.sum(p[1:] * dt)),
        "trapezoid": float(np.sum(0.5 * (p[:-1] + p[1:]) * dt)),
    }


def _positive_part(hours: Any, p: Any) -> float:
    """∫ max(p, 0) dt for p linear between samples: a trapezoid, or a triangle up to zero."""
    dt, p0, p1 = np.diff(hours), p[:-1], p[1:]
    total = 0.0
    for d, a, b in zip(dt, p0, p1, strict=True):
        if a >= 0 and b >= 0:
            total += 0.5 * (a + b) * d
        elif a > 0 or b > 0:  # one end positive, the other negative: the positive triangle
            top = max(a, b)
            total += 0.5 * top * d * top / (top - min(a, b))
    return total


# -- the notebook -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path]:
    """The notebook executed, and the CSV it wrote (in a temporary directory of its own)."""
    where = tmp_path_factory.mktemp("notebook")
    nb = nbformat.read(NOTEBOOK, as_version=4)  # type: ignore[no-untyped-call]
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TMPDIR", str(where))  # the kernel's tempfile.mkdtemp lands here
        # Raises CellExecutionError, naming the cell, when any cell (or its assert) fails.
        NotebookClient(
            nb, kernel_name="python3", timeout=120, resources={"metadata": {"path": str(where)}}
        ).execute()
    found = re.search(r"wrote (\S+readings\.csv)", _printed(nb, "load"))
    assert found is not None
    csv = Path(found[1])
    assert csv.parent.parent == where
    return nb, csv


def _printed(nb: Any, tag: str) -> str:
    cells = [c for c in nb.cells if tag in c.get("metadata", {}).get("tags", [])]
    assert len(cells) == 1, f"one cell tagged {tag!r} expected, found {len(cells)}"
    return "".join(o.get("text", "") for o in cells[0].outputs if o.output_type == "stream")


def _values(text: str, pattern: str) -> dict[str, float]:
    return {m[0]: float(m[1]) for m in re.findall(pattern, text)}


def test_the_notebook_is_stored_without_outputs() -> None:
    nb = nbformat.read(NOTEBOOK, as_version=4)  # type: ignore[no-untyped-call]
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code
    assert all(c.outputs == [] and c.execution_count is None for c in code)


def test_constant_power_gives_48_kwh_a_day_for_every_method(executed: tuple[Any, Path]) -> None:
    kwh = _values(_printed(executed[0], "constant-power"), r"(\w+): ([\d.]+) kWh")
    assert kwh == dict.fromkeys(ei.available_strategies(), 48.0)  # 2 kW x 24 h


def test_the_strategy_table_matches_riemann_sums_of_the_csv(executed: tuple[Any, Path]) -> None:
    nb, csv = executed
    df = pd.read_csv(csv, parse_dates=["TIMESTAMP"])
    expected = _riemann(*_series(df, "meter-000"))
    kwh = _values(_printed(nb, "strategies"), r"(\w+): ([\d.]+) kWh")
    assert set(kwh) == set(ei.available_strategies())
    for method in ("left", "right", "trapezoid"):
        assert kwh[method] == pytest.approx(expected[method], abs=6e-7)
    assert kwh["scipy"] == kwh["trapezoid"]
    assert kwh["left"] != kwh["right"]  # the day's data does distinguish them


def test_local_days_have_23_hours_when_clocks_spring_forward(executed: tuple[Any, Path]) -> None:
    text = _printed(executed[0], "local-days")
    rows = re.findall(r"(\d{4}-\d\d-\d\d): (\d+) h, covered ([\d.]+), ([\d.]+) kWh at 1 kW", text)
    days = {day: (int(h), float(kwh)) for day, h, _, kwh in rows}
    # Berlin midnights: 27 Mar 23:00 UTC, 28 Mar 23:00, 29 Mar 22:00 (CEST), 30 Mar 22:00.
    assert days["2026-03-28"] == (24, 24.0)
    assert days["2026-03-29"] == (23, 23.0)
    assert days["2026-03-30"] == (24, 24.0)


def test_import_and_export_are_the_positive_and_negative_areas(
    executed: tuple[Any, Path],
) -> None:
    nb, csv = executed
    df = pd.read_csv(csv, parse_dates=["TIMESTAMP"])
    hours, p = _series(df, "meter-002")
    text = _printed(nb, "import-export")
    found = re.search(r"imported ([\d.]+) kWh, exported ([\d.]+)", text)
    assert found is not None, text
    imported, exported = float(found[1]), float(found[2])
    assert imported == pytest.approx(_positive_part(hours, p), abs=6e-4)
    assert exported == pytest.approx(_positive_part(hours, -p), abs=6e-4)
    assert exported > 0  # the solar meter does export at midday


def test_rejected_rows_are_the_generators_duplicates_and_invalid_rows(
    executed: tuple[Any, Path],
) -> None:
    text = _printed(executed[0], "rejections")
    # 4 meters x 30 readings = 120; 5 % of them get a duplicate row, 5 % invalid power.
    assert "126 rows, 114 accepted" in text
    assert "{'duplicate': 6, 'invalid-power': 6}" in text


def test_batch_by_batch_equals_one_shot_and_numpy(executed: tuple[Any, Path]) -> None:
    nb, csv = executed
    df = pd.read_csv(csv, parse_dates=["TIMESTAMP"])
    text = _printed(nb, "batches")
    rows = re.findall(r"(meter-\d+): batches (-?[\d.]+) kWh, one-shot (-?[\d.]+) kWh", text)
    assert [m for m, _, _ in rows] == sorted(df["METER_ID"].unique())
    for meter, batches, oneshot in rows:
        assert batches == oneshot
        assert float(batches) == pytest.approx(_riemann(*_series(df, meter))["trapezoid"], abs=1e-8)


def test_the_notebook_draws_its_figures(executed: tuple[Any, Path]) -> None:
    images = [
        o for c in executed[0].cells if c.cell_type == "code" for o in c.get("outputs", [])
        if "image/png" in o.get("data", {})
    ]  # fmt: skip
    assert len(images) == 2  # power + cumulative, and the 15-minute bars


# -- the scripts --------------------------------------------------------------------------
def _script(name: str) -> dict[str, Any]:
    return runpy.run_path(str(EXAMPLES / name))


@pytest.fixture
def local_session() -> Any:
    from energy_integral_snowflake import embedded

    session = embedded.connect()
    embedded.setup(session)
    return session


def test_generate_random_data_inserts_what_the_generator_makes(local_session: Any) -> None:
    script = _script("generate_random_data.py")
    argv = ["--meters", "2", "--minutes", "3", "--seed", "4", "--duplicates", "0.1"]
    assert script["main"](argv, session=local_session) == 0
    table = local_session.table("RANDOM_VALUES").to_pandas().sort_values("ID")
    # 2 meters x 3 minutes x 6 readings = 36, plus round(0.1 x 36) = 4 duplicate rows.
    assert table["ID"].tolist() == list(range(1, 41))
    want = ei.generate_readings(
        2, start="2026-01-01T07:00", periods=18, cadence="10s", seed=4, duplicate_fraction=0.1
    )
    assert table["METER_ID"].tolist() == want.meter.tolist()
    assert (table["TIMESTAMP"].to_numpy(dtype="datetime64[ns]") == want.timestamp).all()
    assert table["KW"].tolist() == want.power.tolist()


def test_generate_random_data_connects_by_name(
    local_session: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from energy_integral_snowflake import deploy

    asked: list[str | None] = []

    def connect(name: str | None = None, **overrides: str | None) -> Any:
        asked.append(name)
        return local_session

    monkeypatch.setattr(deploy, "connect", connect)
    script = _script("generate_random_data.py")
    assert script["main"](["--meters", "1", "--minutes", "1", "--connection", "dev"]) == 0
    assert asked == ["dev"]
    assert "inserted 6 rows into RANDOM_VALUES; it holds 6" in capsys.readouterr().out


def test_generate_random_data_runs_on_local_testing_by_default(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert _script("generate_random_data.py")["main"](["--meters", "3", "--minutes", "1"]) == 0
    assert "inserted 18 rows into RANDOM_VALUES; it holds 18" in capsys.readouterr().out


def test_the_local_pipeline_ends_with_numpy_totals(local_session: Any) -> None:
    script = _script("run_pipeline_locally.py")
    assert script["run"](local_session, meters=2, seed=1) is True
    quarantine = local_session.table("QUARANTINED_READINGS").to_pandas()
    assert sorted(quarantine["REASON"]) == ["already-integrated", "duplicate", "late"]
    marker = local_session.table("STREAM_CONSUMED_MARKER").to_pandas()
    assert marker["STATUS"].tolist() == ["INTEGRATED", "INTEGRATED"]
    source = local_session.table("RANDOM_VALUES").to_pandas()
    accepted = source[~source["ID"].isin(quarantine["ID"])]
    results = local_session.table("INTEGRAL_SUM_VALUES").to_pandas()
    for meter in ("meter-000", "meter-001"):
        mine = results[results["METER_ID"] == meter].sort_values("TIMESTAMP")
        want = _riemann(*_series(accepted, meter))["trapezoid"]
        assert mine["CUMULATIVE_KWH"].iloc[-1] == pytest.approx(want, rel=1e-12)


def test_the_local_pipeline_script_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert _script("run_pipeline_locally.py")["main"](["--meters", "1", "--seed", "2"]) == 0
    out = capsys.readouterr().out
    assert "== 7." in out
    assert "DIFFERS" not in out


def test_integrate_csv_on_a_hand_made_file(tmp_path: Path) -> None:
    # a: 2 kW flat for two hours; b: a ramp 0 -> 4 kW, so 1 kWh then 3 kWh (trapezoid).
    rows = [
        ("a", "2026-06-01 00:00", 2.0), ("b", "2026-06-01 00:00", 0.0),
        ("a", "2026-06-01 00:30", 2.0), ("b", "2026-06-01 00:30", float("nan")),
        ("a", "2026-06-01 01:00", 2.0), ("b", "2026-06-01 01:00", 2.0),
        ("a", "2026-06-01 01:00", 9.0),  # a second row for a's 01:00, another power
        ("a", "2026-06-01 01:30", 2.0),
        ("a", "2026-06-01 02:00", 2.0), ("b", "2026-06-01 02:00", 4.0),
    ]  # fmt: skip
    csv = tmp_path / "in.csv"
    pd.DataFrame(rows, columns=["id", "time", "kw"]).to_csv(csv, index=False)
    out = tmp_path / "out"
    argv = [str(csv), "--out", str(out), "--meter", "id", "--time", "time", "--power", "kw"]
    assert _script("integrate_csv.py")["main"](argv) == 0
    meters = pd.read_csv(out / "meters.csv")
    assert meters[["meter", "kwh", "readings", "rejected"]].values.tolist() == [
        ["a", 4.0, 5, 1],
        ["b", 4.0, 3, 1],
    ]
    hourly = pd.read_csv(out / "hourly.csv")
    assert hourly.groupby("meter")["energy"].apply(list).to_dict() == {
        "a": [2.0, 2.0, 0.0],
        "b": [1.0, 3.0, 0.0],
    }
    rejected = pd.read_csv(out / "rejected.csv")
    assert sorted(zip(rejected["meter"], rejected["reason"], strict=True)) == [
        ("a", "duplicate"),
        ("b", "invalid-power"),
    ]


def test_integrate_csv_makes_a_sample_when_given_no_file(tmp_path: Path) -> None:
    assert _script("integrate_csv.py")["main"](["--out", str(tmp_path)]) == 0
    assert {p.name for p in tmp_path.iterdir()} == {
        "readings.csv", "meters.csv", "hourly.csv", "rejected.csv",
    }  # fmt: skip
    meters = pd.read_csv(tmp_path / "meters.csv")
    hourly = pd.read_csv(tmp_path / "hourly.csv")
    # Buckets split every interval, so per meter they add up to its total.
    sums = hourly.groupby("meter")["energy"].sum()
    assert meters.set_index("meter")["kwh"].to_dict() == pytest.approx(sums.to_dict(), rel=1e-12)
    # 3 meters x 289 readings: round(1 % of 867) = 9 invalid and 9 duplicate rows rejected.
    assert meters["rejected"].sum() == 18
