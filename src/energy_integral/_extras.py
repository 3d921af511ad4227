"""Which extra brings a missing optional package, said in one line.

The library needs only numpy and scipy; pandas, pyarrow, matplotlib, Snowpark
and the CLI's typer come with the extras declared in ``pyproject.toml``. When
one is missing, the caller gets one line naming what to install, read from the
installed package's own metadata so it never disagrees with ``pyproject.toml``::

    plot needs matplotlib, which is not installed: pip install 'energy-integral[plot]'

>>> hint = install_hint("a_module_no_extra_brings")
>>> hint
'pip install a-module-no-extra-brings'
"""

from __future__ import annotations

import importlib
import re
from functools import cache
from importlib import metadata
from types import ModuleType

from .errors import MissingExtraError

__all__ = [
    "DISTRIBUTION",
    "extra_installed",
    "extras",
    "install_hint",
    "library_of",
    "missing",
    "require",
]


def library_of(obj: object) -> str:
    """The top-level package ``obj``'s type comes from, naming a container without importing it.

    >>> import numpy as np
    >>> library_of(np.zeros(1)), library_of([])
    ('numpy', 'builtins')
    """
    return type(obj).__module__.split(".")[0]


#: The distribution whose extras are meant (``pip install 'energy-integral[cli]'``).
DISTRIBUTION = "energy-integral"
# Import names whose distribution is called otherwise.
_DISTRIBUTIONS = {"snowflake": "snowflake-snowpark-python", "yaml": "pyyaml"}
# When several extras bring a package, the first of these that does is named: the smallest.
_PREFERRED = ("plot", "cli", "frames", "snowflake", "demo", "notebook", "test", "docs", "lint")
_NAME = re.compile(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)")
_EXTRA = re.compile(r"""extra\s*==\s*['"]([^'"]+)['"]""")


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@cache
def extras() -> dict[str, frozenset[str]]:
    """Each extra of the installed ``energy-integral`` → the distributions it installs.

    Empty when the package is not installed (run from a source tree only).
    """
    try:
        requirements = metadata.requires(DISTRIBUTION) or []
    except metadata.PackageNotFoundError:
        return {}
    found: dict[str, set[str]] = {}
    for requirement in requirements:
        name, extra = _NAME.match(requirement), _EXTRA.search(requirement)
        if name is not None and extra is not None:
            found.setdefault(extra.group(1), set()).add(_normal(name.group(1)))
    return {extra: frozenset(names) for extra, names in found.items()}


def extra_installed(extra: str) -> bool:
    """True when every distribution that ``extra`` lists is installed."""
    for name in extras().get(extra, frozenset()):
        try:
            metadata.distribution(name)
        except metadata.PackageNotFoundError:
            return False
    return True


def install_hint(module: str, prefer: str | None = None) -> str:
    """The pip command that brings ``module``: the smallest extra listing it, ``prefer`` first.

    ``module`` is an import name (``matplotlib``, ``snowflake.snowpark``).
    """
    distribution = _normal(_DISTRIBUTIONS.get(module.split(".")[0], module.split(".")[0]))
    known = extras()
    order = ([prefer] if prefer else []) + [*_PREFERRED, *sorted(known)]
    for extra in order:
        if distribution in known.get(extra, frozenset()):
            return f"pip install '{DISTRIBUTION}[{extra}]'"
    return f"pip install {distribution}"


def missing(what: str, module: str, prefer: str | None = None) -> MissingExtraError:
    """The error to raise when ``what`` cannot import ``module``."""
    return MissingExtraError(
        f"{what} needs {module.split('.')[0]}, which is not installed: "
        f"{install_hint(module, prefer)}"
    )


def require(module: str, what: str, prefer: str | None = None) -> ModuleType:
    """Import ``module``, or raise :class:`MissingExtraError` naming the extra that brings it.

    An import that fails inside an installed package is not hidden: only a
    missing ``module`` (or a missing parent package of it) becomes the hint.
    """
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name is None or not (module + ".").startswith(exc.name + "."):
            raise
        raise missing(what, module, prefer) from None
