"""Fixtures for the command line: a CliRunner over a fresh data_dir, and a look at what was stored."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from typer.testing import CliRunner, Result

from passportoffice.bootstrap import load_settings, open_provider
from passportoffice.cli.main import app
from passportoffice.provider.context import Provider
from tests.support.databases import scratch_database

T = TypeVar("T")
Invoke = Callable[..., Result]


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own data_dir and ignores PASSPORTOFFICE_* set outside the test run."""
    for name in list(os.environ):
        if name.startswith("PASSPORTOFFICE_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("PASSPORTOFFICE_DATA_DIR", str(tmp_path / "data"))
    # Cheap argon2 in tests; the OWASP defaults are checked on their own.
    monkeypatch.setenv("PASSPORTOFFICE_ARGON2_TIME_COST", "1")
    monkeypatch.setenv("PASSPORTOFFICE_ARGON2_MEMORY_COST", "64")
    return tmp_path / "data"


@pytest.fixture
def cli() -> Invoke:
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None) -> Result:
        return runner.invoke(app, list(args), input=input)

    return invoke


def assert_one_line_error(result: Result, exit_code: int) -> str:
    """The command failed with `exit_code` and exactly one `error: ...` line; returns its text."""
    assert result.exit_code == exit_code, result.output
    assert "Traceback" not in result.output
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0].removeprefix("error: ")


def stored(read: Callable[[Provider], Coroutine[Any, Any, T]]) -> T:
    """Run `read` against the provider the CLI used (same data_dir, same instance secret)."""

    async def main() -> T:
        provider = await open_provider(load_settings(), migrate=True)
        try:
            return await read(provider)
        finally:
            await provider.storage.close()

    return asyncio.run(main())


@pytest.fixture
def postgres_database(postgres_server: str) -> Iterator[str]:
    """An empty PostgreSQL database, dropped afterwards."""
    with scratch_database(postgres_server) as url:
        yield url
