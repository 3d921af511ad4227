"""The packaged SQL scripts: they parse, their DDL is schema.py's, and each touches what it must.

sqlglot parses table DDL, CREATE PROCEDURE and queries into trees we compare
with the schema; CREATE STREAM, CREATE/ALTER/EXECUTE TASK, SHOW and CALL come
back as raw ``exp.Command`` text, checked for the objects they must name.
"""

from __future__ import annotations

import re

import pytest
import sqlglot
from sqlglot import exp

from energy_integral_snowflake import deploy
from energy_integral_snowflake.deploy import PROCEDURES, Procedure
from energy_integral_snowflake.schema import DEFAULT_NAMES, Table, tables
from energy_integral_snowflake.sql import DEFAULT_STAGE, SCRIPTS, load, split_statements

N = DEFAULT_NAMES


def _parse(statement: str) -> exp.Expression:
    parsed = sqlglot.parse(statement, read="snowflake", error_level=sqlglot.ErrorLevel.RAISE)
    assert len(parsed) == 1, statement
    assert parsed[0] is not None, statement
    return parsed[0]


def _statements(script: str) -> list[str]:
    return split_statements(load(script))


def _flat(statement: str) -> str:
    return " ".join(statement.split())


def _commands(script: str) -> list[str]:
    return [_flat(s) for s in _statements(script) if isinstance(_parse(s), exp.Command)]


def _canonical_type(sql_type: str) -> str:
    # Synonyms (NUMBER/DECIMAL, FLOAT/DOUBLE, TIMESTAMP_NTZ/TIMESTAMPNTZ) map to one form.
    return exp.DataType.build(sql_type, dialect="snowflake").sql("snowflake")


def _created_tables() -> dict[str, exp.Create]:
    out = {}
    for statement in _statements("setup"):
        tree = _parse(statement)
        if isinstance(tree, exp.Create) and tree.kind == "TABLE":
            out[tree.this.this.name] = tree
    return out


@pytest.mark.parametrize("script", SCRIPTS)
def test_every_statement_parses_as_snowflake_sql(script: str) -> None:
    statements = _statements(script)
    assert statements, f"{script}.sql has no statements"
    for statement in statements:
        _parse(statement)


def test_setup_creates_exactly_the_schema_tables() -> None:
    assert sorted(_created_tables()) == sorted(t.name for t in tables())


@pytest.mark.parametrize("table", list(tables()), ids=lambda t: t.name)
def test_table_ddl_matches_schema(table: Table) -> None:
    create = _created_tables()[table.name]
    # IF NOT EXISTS, never OR REPLACE: a re-run must not drop readings or results.
    assert create.args.get("exists")
    assert not create.args.get("replace")
    defs = [c for c in create.this.expressions if isinstance(c, exp.ColumnDef)]
    assert [d.name for d in defs] == list(table.column_names)
    for column_def, column in zip(defs, table.columns, strict=True):
        where = f"{table.name}.{column.name}"
        assert column_def.args["kind"].sql("snowflake") == _canonical_type(column.sql_type), where
        constraints = [c.args["kind"] for c in column_def.constraints]
        not_null = [k for k in constraints if isinstance(k, exp.NotNullColumnConstraint)]
        assert bool(not_null) == (not column.nullable), where
        defaults = [
            k.this.sql("snowflake")
            for k in constraints
            if isinstance(k, exp.DefaultColumnConstraint)
        ]
        assert defaults == ([] if column.default is None else [column.default]), where


def test_setup_order_creates_dependencies_first() -> None:
    firsts = [_flat(s) for s in _statements("setup")]

    def position(pattern: str) -> int:
        hits = [i for i, s in enumerate(firsts) if re.match(pattern, s)]
        assert len(hits) == 1, pattern
        return hits[0]

    stage = position(rf"CREATE STAGE IF NOT EXISTS {DEFAULT_STAGE}\b")
    source = position(rf"CREATE TABLE IF NOT EXISTS {N.source} ")
    stream = position(rf"CREATE STREAM IF NOT EXISTS {N.stream} ON TABLE {N.source}\b")
    proc = position(rf"CREATE OR REPLACE PROCEDURE {N.procedure}\(")
    task = position(rf"CREATE OR REPLACE TASK {N.task}\b")
    assert stage < proc
    assert source < stream < task
    assert proc < task


def test_task_is_serverless_every_minute_when_the_stream_has_data() -> None:
    [task] = [c for c in _commands("setup") if c.startswith("CREATE OR REPLACE TASK")]
    assert task.startswith(f"CREATE OR REPLACE TASK {N.task} ")
    assert "USER_TASK_MANAGED_INITIAL_WAREHOUSE_SIZE = 'XSMALL'" in task
    assert not re.search(r"\bWAREHOUSE\s*=", task)  # serverless: no warehouse at all
    assert "SCHEDULE = '1 MINUTE'" in task
    assert "OVERLAP_POLICY = NO_OVERLAP" in task
    assert "ALLOW_OVERLAPPING_EXECUTION" not in task  # deprecated by OVERLAP_POLICY
    failures = re.search(r"SUSPEND_TASK_AFTER_NUM_FAILURES = (\d+)", task)
    assert failures
    assert int(failures.group(1)) >= 1
    assert f"WHEN SYSTEM$STREAM_HAS_DATA('{N.stream}') AS CALL {N.procedure}()" in task
    assert task.endswith(f"AS CALL {N.procedure}()")


