"""procedure/sql/grants.sql gives the deploying role every CREATE that setup.sql runs."""

from __future__ import annotations

import re
from pathlib import Path

SQL = Path(__file__).resolve().parents[1] / "procedure" / "sql"
OWNER = "ENERGY_INTEGRAL_OWNER"


def _statements(name: str) -> list[str]:
    text = re.sub(r"--[^\n]*", "", (SQL / name).read_text(encoding="utf-8"))
    return [" ".join(s.split()) for s in text.split(";") if s.strip()]


def _granted_on_schema() -> set[str]:
    kinds: set[str] = set()
    for statement in _statements("grants.sql"):
        m = re.fullmatch(rf"GRANT (.+) ON SCHEMA \S+ TO ROLE {OWNER}", statement)
        if m:
            kinds |= {p.strip().removeprefix("CREATE ") for p in m.group(1).split(",")}
    return kinds


KINDS = r"(TABLE|STREAM|STAGE|SEQUENCE|PROCEDURE|TASK|VIEW)\b"


def test_every_object_kind_setup_creates_is_granted() -> None:
    created = {
        m.group(1)
        for s in _statements("setup.sql")
        if (m := re.match(r"CREATE (?:OR REPLACE )?" + KINDS, s))
    }
    assert created >= {"TABLE", "STREAM", "STAGE", "SEQUENCE", "PROCEDURE", "TASK"}
    assert created <= _granted_on_schema()


def test_the_owner_may_run_a_serverless_task_and_its_temporary_udtfs() -> None:
    statements = set(_statements("grants.sql"))
    assert f"GRANT EXECUTE MANAGED TASK ON ACCOUNT TO ROLE {OWNER}" in statements
    assert f"GRANT EXECUTE TASK ON ACCOUNT TO ROLE {OWNER}" in statements
    assert "FUNCTION" in _granted_on_schema()  # apply_in_pandas registers a temporary UDTF


def test_the_reader_can_only_read() -> None:
    reader = [s for s in _statements("grants.sql") if s.endswith("TO ROLE ENERGY_INTEGRAL_READER")]
    assert reader
    assert all(re.match(r"GRANT (USAGE|SELECT) ON ", s) for s in reader), reader
