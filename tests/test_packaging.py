"""pyproject.toml's extras hold what they promise, and the package exports what it means to."""

from __future__ import annotations

import re
import types
from pathlib import Path

import pytest

import energy_integral as ei

tomllib = pytest.importorskip("tomllib")  # Python 3.11+
ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
EXTRAS: dict[str, list[str]] = PROJECT["optional-dependencies"]


def _names(extra: str) -> set[str]:
    """The distributions an extra installs, by normalised name."""
    names = set()
    for requirement in EXTRAS[extra]:
        match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement)
        assert match, requirement
        names.add(re.sub(r"[-_.]+", "-", match.group(0)).lower())
    return names


@pytest.mark.parametrize("extra", sorted(EXTRAS))
def test_no_extra_names_the_project_itself(extra: str) -> None:
    """Poetry refuses 'energy-integral[...]' inside energy-integral's own extras."""
    assert "energy-integral" not in _names(extra)


@pytest.mark.parametrize(
    ("extra", "holds"),
    [
        ("demo", ["snowflake", "plot"]),
        ("test", ["cli", "plot", "frames", "snowflake"]),
        ("dev", [e for e in EXTRAS if e != "dev"]),
    ],
)
def test_an_extra_holds_the_extras_it_stands_for(extra: str, holds: list[str]) -> None:
    for other in holds:
        missing = _names(other) - _names(extra)
        assert not missing, f"{extra} lacks {other}'s {sorted(missing)}"


def test_the_same_package_has_one_requirement_everywhere() -> None:
    """An extra spelled out again must not drift from the original (a version, a marker)."""
    seen: dict[str, str] = {}
    for requirements in EXTRAS.values():
        for requirement in requirements:
            name = re.split(r"[\[<>=!~; ]", requirement, maxsplit=1)[0].lower()
            assert seen.setdefault(name, requirement) == requirement, (seen[name], requirement)


def test_the_package_exports_only_its_public_names() -> None:
    public = {
        name
        for name, value in vars(ei).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert "annotations" not in public
    assert public == set(ei.__all__) - {"__version__"}


def test_version_and_licence_agree_with_pyproject() -> None:
    assert ei.__version__ == PROJECT["version"]
    assert PROJECT["license"] == {"text": "Apache-2.0"}
    licence = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert "Apache License" in licence
    assert "Version 2.0, January 2004" in licence
    assert "END OF TERMS AND CONDITIONS" in licence
