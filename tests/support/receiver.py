"""A real HTTP server on a loopback port that records what it is sent: a back-channel logout receiver,
or an API behind the BFF. Runs in a thread, so it serves while the test's event loop waits."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def form(self) -> dict[str, str]:
        return {name: values[0] for name, values in parse_qs(self.body.decode()).items()}


@dataclass
class Receiver:
    url: str
    requests: list[Received] = field(default_factory=list)
    #: Statuses to answer with, in order; 200 once they run out.
    statuses: list[int] = field(default_factory=list)
    delay: float = 0.0

    def answer(self) -> int:
        return self.statuses.pop(0) if self.statuses else 200


@contextmanager
def receiver() -> Iterator[Receiver]:
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            body = self.rfile.read(length)
            state.requests.append(Received("POST", self.path, dict(self.headers.items()), body))
            if state.delay:
                time.sleep(state.delay)
            status = state.answer()
            self.send_response(status)
            self.send_header("Cache-Control", "no-store")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
