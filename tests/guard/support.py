"""Test helpers for the guard: an issuer that signs tokens with keys made here, and JWKS transports.

`LocalIssuer` is a real HTTP server on 127.0.0.1 (a thread running http.server) that serves discovery
and a JWK Set, counts every request by path, and can rotate keys, fail, serve garbage or go down.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import jwt

from passportoffice.crypto.keys import GeneratedKey, generate_key

ISSUER = "https://idp.example"
AUDIENCE = "https://api.example"
NOW = 1_800_000_000


def b64(data: bytes | str) -> str:
    raw = data.encode() if isinstance(data, str) else data
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def compact(header: dict[str, Any] | str, payload: dict[str, Any] | str | bytes, signature: bytes = b"sig") -> str:
    """A hand-made compact JWS (header and payload as given, not re-encoded by a library)."""
    encoded_header = header if isinstance(header, str) else json.dumps(header)
    encoded_payload = payload if isinstance(payload, str | bytes) else json.dumps(payload)
    return f"{b64(encoded_header)}.{b64(encoded_payload)}.{b64(signature)}"


def access_claims(now: float = NOW, **overrides: Any) -> dict[str, Any]:
    """Claims shaped like our provider's RFC 9068 access tokens; a None override removes the claim."""
    issued = int(now)
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "sub": "user-1234",
        "aud": AUDIENCE,
        "exp": issued + 600,
        "iat": issued,
        "nbf": issued,
        "jti": "jti-0001",
        "client_id": "notes-spa",
        "scope": "notes:read notes:write",
    }
    claims.update(overrides)
    return {name: value for name, value in claims.items() if value is not None}


class Signer:
    """One signing key of an issuer, and tokens signed with it."""

    def __init__(self, alg: str = "ES256", key: GeneratedKey | None = None) -> None:
        self.alg = alg
        self.key = key or generate_key(alg)
        self.kid = self.key.kid

    @property
    def jwk(self) -> dict[str, Any]:
        return dict(self.key.public_jwk)

    def sign(self, claims: dict[str, Any] | str, **header: Any) -> str:
        """Signed with this key; the header gets kid and typ `at+jwt` unless given (None drops one).

        Built by hand, not with jwt.encode, so that claims PyJWT would refuse to write can be tested.
        """
        values = {"alg": self.alg, "kid": self.kid, "typ": "at+jwt", **header}
        headers = {name: value for name, value in values.items() if value is not None}
        payload = claims if isinstance(claims, str) else json.dumps(claims)
        signing_input = f"{b64(json.dumps(headers))}.{b64(payload)}"
        signature = jwt.get_algorithm_by_name(self.alg).sign(signing_input.encode(), self.key.private_key)
        return f"{signing_input}.{b64(signature)}"

    def token(self, now: float = NOW, **claims: Any) -> str:
        return self.sign(access_claims(now, **claims))


def jwks_of(*signers: Signer) -> dict[str, Any]:
    return {"keys": [signer.jwk for signer in signers]}


def mock_jwks(document: dict[str, Any], counter: Counter[str] | None = None) -> httpx.AsyncClient:
    """An httpx client whose every request answers `document` (for tests that are not about fetching)."""

    def answer(request: httpx.Request) -> httpx.Response:
        if counter is not None:
            counter[request.url.path] += 1
        return httpx.Response(200, json=document)

    return httpx.AsyncClient(transport=httpx.MockTransport(answer))


class LocalIssuer:
    """Discovery and a JWK Set over real HTTP on 127.0.0.1, with request counting and failure modes."""

    def __init__(self, *signers: Signer) -> None:
        self.jwks: Any = jwks_of(*signers)
        self.cache_control: str | None = None
        self.mode = "ok"  # "ok", "error" (503), "garbage" (200, not JSON)
        self.metadata_issuer: str | None = None  # the issuer the metadata claims; defaults to the real one
        self.delay = 0.0
        self.requests: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._server = self._bind(0)
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread: threading.Thread | None = None
        self.listening = False

    @property
    def jwks_uri(self) -> str:
        return self.url + "/jwks"

    def _bind(self, port: int) -> ThreadingHTTPServer:
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # http.server's naming
                issuer._answer(self)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        server.daemon_threads = True
        return server

    def _answer(self, handler: BaseHTTPRequestHandler) -> None:
        with self._lock:
            self.requests[handler.path] += 1
            mode, jwks, cache_control, delay = self.mode, self.jwks, self.cache_control, self.delay
        if delay:
            time.sleep(delay)
        if mode == "error":
            body, status, headers = b'{"error":"unavailable"}', 503, {}
        elif mode == "garbage":
            body, status, headers = b"<html>maintenance</html>", 200, {}
        elif handler.path == "/jwks":
            body, status = json.dumps(jwks).encode(), 200
            headers = {"Cache-Control": cache_control} if cache_control else {}
        elif handler.path == "/.well-known/openid-configuration":
            metadata = {"issuer": self.metadata_issuer or self.url, "jwks_uri": self.jwks_uri}
            body, status, headers = json.dumps(metadata).encode(), 200, {}
        else:
            body, status, headers = b"{}", 404, {}
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(body)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True)
        self._thread.start()
        self.listening = True

    def stop(self) -> None:
        """Stop listening: connections are refused, as when the issuer is down."""
        if not self.listening:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join()
        self.listening = False

    def restart(self) -> None:
        self._server = self._bind(self.port)
        self.start()

    def publish(self, *signers: Signer) -> None:
        with self._lock:
            self.jwks = jwks_of(*signers)

    def count(self, path: str = "/jwks") -> int:
        with self._lock:
            return self.requests[path]


@contextmanager
def running(issuer: LocalIssuer) -> Iterator[LocalIssuer]:
    issuer.start()
    try:
        yield issuer
    finally:
        issuer.stop()
