"""`passportoffice serve --workers N`: several server processes on one port, and their supervisor.

The parent binds the port once and does first what every worker would otherwise race to do (the
migrations on SQLite, the first signing keys), then starts N workers, each a fresh interpreter
(multiprocessing's spawn: nothing of the parent's state is copied) with its own database pool. The
kernel hands each new connection to one worker. The provider keeps no state in a process (the
database, and Redis with redis_url, hold it all), so it does not matter which worker answers.

SIGINT or SIGTERM to the parent stops every worker gracefully, a second one without waiting for open
connections. Workers ignore the terminal's SIGINT (the parent forwards it as SIGTERM, so one Ctrl-C is
one graceful stop) and stop on their own when the parent goes away. A worker that dies after it
started is replaced; one that cannot start stops them all, and the command fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import signal
import socket
import sys
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from types import FrameType

from passportoffice.bootstrap import ConfigError, open_provider
from passportoffice.cli import _event_loop_factory
from passportoffice.logs import configure_logging
from passportoffice.settings import Settings

__all__ = ["serve_workers"]

log = logging.getLogger("passportoffice")

_READY_TIMEOUT = 60.0
_STOP_TIMEOUT = 30.0  # then the stragglers are killed
_BACKLOG = 2048  # uvicorn's default
_STARTUP_FAILURE = 3
_PARENT_CHECK_INTERVAL = 0.5


@dataclass
class _Worker:
    index: int
    process: BaseProcess
    ready_from: Connection
    ready: bool = False


def serve_workers(settings: Settings) -> bool:
    """Run `settings.workers` workers until SIGINT or SIGTERM; False when the port or a worker failed."""
    try:
        listening = _bind(settings.host, settings.port)
    except OSError as exc:
        log.error("cannot listen on %s:%d: %s", settings.host, settings.port, exc.strerror or exc)
        return False
    context = multiprocessing.get_context("spawn")
    signals_seen: list[int] = []

    def on_signal(signum: int, frame: FrameType | None) -> None:
        signals_seen.append(signum)

    previous = {signum: signal.signal(signum, on_signal) for signum in (signal.SIGINT, signal.SIGTERM)}
    workers: list[_Worker] = []
    try:
        workers = [_start(context, settings, listening, index) for index in range(settings.workers)]
        started = _supervise(context, settings, listening, workers, signals_seen)
        _stop(workers, signals_seen)
        return started
    finally:
        for worker in workers:  # only after an unexpected error here: _stop has normally ended them
            if worker.process.is_alive():
                worker.process.kill()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        listening.close()


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listening = socket.socket(family, socket.SOCK_STREAM)
    try:
        listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listening.bind((host, port))
        listening.listen(_BACKLOG)
    except OSError:
        listening.close()
        raise
    return listening


def _start(
    context: multiprocessing.context.SpawnContext, settings: Settings, listening: socket.socket, index: int
) -> _Worker:
    ready_from, ready_to = context.Pipe(duplex=False)
    process = context.Process(
        target=_worker_main, args=(settings, listening, ready_to, os.getpid()), name=f"passportoffice-worker-{index}"
    )
    process.start()
    ready_to.close()  # the worker holds the only writing end: its death closes the pipe
    return _Worker(index, process, ready_from)


def _supervise(
    context: multiprocessing.context.SpawnContext,
    settings: Settings,
    listening: socket.socket,
    workers: list[_Worker],
    signals_seen: list[int],
) -> bool:
    deadline: float | None = time.monotonic() + _READY_TIMEOUT
    while not signals_seen:
        waiting = [worker.ready_from for worker in workers if not worker.ready]
        wait([*waiting, *(worker.process.sentinel for worker in workers)], timeout=0.5)
        for position, worker in enumerate(workers):
            if not worker.ready and worker.ready_from.poll():
                try:
                    worker.ready_from.recv()
                    worker.ready = True
                    log.info("worker %d of %d ready (pid %s)", worker.index + 1, len(workers), worker.process.pid)
                except EOFError:
                    pass  # it died before it was ready: handled below
            if worker.process.is_alive():
                continue
            worker.process.join()
            if not worker.ready:
                log.error("worker %d exited before it started (code %s)", worker.index + 1, worker.process.exitcode)
                return False
            log.warning(
                "worker %d (pid %s) exited with code %s: starting another",
                worker.index + 1,
                worker.process.pid,
                worker.process.exitcode,
            )
            workers[position] = _start(context, settings, listening, worker.index)
        if deadline is not None and all(worker.ready for worker in workers):
            deadline = None
        elif deadline is not None and time.monotonic() > deadline:
            log.error("the workers did not start within %.0f s", _READY_TIMEOUT)
            return False
    return True


def _stop(workers: list[_Worker], signals_seen: list[int]) -> None:
    handled = len(signals_seen)
    for worker in workers:
        _terminate(worker)
    deadline = time.monotonic() + _STOP_TIMEOUT
    while any(worker.process.is_alive() for worker in workers) and time.monotonic() < deadline:
        if len(signals_seen) > handled:  # another signal: the workers stop without waiting for connections
            handled = len(signals_seen)
            for worker in workers:
                _terminate(worker)
        wait([worker.process.sentinel for worker in workers if worker.process.is_alive()], timeout=0.5)
    for worker in workers:
        if worker.process.is_alive():
            log.warning("worker %d did not stop within %.0f s: killed", worker.index + 1, _STOP_TIMEOUT)
            worker.process.kill()
        worker.process.join()


def _terminate(worker: _Worker) -> None:
    if worker.process.is_alive() and worker.process.pid is not None:
        with contextlib.suppress(ProcessLookupError):  # it exited since is_alive
            os.kill(worker.process.pid, signal.SIGTERM)


def _worker_main(settings: Settings, listening: socket.socket, ready_to: Connection, parent: int) -> None:
    """A worker process: serve on the inherited socket until SIGTERM or until the parent is gone."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent forwards Ctrl-C as SIGTERM
    configure_logging(settings.log_format, settings.log_level)
    try:
        # The same event loop as a single-process `serve` (uvloop where it is installed).
        with asyncio.Runner(loop_factory=_event_loop_factory()) as runner:
            started = runner.run(_serve(settings, listening, ready_to, parent))
    except ConfigError as exc:
        log.error("worker cannot start: %s", exc)
        started = False
    sys.exit(0 if started else _STARTUP_FAILURE)


async def _serve(settings: Settings, listening: socket.socket, ready_to: Connection, parent: int) -> bool:
    from passportoffice.cli.servers import serve_together, server
    from passportoffice.web.app import create_app

    provider = await open_provider(settings, migrate=False)
    try:
        each = server(create_app(provider), settings.host, settings.port)

        async def watch() -> None:
            while not each.started:
                await asyncio.sleep(0.05)
            ready_to.send(os.getpid())
            while os.getppid() == parent:
                await asyncio.sleep(_PARENT_CHECK_INTERVAL)
            log.warning("the supervising process is gone: stopping")
            each.should_exit = True

        watcher = asyncio.create_task(watch())
        try:
            return await serve_together([each], sockets=[listening], signals=(signal.SIGTERM,))
        finally:
            watcher.cancel()
    finally:
        await provider.storage.close()
