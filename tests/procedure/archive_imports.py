"""Import the procedures' handlers from built archives alone, as Snowflake's IMPORTS do."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path


def import_from_archives(
    archives: Sequence[Path], handlers: Sequence[str], cwd: Path
) -> tuple[list[str], str]:
    """Where each handler's module and ``energy_integral`` come from, with only ``archives``.

    A fresh interpreter puts the archives first on ``sys.path`` (as Snowflake's
    IMPORTS do), imports each ``module.function`` of ``handlers``, checks the
    function is callable and returns the modules' files and the library's file.
    """
    code = (
        "import sys; sys.path[:0] = sys.argv[1:]\n"
        "import importlib\n"
        f"for module_name, _, function_name in {[h.rpartition('.') for h in handlers]!r}:\n"
        "    m = importlib.import_module(module_name)\n"
        "    assert callable(getattr(m, function_name)), function_name\n"
        "    print(m.__file__)\n"
        "import energy_integral\n"
        "print(energy_integral.__file__)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, *map(str, archives)],
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
    )
    assert done.returncode == 0, done.stderr
    *handler_files, library_file = done.stdout.split()
    assert len(handler_files) == len(handlers), done.stdout
    return handler_files, library_file
