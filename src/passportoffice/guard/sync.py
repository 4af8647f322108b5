"""The synchronous form of a verifier (RFC 9068 §4, RFC 7662 §2), for WSGI frameworks (Flask) and scripts.

A thin wrapper, not a second implementation: verification that needs no I/O (a cached token, or a
signature and claims with keys already fetched) runs in the calling thread; the rest runs the async
verifier's own `verify` on one private event-loop thread, so threads waiting for keys share one fetch.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from passportoffice.guard.claims import VerifiedToken
from passportoffice.guard.verifying import FetchNeeded, Scopes, Verifier

T = TypeVar("T")


class SyncTokenVerifier:
    """Wraps a TokenVerifier or IntrospectionVerifier, which it then owns: use it only through this."""

    def __init__(self, verifier: Verifier) -> None:
        self.verifier = verifier
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._starting = threading.Lock()

    def verify(self, token: str, scopes: Scopes = ()) -> VerifiedToken:
        """As the async `verify`: the validated token, or InvalidToken / InsufficientScope."""
        try:
            return self.verifier.verify_without_fetching(token, scopes)
        except FetchNeeded:
            return self._run(self.verifier.verify(token, scopes))

    def close(self) -> None:
        """Close the verifier's HTTP client and stop the event-loop thread."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        self._run(self.verifier.aclose())
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()
        self._loop = self._thread = None

    def __enter__(self) -> SyncTokenVerifier:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._event_loop()).result()

    def _event_loop(self) -> asyncio.AbstractEventLoop:
        with self._starting:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=loop.run_forever, name="passportoffice-guard", daemon=True)
                thread.start()
                self._loop, self._thread = loop, thread
            return self._loop
