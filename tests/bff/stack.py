"""A real stack for the BFF's end-to-end tests: `passportoffice serve` as a process (seeded through the
CLI), a notes API protected by the guard, and the BFF itself on uvicorn, each on a free loopback port.

The BFF runs in this process (in a thread with its own event loop) so tests can move its clock ahead
(an access token "expiring" without waiting ten minutes) and read its store; the provider and the API
see real time. Nothing here speaks OAuth for the BFF: only what a browser does (follow redirects, fill
in the login form) is done for it.
"""

from __future__ import annotations

import concurrent.futures
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from passportoffice.bff import BffSettings, Upstream, create_bff
from passportoffice.bff.runtime import Bff
from passportoffice.guard import InvalidToken, TokenVerifier
from tests.interop.conftest import _CookieJar, browser_login

API_AUDIENCE = "https://notes.bff.example"
SECRET_KEY = "bff-test-secret-key-0123456789abcdef"
CSRF = {"X-Requested-With": "passportoffice"}


class ShiftClock:
    """Real time plus an offset the test can move forward."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    subject: str | None
    token: str | None


@dataclass
class NotesApi:
    """A notes API as any resource server would write it with the guard: every request recorded."""

    issuer: str
    seen: list[Seen] = field(default_factory=list)
    notes: dict[str, list[str]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self) -> int:
        with self.lock:
            return len(self.seen)

    def app(self) -> Starlette:
        verifier = TokenVerifier(self.issuer, API_AUDIENCE)

        async def authorized(request: Request) -> tuple[str | None, str | None]:
            header = request.headers.get("authorization", "")
            token = header.removeprefix("Bearer ") if header.startswith("Bearer ") else None
            subject = None
            if token is not None:
                try:
                    subject = (await verifier.verify(token)).subject
                except InvalidToken:
                    subject = None
            with self.lock:
                self.seen.append(Seen(request.method, request.url.path, dict(request.headers), subject, token))
            return subject, token

        async def notes(request: Request) -> Response:
            subject, _ = await authorized(request)
            if subject is None:
                return JSONResponse({"error": "invalid_token"}, status_code=401)
            if request.method == "POST":
                text = (await request.json())["text"]
                with self.lock:
                    self.notes.setdefault(subject, []).append(text)
            with self.lock:
                return JSONResponse({"sub": subject, "notes": list(self.notes.get(subject, []))})

        async def echo(request: Request) -> Response:
            await authorized(request)
            body = await request.body()

            async def chunks() -> AsyncIterator[bytes]:
                for start in range(0, len(body), 65536):
                    yield body[start : start + 65536]

            return StreamingResponse(chunks(), media_type="application/octet-stream")

        async def slow(request: Request) -> Response:
            await authorized(request)
            await anyio.sleep(5)
            return JSONResponse({"late": True})

        async def cookie(request: Request) -> Response:
            await authorized(request)
            response = JSONResponse({"ok": True}, headers={"X-Upstream": "yes", "Connection": "close"})
            response.set_cookie("__Host-passportoffice-bff", "planted", path="/", secure=True)
            response.set_cookie("upstream-session", "kept-by-a-naive-client", path="/")
            return response

        return Starlette(
            routes=[
                Route("/notes", notes, methods=["GET", "POST"]),
                Route("/echo", echo, methods=["POST"]),
                Route("/slow", slow, methods=["GET"]),
                Route("/cookie", cookie, methods=["GET"]),
            ]
        )


@contextmanager
def serve_in_thread(app: Any, port: int) -> Iterator[uvicorn.Server]:
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False, lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise AssertionError(f"uvicorn did not start on port {port}")
        time.sleep(0.02)
    try:
        yield server
    finally:
        server.should_exit = True
        thread.join(20)


@dataclass
class Provider:
    issuer: str
    data_dir: Path
    cli_env: dict[str, str | None]
    client_secret: str
    users: dict[str, tuple[str, str]]  # username -> (password, sub)
    #: The client `bff-pkjwt` (private_key_jwt, on the second BFF port): its PEM private key and kid.
    pkjwt_key: tuple[str, str] = ("", "")

    def query(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        with sqlite3.connect(self.data_dir / "passportoffice.db", timeout=30) as db:
            return list(db.execute(sql, args).fetchall())

    def refresh_rotations(self, sub: str) -> int:
        """How many refresh tokens of this user's grants have been rotated (one per refresh request won)."""
        return int(self.query(
            "SELECT COUNT(*) FROM refresh_tokens r JOIN grants g ON g.id = r.grant_id "
            "WHERE g.user_id = ? AND r.rotated_at IS NOT NULL", sub,
        )[0][0])


