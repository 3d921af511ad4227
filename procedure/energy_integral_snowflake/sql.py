"""The procedure's SQL scripts, split into statements, with configurable object names.

The scripts in ``procedure/sql/`` are written with the default names
(:data:`~energy_integral_snowflake.schema.DEFAULT_NAMES` and
:data:`DEFAULT_STAGE`) so they run as they are in a worksheet or with
``snow sql -f``. :func:`render` swaps those names for configured ones by
rewriting *tokens*, never by string formatting: an identifier becomes a quoted
identifier, and a string literal that names an object (``'RANDOM_VALUES_STREAM'``
in ``SYSTEM$STREAM_HAS_DATA``, ``'@STAGE/src.zip'`` in ``IMPORTS``) becomes the
literal of the new name. Comments and all other literals are left alone, and
every new name is first checked to be a plain identifier.

>>> from energy_integral_snowflake.schema import ObjectNames
>>> render("CALL INTEGRATE_STREAM(); -- INTEGRATE_STREAM", ObjectNames(procedure="my_proc"))
'CALL "MY_PROC"(); -- INTEGRATE_STREAM'
>>> split_statements("SELECT ';' AS x; -- done\\nSELECT 2;")
["SELECT ';' AS x", 'SELECT 2']
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path

from .schema import DEFAULT_NAMES, ObjectNames, _check_identifier, quote_identifier

__all__ = [
    "DEFAULT_STAGE",
    "NAME_PATTERN",
    "SCRIPTS",
    "identifier_name",
    "like_matcher",
    "literal_text",
    "load",
    "properties",
    "render",
    "script_path",
    "split_statements",
    "split_top_level",
    "statements",
    "words",
]

#: The scripts shipped with the adapter, by name (file ``<name>.sql``).
SCRIPTS = ("setup", "show_all", "task_manager", "teardown")

#: The stage the procedure's archives are uploaded to.
DEFAULT_STAGE = "ENERGY_INTEGRAL_STAGE"

# One alternative per lexical element that can hide a ';' or a name. Order matters:
# comments and literals are consumed whole before a word could match inside them.
_TOKEN = re.compile(
    r"""
    (?P<comment>--[^\n]*|/\*.*?\*/)
  | (?P<string>'(?:[^'\\]|\\.|'')*')
  | (?P<dollar>\$\$.*?\$\$)
  | (?P<quoted>"(?:[^"]|"")*")
  | (?P<word>[A-Za-z_][A-Za-z0-9_$]*)
  | (?P<semicolon>;)
    """,
    re.DOTALL | re.VERBOSE,
)


def _sql_dirs() -> tuple[Path, ...]:
    here = Path(__file__).resolve().parent
    # Installed from a wheel the scripts sit inside the package; in the source tree
    # (editable installs, the CLI's procedure.zip) they are its sibling procedure/sql.
    return (here / "sql", here.parent / "sql")


def script_path(script: str) -> Path:
    """The file of ``script`` (one of :data:`SCRIPTS`)."""
    if script not in SCRIPTS:
        raise ValueError(f"script={script!r} is not one of {list(SCRIPTS)}")
    for directory in _sql_dirs():
        path = directory / f"{script}.sql"
        if path.is_file():
            return path
    searched = ", ".join(str(d) for d in _sql_dirs())
    raise FileNotFoundError(f"{script}.sql is in none of: {searched}")


def load(script: str) -> str:
    """The text of ``script`` (one of :data:`SCRIPTS`) with the default names."""
    return script_path(script).read_text(encoding="utf-8")


def split_statements(sql: str) -> list[str]:
    """The statements of ``sql``, without comments, terminators or empty ones.

    A ``;`` ends a statement only outside string literals, quoted identifiers,
    ``$$`` blocks and comments. A comment on a line of its own goes with its line;
    one after code is dropped with the spaces before it. Nothing inside a literal
    changes.
    """
    out: list[str] = []
    current = ""
    position = 0
    for match in _TOKEN.finditer(sql):
        current += sql[position : match.start()]
        position = match.end()
        kind = match.lastgroup
        if kind == "semicolon":
            out.append(current)
            current = ""
        elif kind == "comment":
            line_start = current.rfind("\n") + 1
            if current[line_start:].strip():
                current = current.rstrip(" \t") + ("" if match.group().startswith("--") else " ")
            else:
                current = current[:line_start]
                position += sql.startswith("\n", position)
        else:
            current += match.group()
    out.append(current + sql[position:])
    return [s.strip() for s in out if s.strip()]


def _literal(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "''") + "'"


def _replacer(names: ObjectNames, stage: str) -> Callable[[re.Match[str]], str]:
    mapping = {getattr(DEFAULT_NAMES, f.name): getattr(names, f.name) for f in fields(names)}
    mapping[DEFAULT_STAGE] = _check_identifier("stage", stage)

    def replace(match: re.Match[str]) -> str:
        kind, token = match.lastgroup, match.group()
        if kind == "word" and token.upper() in mapping:
            return quote_identifier(mapping[token.upper()])
        if kind == "quoted" and token[1:-1] in mapping:
            return quote_identifier(mapping[token[1:-1]])
        if kind == "string":
            content = token[1:-1]
            if content.upper() in mapping:
                return _literal(mapping[content.upper()])
            head, sep, rest = content.partition("/")
            if sep and head.startswith("@") and head[1:].upper() in mapping:
                return _literal(f"@{mapping[head[1:].upper()]}/{rest}")
        return token

    return replace


def render(sql: str, names: ObjectNames = DEFAULT_NAMES, stage: str = DEFAULT_STAGE) -> str:
    """``sql`` with every default object name replaced by the one in ``names``/``stage``.

    Parameters
    ----------
    sql : str
        SQL written with the default names.
    names : ObjectNames, optional
        The configured object names (validated plain identifiers).
    stage : str, optional
        The stage holding the procedure's archives.

    Returns
    -------
    str
        The same SQL; object names are quoted identifiers, or string literals where
        the original named the object in a literal.
    """
    return _TOKEN.sub(_replacer(names, stage), sql)


def statements(
    script: str, names: ObjectNames = DEFAULT_NAMES, stage: str = DEFAULT_STAGE
) -> list[str]:
    """The statements of ``script`` rendered with ``names`` and ``stage``, in order.

    >>> [s.split()[0:3] for s in statements("task_manager")][:2]
    [['ALTER', 'TASK', '"INTEGRATE_STREAM_TASK"'], ['ALTER', 'TASK', '"INTEGRATE_STREAM_TASK"']]
    """
    return split_statements(render(load(script), names, stage))


# -- reading statements that no parser knows (the embedded engine's emulation) ------------
#: A bare or a quoted identifier, as a regular expression group.
NAME_PATTERN = r'("(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)'


def identifier_name(token: str) -> str:
    """An identifier as Snowflake resolves it: a bare one upper-cased, a quoted one as written.

    >>> identifier_name("my_task"), identifier_name('"my_task"')
    ('MY_TASK', 'my_task')
    """
    return token[1:-1].replace('""', '"') if token.startswith('"') else token.upper()


def literal_text(token: str) -> str:
    """The text of a string literal ``'...'``."""
    return token[1:-1].replace("''", "'")


def like_matcher(pattern: str | None) -> Callable[[str], bool]:
    """``SHOW ... LIKE 'pattern'``: case-insensitive, ``%`` and ``_`` as wildcards.

    >>> like_matcher("'INTEGRATE_%'")("integrate_stream_task")
    True
    """
    if pattern is None:
        return lambda name: True
    regex = "".join(
        ".*" if c == "%" else "." if c == "_" else re.escape(c) for c in literal_text(pattern)
    )
    return lambda name: re.fullmatch(regex, name, re.IGNORECASE) is not None


def words(sql: str) -> list[tuple[str, int]]:
    """Each bare word of ``sql`` outside literals and quoted names (upper-cased), and where."""
    return [(m.group().upper(), m.start()) for m in _TOKEN.finditer(sql) if m.lastgroup == "word"]


def properties(sql: str) -> dict[str, str]:
    """The ``NAME = value`` options of a statement (literals unquoted), by upper-case name.

    >>> properties("SCHEDULE = '1 MINUTE' SUSPEND_TASK_AFTER_NUM_FAILURES = 5")
    {'SCHEDULE': '1 MINUTE', 'SUSPEND_TASK_AFTER_NUM_FAILURES': '5'}
    """
    found = re.findall(r"([A-Za-z_]+)\s*=\s*('(?:[^']|'')*'|[^\s,()]+)", sql)
    return {k.upper(): literal_text(v) if v.startswith("'") else v for k, v in found}


def split_top_level(sql: str) -> list[str]:
    """``sql`` split on commas outside parentheses, literals and quoted names.

    >>> split_top_level("A VARCHAR DEFAULT 'x,y', B NUMBER(38,0)")
    ["A VARCHAR DEFAULT 'x,y'", 'B NUMBER(38,0)']
    """
    parts, depth, current = [], 0, ""
    for token in re.findall(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|[(),]|[^'\"(),]+", sql):
        if token == "," and depth == 0:
            parts.append(current)
            current = ""
            continue
        depth += (token == "(") - (token == ")")
        current += token
    return [p.strip() for p in [*parts, current] if p.strip()]
