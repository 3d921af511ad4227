"""Every number the docs site shows comes from running the code.

* Each ``pycon`` block of a page under ``docs/`` (``>>>`` prompts with their
  output) runs as a doctest; the blocks of one page share their names, in
  page order, so a page reads like one session.
* ``docs/examples/comparison.py`` computes the comparison page's example for
  every system; the numbers the page quotes are asserted here by hand-derived
  values, so neither the page nor the script can drift.
"""

from __future__ import annotations

import doctest
import importlib.util
import math
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
_PYCON = re.compile(r"^```pycon[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)
_FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def _pages_with_examples() -> list[Path]:
    return sorted(p for p in DOCS.rglob("*.md") if _PYCON.search(p.read_text(encoding="utf-8")))


@pytest.mark.parametrize("page", _pages_with_examples(), ids=lambda p: str(p.relative_to(DOCS)))
def test_page_examples_run_as_shown(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    # Keep line numbers meaningful in failure reports: blank out everything but the blocks.
    source = "\n\n".join(m.group(1) for m in _PYCON.finditer(text))
    test = doctest.DocTestParser().get_doctest(source, {}, page.name, str(page), 0)
    runner = doctest.DocTestRunner(optionflags=_FLAGS)
    runner.run(test, out=sys.stdout.write)
    assert runner.failures == 0, f"{runner.failures} example(s) on {page} differ from the code"
    assert runner.tries > 0


def _load_comparison() -> ModuleType:
    path = DOCS / "examples" / "comparison.py"
    spec = importlib.util.spec_from_file_location("docs_comparison", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being built
    spec.loader.exec_module(module)
    return module


# Each system's answer on the comparison example, derived by hand from the readings
# 00:00 2 kW, 00:30 4, 00:40 invalid, 00:50 4 | 01:10 2, 03:10 1, late 00:20 3 (kWh).
EXPECTED: dict[str, tuple[float, dict[int, float]]] = {
    # 1.5 + 4/3 (00:30-00:50 bridged) + 1 (00:50-01:10, split 7/12 | 5/12 at 01:00); gap 0
    "energy_integral": (23 / 6, {0: 1.5 + 4 / 3 + 7 / 12, 1: 5 / 12, 2: 0.0, 3: 0.0}),
    # 1.5 + 0 (both intervals touching 'unavailable') + 1 + 3 (silent 2 h at (2 + 1)/2 kW)
    "Home Assistant integral sensor": (5.5, {0: 1.5, 1: 1.0, 2: 0.0, 3: 3.0}),
    # late 00:20 included, NULL skipped: 5/6 + 7/12 + 4/3 + 1 + 3; buckets lose the crossings
    "TimescaleDB Toolkit time_weight": (27 / 4, {0: 11 / 4, 1: 0.0, 3: 0.0}),
    "InfluxDB Flux integral()": (27 / 4, {0: 11 / 4, 1: 0.0, 3: 0.0}),
    # right Riemann: 4·0.5 + 4·(1/3) + 2·(1/3); 2 h is not < 7200 s; late: elapsed < 0
    "emoncms power_to_kwh": (4.0, {0: 2 + 4 / 3, 1: 2 / 3, 3: 0.0}),
    # 1.5 in the first delivery; the second starts at the late 00:20 row: 25/12 + 3
    "Snowflake LAG() per delivery": (1.5 + 25 / 12 + 3, {0: 1.5, 1: 25 / 12, 3: 3.0}),
}


@pytest.fixture(scope="module")
def comparison() -> ModuleType:
    return _load_comparison()


@pytest.mark.parametrize("system", sorted(EXPECTED))
def test_comparison_numbers_match_hand_derivation(comparison: ModuleType, system: str) -> None:
    out = comparison.SYSTEMS[system]()
    total, hourly = EXPECTED[system]
    assert out.total == pytest.approx(total, rel=1e-12)
    assert out.hourly.keys() == hourly.keys()
    for hour, energy in hourly.items():
        assert out.hourly[hour] == pytest.approx(energy, rel=1e-12, abs=1e-12), hour


def test_comparison_scipy_is_poisoned_by_the_nan(comparison: ModuleType) -> None:
    assert math.isnan(comparison.SYSTEMS["scipy cumulative_trapezoid"]().total)


def test_comparison_reports_what_ours_rejects(comparison: ModuleType) -> None:
    assert comparison.rejected_by_ours() == {"invalid-power": 1, "late": 1}


def test_comparison_page_shows_the_scripts_table(comparison: ModuleType) -> None:
    page = (DOCS / "comparison.md").read_text(encoding="utf-8")
    assert comparison.table() in page, "regenerate: python docs/examples/comparison.py"


def _cli_sections() -> dict[str, set[str]]:
    """Options the CLI page documents, per ``## command`` section."""
    text = (DOCS / "cli.md").read_text(encoding="utf-8")
    sections: dict[str, set[str]] = {}
    for block in re.split(r"^## ", text, flags=re.MULTILINE)[1:]:
        name, _, body = block.partition("\n")
        sections[name.strip()] = set(re.findall(r"`(--[a-z][a-z-]*)", body))
    return sections


_COMMANDS = ["integrate", "generate", "demo", "deploy", "backfill", "reconcile"]


def _command_options(command: str) -> tuple[set[str], set[str]]:
    """Every spelling of the command's options, and its main ones (no ``--help``, no ``--no-x``)."""
    cli = pytest.importorskip("energy_integral.cli")
    typer_main = pytest.importorskip("typer.main")
    cli.load_plugins(cli.app)  # the Snowflake adapter adds its commands through an entry point
    group = typer_main.get_command(cli.app)
    cmd = group.commands.get(command)  # type: ignore[attr-defined]
    if cmd is None:
        pytest.skip(f"{command} is not registered (its adapter is not installed)")
    spellings = {opt for p in cmd.params for opt in (*p.opts, *p.secondary_opts)}
    main = {opt for p in cmd.params for opt in p.opts if opt.startswith("--")} - {"--help"}
    return spellings, main


@pytest.mark.parametrize("command", _COMMANDS)
def test_cli_page_options_exist(command: str) -> None:
    existing, _ = _command_options(command)
    documented = _cli_sections()[command]
    assert documented, f"the CLI page documents no option of {command}"
    assert documented <= existing, f"documented but missing: {documented - existing}"


@pytest.mark.parametrize("command", _COMMANDS)
def test_cli_page_documents_every_option(command: str) -> None:
    _, options = _command_options(command)
    missing = options - _cli_sections()[command]
    assert not missing, f"options of {command} missing from docs/cli.md: {sorted(missing)}"


def test_cli_page_has_a_section_per_command() -> None:
    assert set(_COMMANDS) | {"strategies"} <= set(_cli_sections())
