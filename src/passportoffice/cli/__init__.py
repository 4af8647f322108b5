"""The `passportoffice` command line: this module is the plumbing every command group shares.

The command groups live in one module each (`serve`, `users`, `clients`, `keys`); `main` assembles
them. Every command turns expected failures into one `error: ...` line on stderr and a non-zero exit,
never a traceback, and `--json` output goes to stdout alone so it can be piped.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime
from typing import Any, NoReturn, TypeVar

import sqlalchemy as sa
import typer
from rich.console import Console
from rich.table import Table
from typer._click.core import Context

# typer vendors click, so click's usage errors are importable only from there (pinned in the lock file).
from typer._click.exceptions import NoArgsIsHelpError
from typer._click.exceptions import UsageError as ArgumentError
from typer.core import TyperGroup

from passportoffice.bootstrap import ConfigError, load_settings, open_provider
from passportoffice.provider.context import Provider
from passportoffice.storage.interface import DuplicateError

__all__ = [
    "EXIT_FAILURE",
    "EXIT_USAGE",
    "OneLineUsageErrors",
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


class OneLineUsageErrors(TyperGroup):
    """The root command: click's own argument errors (an unknown option or command, a value of the wrong
    type, a missing argument) become one `error: ...` line and exit code 2 as well, not a usage box."""

    def make_context(
        self, info_name: str | None, args: list[str], parent: Context | None = None, **extra: Any
    ) -> Context:
        with _argument_errors_in_one_line():
            return super().make_context(info_name, args, parent, **extra)

    def invoke(self, ctx: Context) -> Any:
        # Sub-commands parse their arguments inside the root's invoke, so this covers them all.
        with _argument_errors_in_one_line():
            return super().invoke(ctx)


@contextmanager
def _argument_errors_in_one_line() -> Iterator[None]:
    try:
        yield
    except NoArgsIsHelpError:
        raise  # a bare `passportoffice users` asks for the help text, which click prints
    except ArgumentError as exc:
        command = exc.ctx.command_path if exc.ctx is not None else "passportoffice"
        fail(f"{exc.format_message().rstrip('.')} (see `{command} --help`)", EXIT_USAGE)


def run(main: Coroutine[Any, Any, T]) -> T:
    """Run one command's async body under `errors_as_messages`, on uvloop where it is installed."""
    with errors_as_messages(), asyncio.Runner(loop_factory=_event_loop_factory()) as runner:
        return runner.run(main)


def _event_loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop
    except ImportError:  # not installed on Windows (see pyproject): the standard loop serves
        return None
    return uvloop.new_event_loop


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