def test_stream_is_standard_and_never_replaced() -> None:
    [stream] = [c for c in _commands("setup") if c.startswith("CREATE") and " STREAM " in c]
    # Replacing a stream resets its offset; APPEND_ONLY would hide corrections.
    assert stream.startswith(f"CREATE STREAM IF NOT EXISTS {N.stream} ON TABLE {N.source}")
    assert "APPEND_ONLY" not in stream
    assert "OR REPLACE" not in stream


def _created_procedures() -> dict[str, str]:
    out = {}
    for statement in _statements("setup"):
        tree = _parse(statement)
        if isinstance(tree, exp.Create) and tree.kind == "PROCEDURE":
            out[tree.this.this.name] = statement
    return out


def test_setup_creates_one_procedure_per_entry_of_procedures() -> None:
    assert list(_created_procedures()) == [p.name for p in PROCEDURES]
    flat = [_flat(s) for s in _statements("setup")]
    assert sum(" PROCEDURE " in s for s in flat) == len(PROCEDURES)


@pytest.mark.parametrize("procedure", PROCEDURES, ids=lambda p: p.name)
def test_procedure_matches_handler_and_deploy(procedure: Procedure) -> None:
    proc = _created_procedures()[procedure.name]
    tree = _parse(proc)
    assert isinstance(tree, exp.Create)
    args = [(d.name, d.args["kind"].sql("snowflake")) for d in tree.this.expressions]
    expected = [(n, _canonical_type(t)) for n, t, _ in procedure.arguments]
    assert args == expected
    defaults = re.findall(r"DEFAULT ('[^']*'|NULL|FALSE|TRUE)", proc)
    assert defaults == [d for _, _, d in procedure.arguments]
    flat = _flat(proc)
    assert f"HANDLER = '{procedure.handler_path}'" in flat
    # Re-running setup.sql keeps the grants made on the procedure since.
    assert re.search(r"\) COPY GRANTS RETURNS VARCHAR", flat), flat[:300]
    packages = re.search(r"PACKAGES = \(([^)]*)\)", flat)
    assert packages
    assert re.findall(r"'([^']+)'", packages.group(1)) == list(deploy.PACKAGES)
    imports = re.search(r"IMPORTS = \(([^)]*)\)", flat)
    assert imports
    assert re.findall(r"'([^']+)'", imports.group(1)) == [
        f"@{DEFAULT_STAGE}/src.zip",
        f"@{DEFAULT_STAGE}/procedure.zip",
    ]
    assert "RETURNS VARCHAR" in flat
    assert "LANGUAGE PYTHON" in flat
    assert "RUNTIME_VERSION = '3.11'" in flat
    assert flat.endswith("EXECUTE AS OWNER")  # see the comment above BACKFILL_READINGS


def _touched(script: str) -> str:
    return "\n".join(_flat(s) for s in _statements(script))


def test_show_all_shows_every_table_the_stream_and_the_task() -> None:
    text = _touched("show_all")
    queried = {
        t.name
        for s in _statements("show_all")
        for t in _parse(s).find_all(exp.Table)
        if not isinstance(_parse(s), exp.Command)
    }
    assert {t.name for t in tables()} | {N.stream} <= queried
    assert f"SYSTEM$STREAM_HAS_DATA('{N.stream}')" in text
    assert f"SHOW STREAMS LIKE '{N.stream}'" in text
    assert f"SHOW TASKS LIKE '{N.task}'" in text
    assert f"INFORMATION_SCHEMA.TASK_HISTORY(TASK_NAME => '{N.task}'" in text
    assert f"FROM {N.marker} WHERE \"STATUS\" = 'LANDED'" in text  # pending batches


def test_task_manager_resumes_suspends_executes_and_shows_history() -> None:
    commands = _commands("task_manager")
    for command in (
        f"ALTER TASK {N.task} RESUME",
        f"ALTER TASK {N.task} SUSPEND",
        f"EXECUTE TASK {N.task}",
        f"CALL {N.procedure}()",
    ):
        assert command in commands
    assert f"TASK_HISTORY(TASK_NAME => '{N.task}'" in _touched("task_manager")


def test_teardown_drops_the_moving_parts_but_no_table() -> None:
    text = _touched("teardown")
    assert f"DROP TASK IF EXISTS {N.task}" in text
    assert f"DROP STREAM IF EXISTS {N.stream}" in text
    assert f"DROP PROCEDURE IF EXISTS {N.procedure}(VARCHAR, VARCHAR, VARCHAR, FLOAT)" in text
    assert " TABLE " not in f" {text} "
    drops = [s for s in text.splitlines() if s.startswith("DROP PROCEDURE")]
    assert drops == [
        f"DROP PROCEDURE IF EXISTS {p.name}({', '.join(t for _, t, _ in p.arguments)})"
        for p in PROCEDURES
    ]
