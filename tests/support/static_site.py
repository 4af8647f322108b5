"""A real HTTP server for pages a test needs on an origin of its own (a third-party library's page,
an attacker's page): files from a directory plus a few generated documents, on a loopback port."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar


class _Handler(SimpleHTTPRequestHandler):
    documents: ClassVar[Mapping[str, tuple[str, bytes]]] = {}
    extensions_map: ClassVar[dict[str, str]] = {  # type: ignore[misc]
        **SimpleHTTPRequestHandler.extensions_map,
        ".js": "text/javascript",
    }

    def do_GET(self) -> None:
        document = self.documents.get(self.path.split("?", 1)[0])
        if document is None:
            super().do_GET()
            return
        content_type, body = document
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def static_site(root: Path, port: int = 0, documents: Mapping[str, tuple[str, bytes]] | None = None) -> Iterator[str]:
    """Serve `root` (and `documents`: path -> (content type, body)); yields http://localhost:PORT."""
    handler = type("Handler", (_Handler,), {"documents": dict(documents or {})})
    server = ThreadingHTTPServer(("127.0.0.1", port), partial(handler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://localhost:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
