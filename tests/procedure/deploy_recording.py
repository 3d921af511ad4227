"""A Snowpark session that records what deploy asks of it, for the deploy tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["RecordingSession"]


class _Result:
    def collect(self) -> list[Any]:
        return []


class _Sproc:
    def __init__(self, log: list[tuple[str, Any]]) -> None:
        self.log = log

    def register(self, func: Any, **kwargs: Any) -> str:
        self.log.append(("register", (func, kwargs)))
        return "registered"

    def register_from_file(self, file_path: str, func_name: str, **kwargs: Any) -> str:
        self.log.append(("register_from_file", (file_path, func_name, kwargs)))
        return "registered"


class _FileOperation:
    """``session.file``: records each put and keeps the file's bytes under its stage name."""

    def __init__(self, log: list[tuple[str, Any]]) -> None:
        self.log = log
        self.staged: dict[str, bytes] = {}

    def put(self, local_file_name: str, stage_location: str, **kwargs: Any) -> list[Any]:
        self.log.append(("put", (local_file_name, stage_location, kwargs)))
        # PUT stores a file under its base name; the local file is gone after deploy.
        path = Path(local_file_name)
        self.staged[f"{stage_location}/{path.name}"] = path.read_bytes()
        return []


class RecordingSession:
    """Just enough of a Snowpark session: ``sql(...).collect()``, ``sproc`` and ``file``."""

    def __init__(self) -> None:
        self.log: list[tuple[str, Any]] = []
        self.sproc = _Sproc(self.log)
        self.file = _FileOperation(self.log)
        self.closed = False

    def sql(self, query: str, params: Any = None) -> _Result:
        self.log.append(("sql", " ".join(query.split())))
        return _Result()

    def close(self) -> None:
        self.closed = True
