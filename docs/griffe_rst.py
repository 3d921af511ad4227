"""A griffe extension for the API pages: the docstrings' reStructuredText roles as Markdown.

The docstrings follow numpydoc, whose formulas and cross-references are RST
(``:math:`E_k```, ``.. math::``, ``:func:`integrate```). mkdocstrings renders
docstrings as Markdown, where those would show literally; this rewrites them
when the docs are built — the source keeps its RST for ``help()`` and Sphinx
readers:

* ``:math:`x``` becomes ``$x$`` and a ``.. math::`` block ``$$ … $$`` (arithmatex
  hands both to MathJax);
* ``:func:``, ``:class:``, ``:meth:``, ``:mod:``, ``:data:``, ``:attr:`` and
  ``:exc:`` roles become inline code of the name as written (``~`` dropped).

>>> rst_to_markdown(r"The sum :math:`E_k` of :func:`~.state.combine`.")
'The sum $E_k$ of `.state.combine`.'
>>> print(rst_to_markdown("  .. math::\\n\\n      a = b\\n\\n  then"))
$$
a = b
$$
<BLANKLINE>
  then
>>> print(rst_to_markdown(".. math:: a =\\n          b\\n"))
$$
a =
b
$$
"""

from __future__ import annotations

import re
import textwrap
from typing import Any

import griffe

__all__ = ["RstRoles", "rst_to_markdown"]

_MATH_ROLE = re.compile(r":math:`([^`]+)`")  # may span lines
_NAME_ROLE = re.compile(r":(?:py:)?(?:func|class|meth|mod|data|attr|exc|obj):`~?([^`]+)`")
# ``.. math::`` with the formula on its line and/or on the more indented lines after it.
_MATH_BLOCK = re.compile(
    r"^([ \t]*)\.\. math::[ \t]*(.*\n)((?:\1[ \t]+\S.*\n|[ \t]*\n)*)", re.MULTILINE
)


def _math_block(match: re.Match[str]) -> str:
    # At column 0: arithmatex only sees a display block there (RST indents it in lists).
    lines = [match.group(2).strip(), textwrap.dedent(match.group(3)).strip("\n")]
    body = "\n".join(line for line in lines if line)
    return f"$$\n{body}\n$$\n\n"


def rst_to_markdown(text: str) -> str:
    """``text`` with the RST roles and ``.. math::`` blocks the API pages meet, as Markdown."""
    text = _MATH_BLOCK.sub(_math_block, text if text.endswith("\n") else text + "\n")
    text = _MATH_ROLE.sub(r"$\1$", text)
    return _NAME_ROLE.sub(r"`\1`", text).rstrip("\n")


class RstRoles(griffe.Extension):
    """Rewrite every docstring griffe loads (see the module docstring)."""

    def on_object(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = rst_to_markdown(obj.docstring.value)
