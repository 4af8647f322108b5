"""Running one or more uvicorn servers in one process, under one signal handler.

Each uvicorn server would install its own SIGINT/SIGTERM handlers (the second hiding the first's) and
re-raise the signal after its shutdown, killing the process before our own clean-up (closing the
database) runs. Here the process owns the signals: SIGINT or SIGTERM stops every server gracefully,
a second one stops them without waiting for open connections, and the command exits 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
from collections.abc import Iterator, Sequence

import uvicorn
from starlette.types import ASGIApp

__all__ = ["serve_together", "server"]


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def server(app: ASGIApp, host: str, port: int) -> uvicorn.Server:
    """A uvicorn server with our logging (no uvicorn access log) that leaves signals to `serve_together`."""
    return _Server(uvicorn.Config(app, host=host, port=port, access_log=False, log_config=None, lifespan="on"))


async def serve_together(
    servers: list[uvicorn.Server],
    *,
    sockets: list[socket.socket] | None = None,
    signals: Sequence[signal.Signals] = (signal.SIGINT, signal.SIGTERM),
) -> bool:
    """Serve until one of `signals`, or until one server stops; then stop the others too.

    `sockets`: an already bound listening socket for each server (a worker of `serve --workers`).
    Returns whether every server had started (False when a port was taken or an app's start-up failed).
    """

    def stop() -> None:
        for each in servers:
            each.force_exit = each.should_exit  # a second signal does not wait for open connections
            each.should_exit = True

    async def serve(each: uvicorn.Server, listening: socket.socket | None) -> bool:
        try:
            await each.serve(sockets=[listening] if listening is not None else None)
        except SystemExit:  # uvicorn exits when its port is taken or the app's start-up fails
            return False
        return each.started

    loop = asyncio.get_running_loop()
    for signum in signals:
        loop.add_signal_handler(signum, stop)
    try:
        listening: list[socket.socket | None] = list(sockets) if sockets else [None] * len(servers)
        tasks = [asyncio.create_task(serve(each, sock)) for each, sock in zip(servers, listening, strict=True)]
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for each in servers:
            each.should_exit = True
        return all(await asyncio.gather(*tasks))
    finally:
        for signum in signals:
            loop.remove_signal_handler(signum)
