"""Snowflake's SQL as DuckDB runs it: parsed and written by sqlglot, with the fixes DuckDB needs.

sqlglot writes Snowflake's statements in DuckDB's dialect; what it leaves for
DuckDB to reject is fixed here, on the parsed tree: Snowflake's types
(``TIMESTAMP_NTZ(9)`` keeps nanoseconds: DuckDB's ``TIMESTAMP_NS``;
``NUMBER(p, 0)``: ``BIGINT``), ``FROM VALUES``'s column names ``COLUMN1, ...``,
``seq.NEXTVAL``, ``CREATE SEQUENCE``'s ``ORDER`` and ``COMMENT``, and
``MERGE``'s ``UPDATE SET`` without the target's qualifier. Two of the calls
:mod:`.emulation` answers — ``SYSTEM$STREAM_HAS_DATA`` and the
``TASK_HISTORY`` table function — are rewritten into queries of its tables.
"""

from __future__ import annotations

import functools
import re
from typing import Any, NamedTuple

import sqlglot
from sqlglot import exp

from .schema import quote_identifier

__all__ = ["STAGED_PREFIX", "Statement", "translate", "translated"]

#: The name of every view :meth:`~.embedded.EmbeddedSession.stage_rows` makes starts so.
STAGED_PREFIX = "__EI_STAGED_"
_STAGED_NAME, _ANY_STAGED = re.compile(rf'"{STAGED_PREFIX}\d+"'), f'"{STAGED_PREFIX}0"'


class Statement(NamedTuple):
    """A statement ready for DuckDB: its text, what kind it is, the tables it names."""

    sql: str
    kind: str  # "begin", "commit", "rollback", "dml" or "other"
    tables: frozenset[str]


def _duckdb_type(node: exp.DataType) -> exp.DataType | None:
    if node.this in (exp.DataType.Type.TIMESTAMPNTZ, exp.DataType.Type.TIMESTAMP):
        return exp.DataType.build("TIMESTAMP_NS", dialect="duckdb")
    if node.this == exp.DataType.Type.DECIMAL:
        params = [p.name for p in node.expressions]
        if len(params) < 2 or params[1] == "0":  # NUMBER, NUMBER(p), NUMBER(p, 0): integers
            return exp.DataType.build("BIGINT")
    return None


def _fix(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.DataType):
        return _duckdb_type(node) or node
    if (
        isinstance(node, exp.Values)
        and isinstance(node.parent, (exp.From, exp.Join))
        and not (node.alias_column_names)
    ):
        width = len(node.expressions[0].expressions) if node.expressions else 0
        columns = [exp.to_identifier(f"COLUMN{i}") for i in range(1, width + 1)]
        node.set("alias", exp.TableAlias(this=exp.to_identifier(node.alias or "_values"),
                                         columns=columns))  # fmt: skip
        return node
    if isinstance(node, exp.Column) and node.name.upper() == "NEXTVAL" and node.table:
        return exp.Anonymous(this="nextval", expressions=[exp.Literal.string(node.table)])
    if isinstance(node, exp.SequenceProperties):
        node.set("options", [])  # ORDER: DuckDB's sequences always increase, it has no word
    if isinstance(node, exp.Properties) and isinstance(node.parent, exp.Create):
        kept = [p for p in node.expressions if not isinstance(p, exp.SchemaCommentProperty)]
        node.set("expressions", kept)  # DuckDB's CREATE SEQUENCE takes no COMMENT
    if isinstance(node, exp.Update) and isinstance(node.parent, exp.When):
        for assignment in node.expressions:  # MERGE ... UPDATE SET t."KW" = ...: no qualifier
            if isinstance(assignment.this, exp.Column):
                assignment.this.set("table", None)
    return node


def _rewrite(tree: exp.Expression) -> exp.Expression:
    """``SYSTEM$STREAM_HAS_DATA`` and ``TASK_HISTORY`` in a parsed statement, for DuckDB."""

    def replace(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Anonymous) and node.name.upper() == "SYSTEM$STREAM_HAS_DATA":
            stream = node.expressions[0].name  # DuckDB resolves names case-insensitively
            return exp.Exists(this=sqlglot.parse_one(f"SELECT 1 FROM {quote_identifier(stream)}"))
        if isinstance(node, exp.TableFromRows):
            call = node.this.expression if isinstance(node.this, exp.Dot) else node.this
            if isinstance(call, exp.Anonymous) and call.name.upper() == "TASK_HISTORY":
                return _task_history(call, node.alias or "TASK_HISTORY")
        return node

    return tree.transform(replace)


def _task_history(call: exp.Anonymous, alias: str) -> exp.Expression:
    """The emulated ``TASK_HISTORY`` table function: the catalog's history rows, newest first."""
    options = {
        a.this.name.upper(): a.expression for a in call.expressions if isinstance(a, exp.Kwarg)
    }
    where = ""
    if "TASK_NAME" in options:
        task = options["TASK_NAME"].name.replace("'", "''")
        where = f"WHERE UPPER(\"NAME\") = UPPER('{task}')"
    limit = int(options["RESULT_LIMIT"].name) if "RESULT_LIMIT" in options else 100
    inner = (
        f'SELECT * FROM "__EI_TASK_HISTORY" {where} ORDER BY "SCHEDULED_TIME" DESC LIMIT {limit}'
    )
    query = sqlglot.parse_one(
        f"SELECT * FROM ({inner}) AS {quote_identifier(alias)}", read="duckdb"
    )
    table: exp.Expression = query.args["from_"].this
    return table


@functools.lru_cache(maxsize=1024)
def translate(text: str) -> Statement:
    """A Snowflake statement as DuckDB runs it (cached: the store repeats its statements).

    >>> translate('SELECT COLUMN1::TIMESTAMP_NTZ(9) AS "T" FROM VALUES (?)').sql
    'SELECT CAST(COLUMN1 AS TIMESTAMP_NS) AS "T" FROM (VALUES (?)) AS _values(COLUMN1)'
    """
    tree = sqlglot.parse_one(text, read="snowflake")
    kinds: dict[Any, str] = {
        exp.Transaction: "begin",
        exp.Commit: "commit",
        exp.Rollback: "rollback",
    }
    kind = kinds.get(type(tree))
    if kind is not None:
        return Statement({"begin": "BEGIN TRANSACTION"}.get(kind, kind.upper()), kind, frozenset())
    tree = _rewrite(tree.transform(_fix))
    dml = isinstance(tree, (exp.Insert, exp.Merge, exp.Update, exp.Delete))
    names = frozenset(t.name.upper() for t in tree.find_all(exp.Table))
    return Statement(tree.sql("duckdb"), "dml" if dml else "other", names)


def translated(text: str) -> Statement:
    """:func:`translate`, with one name standing for every staged view (a new one each batch)."""
    staged = set(_STAGED_NAME.findall(text))
    if len(staged) != 1:
        return translate(text)
    [name] = staged
    general, anyone = translate(text.replace(name, _ANY_STAGED)), _ANY_STAGED.strip('"')
    tables = frozenset(name.strip('"') if t == anyone else t for t in general.tables)
    return Statement(general.sql.replace(_ANY_STAGED, name), general.kind, tables)
