"""The built wheel in fresh virtual environments: bare, and with each extra alone.

Every command either works or ends with one line naming the extra to install
and exit code 2 — never a traceback. Slow (one pip install per extra), so
marked ``install`` and left out of a plain ``pytest`` run; ``.ci/run`` runs it
as its own step: ``python -m pytest -n 0 -m install tests/test_install.py``.
Needs network access to the package index (or a warm pip cache).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
VERSION = "0.1.0"

pytestmark = pytest.mark.install

# Which commands each install can run (what the extras in pyproject.toml promise):
# typer comes with cli, snowflake and demo; the file commands need pyarrow and pandas,
# which the snowflake extra brings through Snowpark's pandas extra.
TYPER = {"cli", "snowflake", "demo"}
FILES = {"cli", "snowflake", "demo"}
SNOWFLAKE = {"snowflake", "demo"}
PLOT = {"plot", "demo"}
EXTRAS = [None, "cli", "plot", "frames", "snowflake", "demo"]


def _run(*args: str | Path, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "MPLBACKEND": "Agg",
        "COLUMNS": "100",
        "POETRY_VIRTUALENVS_IN_PROJECT": "1",
    }
    env.pop("PYTHONPATH", None)  # the installed wheel, not a source tree
    env.pop("VIRTUAL_ENV", None)
    return subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True,
        timeout=timeout, check=False,
    )  # fmt: skip


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    done = _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", out, ROOT, cwd=out)
    assert done.returncode == 0, done.stderr
    (built,) = out.glob("energy_integral-*.whl")
    return built


def _install(wheel: Path, place: Path, extra: str | None) -> Path:
    venv.create(place / "venv", with_pip=True)
    python = place / "venv" / "bin" / "python"
    spec = f"{wheel}[{extra}]" if extra else str(wheel)
    done = _run(python, "-m", "pip", "install", "-q", "--disable-pip-version-check", spec,
                cwd=place, timeout=900)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return place / "venv" / "bin"


def _check(done: subprocess.CompletedProcess[str], works: bool, hint: str) -> None:
    """Worked (exit 0), or one line on stderr with the hint and exit 2, no traceback."""
    if works:
        assert done.returncode == 0, done.stdout + done.stderr
        return
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("Error: ")
    assert hint in lines[0], lines[0]


@pytest.mark.parametrize("extra", EXTRAS, ids=[e or "bare" for e in EXTRAS])
def test_every_command_works_or_names_its_extra(
    wheel: Path, tmp_path: Path, extra: str | None
) -> None:
    bin_ = _install(wheel, tmp_path, extra)
    cli = bin_ / "energy-integral"

    for flag in ("--version", "-V"):
        done = _run(cli, flag, cwd=tmp_path)
        assert (done.returncode, done.stdout.strip()) == (0, f"energy-integral {VERSION}")
    for flag in ("--help", "-h"):
        done = _run(cli, flag, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert "integrate" in done.stdout
        assert ("energy-integral[cli]" in done.stdout) == (extra not in TYPER)

    groups = [("typer", TYPER), ("files", FILES), ("snowflake", SNOWFLAKE), ("plot", PLOT)]
    has = {name: extra in group for name, group in groups}
    cli_hint = "pip install 'energy-integral[cli]'"
    sf_hint = "'energy-integral[snowflake]'"
    _check(_run(cli, "strategies", cwd=tmp_path), has["typer"], cli_hint)
    readings = tmp_path / "r.csv"
    _check(_run(cli, "generate", readings, "--meters", "2", cwd=tmp_path), has["files"], cli_hint)
    if not readings.exists():
        readings.write_text("METER_ID,TIMESTAMP,KW\nm,2026-01-01T00:00,1\nm,2026-01-01T01:00,3\n")
    _check(_run(cli, "integrate", readings, cwd=tmp_path), has["files"], cli_hint)
    _check(_run(cli, "integrate", readings, "--every", "15min", cwd=tmp_path), has["files"],
           cli_hint)  # fmt: skip
    demo = ("demo", "--meters", "2", "--ticks", "2")
    _check(_run(cli, *demo, cwd=tmp_path), has["snowflake"], sf_hint)
    out = tmp_path / "demo-out"
    done = _run(cli, *demo, "--out", out, cwd=tmp_path)
    if has["snowflake"]:
        _check(done, has["plot"], "pip install 'energy-integral[plot]'")
        assert (out / "energy.png").exists() == has["plot"]
    else:
        _check(done, False, sf_hint)
    for command in ("deploy", "backfill", "reconcile"):
        _check(_run(cli, command, "--dry-run", cwd=tmp_path), has["snowflake"], sf_hint)

    plot = (
        "import numpy as np, energy_integral as ei\n"
        "t = np.array(['2026-01-01T00:00', '2026-01-01T01:00'], dtype='datetime64[m]')\n"
        "try:\n    ei.plot(t, [1.0, 1.0]).savefig('p.png')\n"
        "except ei.MissingExtraError as exc:\n    raise SystemExit(f'Error: {exc}') from None\n"
    )
    done = _run(bin_ / "python", "-c", plot, cwd=tmp_path)
    if has["plot"]:
        assert done.returncode == 0, done.stderr
    else:
        assert done.stderr.strip() == (
            "Error: plot needs matplotlib, which is not installed: "
            "pip install 'energy-integral[plot]'"
        )


def _fresh_clone(tmp_path: Path) -> Path:
    """The repository's committed files, as a clone would have them."""
    files = _run("git", "ls-files", "-z", cwd=ROOT).stdout.split("\0")
    clone = tmp_path / "clone"
    for name in filter(None, files):
        if (ROOT / name).is_file():
            (clone / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, clone / name)
    return clone


def _tool(tmp_path: Path, name: str) -> Path:
    """``name`` pip-installed into a venv of its own, as a newcomer would."""
    bin_ = tmp_path / f"{name}-venv" / "bin"
    venv.create(bin_.parent, with_pip=True)
    done = _run(bin_ / "python", "-m", "pip", "install", "-q", name, cwd=tmp_path, timeout=600)
    assert done.returncode == 0, done.stderr
    return bin_ / name


def _demo_checks(done: subprocess.CompletedProcess[str]) -> None:
    assert done.returncode == 0, done.stdout + done.stderr
    assert "equal a one-shot integration" in done.stdout


def test_poetry_installs_the_demo_extra_and_runs_it(tmp_path: Path) -> None:
    clone, poetry = _fresh_clone(tmp_path), _tool(tmp_path, "poetry")
    env = ("-C", clone)
    done = _run(poetry, *env, "install", "--extras", "demo", cwd=clone, timeout=1200)
    assert done.returncode == 0, done.stdout + done.stderr
    _demo_checks(_run(poetry, *env, "run", "energy-integral", "demo", "--ticks", "2", cwd=clone))


def test_uv_syncs_the_demo_extra_and_runs_it(tmp_path: Path) -> None:
    clone, uv = _fresh_clone(tmp_path), _tool(tmp_path, "uv")
    done = _run(uv, "sync", "--extra", "demo", cwd=clone, timeout=1200)
    assert done.returncode == 0, done.stdout + done.stderr
    _demo_checks(_run(uv, "run", "energy-integral", "demo", "--ticks", "2", cwd=clone))
