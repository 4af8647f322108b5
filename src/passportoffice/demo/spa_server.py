"""The demo single-page app's web server: static files only, under a strict Content-Security-Policy.

The app (demo/spa/) runs entirely in the browser and imports the browser SDK straight from js/src,
served at /sdk/, the very file an app would install from js/. This server knows no token: it hands out
files and the app's public configuration (issuer, client id, API URL), nothing else.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["SpaConfig", "create_spa", "sdk_directory"]

APP_DIRECTORY = Path(__file__).with_name("spa")
_PACKAGED_SDK = Path(__file__).with_name("sdk")  # where a wheel carries js/src (pyproject force-include)
_SOURCE_SDK = Path(__file__).resolve().parents[3] / "js" / "src"  # a source checkout


@dataclass(frozen=True)
class SpaConfig:
    """What app.js reads from /config.json: all of it public."""

    issuer: str
    clientId: str
    redirectUri: str
    postLogoutRedirectUri: str
    audience: str
    api: str
    scope: str
    #: "sdk": the browser SDK signs in and holds the access token in memory. "bff": the BFF serving this
    #: page on the same origin signs in and holds every token; the app calls /bff/* and `api` (a path).
    mode: str = "sdk"


def sdk_directory() -> Path:
    for candidate in (_PACKAGED_SDK, _SOURCE_SDK):
        if (candidate / "auth.js").is_file():
            return candidate
    raise FileNotFoundError("the browser SDK (js/src/auth.js) was not found next to the passportoffice package")


def content_security_policy(config: SpaConfig) -> str:
    # Scripts and styles only from this origin (no inline code at all); fetches only to this origin,
    # the provider and the API. Navigations to the provider (login, logout) are not fetches.
    if config.mode == "bff":  # everything goes through the BFF on this origin
        return (
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
            "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
        )
    return (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"connect-src 'self' {_origin(config.issuer)} {_origin(config.api)}; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )


def create_spa(config: SpaConfig) -> Starlette:
    index = APP_DIRECTORY / "index.html"

    async def page(request: Request) -> Response:
        return FileResponse(index, headers={"Cache-Control": "no-store"})

    async def configuration(request: Request) -> Response:
        return JSONResponse(asdict(config), headers={"Cache-Control": "no-store"})

    return Starlette(
        routes=[
            Route("/", page, methods=["GET"]),
            Route("/callback", page, methods=["GET"]),
            Route("/config.json", configuration, methods=["GET"]),
            Mount("/app", StaticFiles(directory=APP_DIRECTORY)),
            Mount("/sdk", StaticFiles(directory=sdk_directory())),
        ],
        middleware=[Middleware(_SecurityHeaders, csp=content_security_policy(config))],
    )


class _SecurityHeaders:
    def __init__(self, app: ASGIApp, csp: str) -> None:
        self.app = app
        self.headers = [
            (b"content-security-policy", csp.encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"no-referrer"),  # the callback URL carries a code until the app cleans it
            (b"x-frame-options", b"DENY"),
            (b"cross-origin-opener-policy", b"same-origin"),
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = list(message.get("headers", [])) + self.headers
            await send(message)

        await self.app(scope, receive, send_with_headers if scope["type"] == "http" else send)


def _origin(url: str) -> str:
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}"