@dataclass
class RunningBff:
    url: str
    settings: BffSettings
    runtime: Bff
    clock: ShiftClock
    api: NotesApi

    def session_data(self, cookie: str) -> dict[str, Any]:
        """What the store holds for a cookie, decrypted (only a test holding the cookie can do this)."""

        async def read() -> dict[str, Any]:
            id_hash = self.runtime.sealer.hash(cookie)
            assert self.runtime.store is not None
            stored = await self.runtime.store.get_session(id_hash, int(self.clock()), 10**9)
            assert stored is not None
            return self.runtime.sealer.open_session(cookie, id_hash, stored.sealed)

        # In a thread of its own: Playwright's sync API keeps an event loop on this one.
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            return pool.submit(anyio.run, read).result()


def bff_settings(provider: Provider, port: int, api_url: str, store: str, **overrides: Any) -> BffSettings:
    values: dict[str, Any] = {
        "issuer": provider.issuer,
        "client_id": "bff",
        "client_secret": provider.client_secret,
        "base_url": f"http://localhost:{port}",
        "secret_key": SECRET_KEY,
        "session_store": store,
        "upstream_timeout": 2.0,
        "upstreams": (
            Upstream(prefix="/api", url=api_url),
            Upstream(prefix="/readonly", url=api_url, methods=("GET",)),
            # Nothing listens there: the API is down.
            Upstream(prefix="/down", url="http://127.0.0.1:9"),
        ),
    }
    values.update(overrides)
    return BffSettings(**values)


@contextmanager
def running_bff(
    settings: BffSettings, port: int, api: NotesApi, static_dir: Path | None = None
) -> Iterator[RunningBff]:
    clock = ShiftClock()
    app = create_bff(settings, clock=clock, static_dir=static_dir)
    with serve_in_thread(app, port):
        yield RunningBff(settings.base_url, settings, app.state.bff, clock, api)


class Browser:
    """What a browser does for the BFF over plain HTTP: keeps cookies (Secure ones too on localhost),
    follows the login redirects, fills in the provider's login form."""

    def __init__(self, bff: RunningBff) -> None:
        self.bff = bff
        self.jar = _CookieJar()
        self.http = httpx.Client(timeout=20, follow_redirects=False)

    def cookie(self, name: str) -> str | None:
        return self.jar._values.get(name)

    def set_cookie(self, name: str, value: str | None) -> None:
        if value is None:
            self.jar._values.pop(name, None)
        else:
            self.jar._values[name] = value

    def request(self, method: str, path: str, *, csrf: bool = True, origin: bool | str = True,
                **options: Any) -> httpx.Response:
        headers = {**self.jar.header(), **options.pop("headers", {})}
        if csrf:
            headers.update(CSRF)
        if origin is True and method not in ("GET", "HEAD"):
            headers["Origin"] = self.bff.settings.origin
        elif isinstance(origin, str):
            headers["Origin"] = origin
        response = self.http.request(method, self.bff.url + path, headers=headers, **options)
        self.jar.take(response)
        return response

    def start_login(self, return_to: str = "/") -> str:
        """GET /bff/login; returns the authorization URL the browser is sent to."""
        response = self.request("GET", "/bff/login", csrf=False, params={"return_to": return_to})
        assert response.status_code == 303, response.text
        return response.headers["location"]

    def authorize(self, authorization_url: str, username: str, password: str) -> str:
        """The provider's part: sign in; returns the callback URL with code, state and iss."""
        return browser_login(authorization_url, self.bff.settings.redirect_uri, username, password)

    def finish_login(self, callback_url: str) -> httpx.Response:
        response = self.http.get(callback_url, headers=self.jar.header())
        self.jar.take(response)
        return response

    def login(self, username: str, password: str) -> httpx.Response:
        response = self.finish_login(self.authorize(self.start_login(), username, password))
        assert response.status_code == 303, response.text
        return response

    def close(self) -> None:
        self.http.close()
