"""What a run says while it runs: one line per step on stderr, and a progress bar on a terminal.

The bar counts seconds of load (the part that takes the time), advancing while wrk runs; every line
goes through the same console so the bar stays below the lines. Off a terminal (CI, a pipe) rich
draws no bar and the lines are all there is.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn, TimeRemainingColumn

__all__ = ["progress_bar", "say", "tick"]

_console = Console(stderr=True, highlight=False, soft_wrap=True)
_progress: Progress | None = None
_task: TaskID | None = None
_base = 0.0  # seconds of load done before the current wrk run


def say(message: str) -> None:
    (_progress.console if _progress else _console).print(message, markup=False)


@contextlib.contextmanager
def progress_bar(total_seconds: float) -> Iterator[None]:
    """Show a bar for `total_seconds` of load until the block ends."""
    global _progress, _task, _base
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=_console, transient=True) as progress:
        _progress, _task, _base = progress, progress.add_task("load", total=max(total_seconds, 1.0)), 0.0
        try:
            yield
        finally:
            _progress, _task = None, None


def tick(description: str, elapsed: float, planned: float, *, finished: bool = False) -> None:
    """Move the bar to `elapsed` of the current run's `planned` seconds; `finished` books all of them."""
    global _base
    if _progress is None or _task is None:
        return
    if finished:
        _base += planned
        _progress.update(_task, completed=_base, description=description)
    else:
        _progress.update(_task, completed=_base + min(elapsed, planned), description=description)
