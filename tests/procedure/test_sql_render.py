"""Splitting scripts into statements and renaming objects as tokens, never by text search."""

from __future__ import annotations

import re

import pytest
import sqlglot
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlglot import exp

from energy_integral_snowflake.schema import DEFAULT_NAMES, ObjectNames, tables
from energy_integral_snowflake.sql import (
    DEFAULT_STAGE,
    SCRIPTS,
    load,
    render,
    split_statements,
    statements,
)

identifiers = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,12}", fullmatch=True)
object_names = st.builds(
    ObjectNames,
    **{role: identifiers for role in ("source", "stream", "results", "marker", "state")},
    **{role: identifiers for role in ("quarantine", "landing", "procedure", "task")},
)

# Text that may hold ';' but cannot end a literal, identifier or comment early.
tricky = st.text(alphabet="ab ;-/*$\"'\n", max_size=12)


def _literal(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "''") + "'"


def _quoted(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


statement_bodies = st.one_of(
    tricky.map(lambda t: f"SELECT {_literal(t)} AS x"),
    tricky.map(lambda t: f"SELECT 1 AS {_quoted(t or 'y')}"),
    tricky.filter(lambda t: "$$" not in t).map(lambda t: f"SELECT $${t}$$"),
    st.just("CALL P()"),
)


@given(st.lists(statement_bodies, min_size=1, max_size=5), st.booleans())
def test_split_recovers_the_statements_joined(bodies: list[str], trailing: bool) -> None:
    comments = ["-- a; b\n", "/* ; */ "]
    script = ";\n".join(f"{comments[i % 2]}{b}" for i, b in enumerate(bodies))
    assert split_statements(script + (";" if trailing else "")) == bodies


def test_split_drops_comment_only_and_empty_statements() -> None:
    assert split_statements("-- nothing;\n;;  ;\n/* x; */") == []
    assert split_statements("SELECT 1; -- the end") == ["SELECT 1"]


@settings(max_examples=50)
@given(object_names, identifiers)
def test_render_puts_every_configured_name_in_place(names: ObjectNames, stage: str) -> None:
    setup = statements("setup", names, stage)
    created = {}
    for s in setup:
        tree = sqlglot.parse_one(s, read="snowflake")
        if isinstance(tree, exp.Create) and tree.kind == "TABLE":
            assert tree.this.this.args["this"].args.get("quoted")  # a quoted identifier
            created[tree.this.this.name] = [c.name for c in tree.this.expressions]
    assert created == {t.name: list(t.column_names) for t in tables(names)}
    text = "\n".join(" ".join(s.split()) for s in setup)
    stage_name = stage.upper()
    assert f'CREATE STAGE IF NOT EXISTS "{stage_name}"' in text
    assert f'CREATE STREAM IF NOT EXISTS "{names.stream}" ON TABLE "{names.source}"' in text
    assert f"SYSTEM$STREAM_HAS_DATA('{names.stream}')" in text
    assert f'AS CALL "{names.procedure}"()' in text
    assert f"'@{stage_name}/src.zip'" in text


@settings(max_examples=30)
@given(object_names, identifiers)
def test_render_leaves_no_default_name_outside_comments(names: ObjectNames, stage: str) -> None:
    defaults = {getattr(DEFAULT_NAMES, r) for r in vars(DEFAULT_NAMES)} | {DEFAULT_STAGE}
    # Only where a configured name happens to equal a default may the default remain.
    remaining = defaults - {getattr(names, r) for r in vars(names)} - {stage.upper()}
    for script in SCRIPTS:
        for s in statements(script, names, stage):
            words = set(re.findall(r"[A-Za-z_][A-Za-z0-9_$]*", s))
            assert not (remaining & words), (script, remaining & words)


def test_render_touches_only_names() -> None:
    sql = "SELECT 'RANDOM_VALUES_X', \"random_values\", RANDOM_VALUESX FROM t -- RANDOM_VALUES"
    assert render(sql, ObjectNames(source="other")) == sql
    assert render("select * from random_values", ObjectNames(source="other")) == (
        'select * from "OTHER"'
    )


def test_default_render_is_equivalent_to_the_file() -> None:
    # Quoted upper-case identifiers name the same objects as the file's unquoted ones.
    for script in SCRIPTS:
        plain = split_statements(load(script))
        rendered = statements(script)
        assert [s.replace('"', "") for s in rendered] == [s.replace('"', "") for s in plain]


@pytest.mark.parametrize("bad", ["1abc", "a b", 'x"; DROP TABLE t; --', "", "a-b"])
def test_bad_stage_name_is_rejected_naming_the_argument(bad: str) -> None:
    with pytest.raises(ValueError, match="stage="):
        statements("setup", stage=bad)


def test_unknown_script_is_rejected_with_the_choices() -> None:
    with pytest.raises(ValueError, match=r"script='setpu' is not one of \['setup'"):
        statements("setpu")
