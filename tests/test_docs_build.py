"""The docs site builds with ``mkdocs build --strict``: no broken link, no missing API object."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


# Whether this interpreter has mkdocs (the docs extra), not whether some mkdocs is on PATH:
# the test runs `python -m mkdocs`, and the test extra alone does not bring it.
@pytest.mark.skipif(importlib.util.find_spec("mkdocs") is None, reason="mkdocs is not installed")
def test_docs_build_strict(tmp_path: Path) -> None:
    site = tmp_path / "site"
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    for page in ("index.html", "comparison/index.html", "api/index.html"):
        assert (site / page).is_file(), page
    # Formulas render offline: MathJax and its fonts ship with the site, no script is fetched.
    snowflake = (site / "snowflake" / "index.html").read_text(encoding="utf-8")
    assert re.search(r'<script src="[./]*javascripts/mathjax/tex-chtml\.js"', snowflake)
    assert not re.search(r'<script[^>]+src="(https?:)?//', snowflake)
    fonts = site / "javascripts" / "mathjax" / "output" / "chtml" / "fonts" / "woff-v2"
    assert any(fonts.glob("MathJax_Main-Regular.woff"))
    # The docstrings' RST roles reach the API pages as math and code (docs/griffe_rst.py).
    for page in sorted((site / "api").glob("*/index.html")):
        html = page.read_text(encoding="utf-8")
        assert not re.search(r":(math|func|class|meth|mod|data|attr):`|\.\. math::", html), page
    assert 'class="arithmatex">\\[' in (site / "api" / "integrate" / "index.html").read_text()
