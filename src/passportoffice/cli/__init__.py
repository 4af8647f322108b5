"""The `passportoffice` command line: this module is the plumbing every command group shares.

The command groups live in one module each (`serve`, `users`, `clients`, `keys`); `main` assembles
them. Every command turns expected failures into one `error: ...` line on stderr and a non-zero exit,
never a traceback, and `--json` output goes to stdout alone so it can be piped.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Coroutine, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime
from typing import Any, NoReturn, TypeVar

import sqlalchemy as sa
import typer
from rich.console import Console
from rich.table import Table

from passportoffice.bootstrap import ConfigError, load_settings, open_provider
from passportoffice.provider.context import Provider
from passportoffice.storage.interface import DuplicateError

__all__ = [
    "EXIT_FAILURE",
    "EXIT_USAGE",
    "UsageError",
    "console",
    "errors_as_messages",
    "fail",
    "format_time",
    "opened_provider",
    "print_json",
    "run",
    "table",
]

T = TypeVar("T")

EXIT_FAILURE = 1
EXIT_USAGE = 2  # the exit code click uses for bad arguments

# Human output only; rich writes to whatever sys.stdout is when it prints (CliRunner swaps it).
console = Console(highlight=False)


class UsageError(Exception):
    """An argument the operator gave is invalid (exit code 2, like click's own usage errors)."""


def fail(message: str, code: int = EXIT_FAILURE) -> NoReturn:
    lines = str(message).strip().splitlines() or ["failed"]
    typer.echo(f"error: {lines[0]}", err=True)
    raise typer.Exit(code)


@contextmanager
def errors_as_messages() -> Iterator[None]:
    """Turn the failures an operator can cause or fix into a one-line error and an exit code."""
    try:
        yield
    except UsageError as exc:
        fail(str(exc), EXIT_USAGE)
    except ConfigError as exc:
        fail(str(exc))
    except DuplicateError as exc:
        fail(f"{exc} already exists")
    except sa.exc.SQLAlchemyError as exc:
        fail(f"database error: {exc}")
    except (ValueError, OSError) as exc:
        fail(str(exc) or type(exc).__name__)


def run(main: Coroutine[Any, Any, T]) -> T:
    """Run one command's async body under `errors_as_messages`."""
    with errors_as_messages():
        return asyncio.run(main)


@asynccontextmanager
async def opened_provider(**overrides: Any) -> AsyncIterator[Provider]:
    """A provider for one command; on SQLite pending migrations are applied, elsewhere refused."""
    settings = load_settings(**overrides)
    provider = await open_provider(settings, migrate=settings.is_sqlite)
    try:
        yield provider
    finally:
        await provider.storage.close()


def table(*headers: str) -> Table:
    """A table whose cells fold rather than end in "…": kids, ids and URIs must stay copyable."""
    result = Table()
    for header in headers:
        result.add_column(header, overflow="fold")
    return result


def print_json(data: object) -> None:
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False))


def format_time(timestamp: int | None) -> str:
    if timestamp is None:
        return "-"
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M:%SZ")
