"""The console script's entry point: --version, -h, and one line naming a missing extra."""

from __future__ import annotations

import subprocess
import sys

import pytest
import typer

import energy_integral as ei
from energy_integral import cli
from energy_integral.cli import _app, _plugins


def _main(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        cli.main(list(args))
        code = 0  # a command that returns normally
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize("flag", ["--version", "-V"])
def test_version(capsys: pytest.CaptureFixture[str], flag: str) -> None:
    assert _main(capsys, flag) == (0, f"energy-integral {ei.__version__}\n", "")


@pytest.mark.parametrize("args", [["-h"], ["--help"], ["integrate", "-h"], ["generate", "-h"]])
def test_short_and_long_help(capsys: pytest.CaptureFixture[str], args: list[str]) -> None:
    code, out, _ = _main(capsys, *args)
    assert code == 0
    assert "Usage: energy-integral" in out


def test_help_puts_commands_under_the_extra_they_need(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = _main(capsys, "--help")
    assert "Files (extra: cli)" in out


def test_a_command_whose_extra_is_missing_stops_before_it_starts(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli, "extra_installed", lambda extra: extra != "cli")
    code, out, err = _main(capsys, "generate", "never-written.csv")
    assert code == 2
    assert out == ""
    assert err == (
        "Error: energy-integral generate needs the cli extra, which is not installed: "
        "pip install 'energy-integral[cli]'\n"
    )


def _failing_app(module: str) -> typer.Typer:
    app = typer.Typer()
    app.command("noop")(lambda: None)

    @app.command("draw")
    def draw() -> None:
        raise ModuleNotFoundError(f"No module named {module!r}", name=module)

    return app


@pytest.mark.parametrize(
    ("module", "hint"),
    [
        ("matplotlib", "pip install 'energy-integral[plot]'"),
        ("no_such_module_here", "pip install no-such-module-here"),
    ],
)
def test_a_package_missing_mid_run_is_one_line_naming_its_extra(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, module: str, hint: str
) -> None:
    monkeypatch.setattr(_app, "app", _failing_app(module))
    monkeypatch.setattr(_plugins, "_loaded", {id(_app.app)})  # no plug-ins on this app
    code, _, err = _main(capsys, "draw")
    assert code == 2
    assert err == f"Error: energy-integral draw needs {module}, which is not installed: {hint}\n"


def _bare(*args: str) -> subprocess.CompletedProcess[str]:
    """The entry point with typer unimportable, as after a bare ``pip install``."""
    code = "import sys; sys.modules['typer'] = None\nfrom energy_integral.cli import main\nmain()"
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, check=False
    )


@pytest.mark.parametrize("args", [[], ["--help"], ["-h"]])
def test_bare_install_help_lists_the_commands_and_the_extra(args: list[str]) -> None:
    done = _bare(*args)
    assert done.returncode == 0
    assert "Commands (need the cli extra, not installed: pip install 'energy-integral[cli]')" in (
        done.stdout
    )
    for command in ("integrate", "generate", "strategies"):
        assert f"\n  {command} " in done.stdout


def test_bare_install_version_and_commands() -> None:
    assert _bare("--version").stdout == f"energy-integral {ei.__version__}\n"
    done = _bare("integrate", "r.csv")
    assert done.returncode == 2
    assert done.stderr == (
        "Error: energy-integral integrate needs typer, which is not installed: "
        "pip install 'energy-integral[cli]'\n"
    )
