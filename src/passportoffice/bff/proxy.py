"""The API proxy: draft-ietf-oauth-browser-based-apps §6.1 (BFF), RFC 9110 §7.6.1 (hop-by-hop fields).

Only allow-listed routes are forwarded (a path under no prefix is a 404, never forwarded); the CSRF
check comes first (K37), then the session; the access token is attached server-side (refreshed ahead
of expiry by `sessions`). What goes upstream loses the browser's cookies, its Authorization, the custom
header, Origin and every hop-by-hop field; what comes back loses hop-by-hop fields and Set-Cookie.
Bodies stream both ways. A connection failure is a 502 and a timeout a 504, as JSON, never a hang.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator

import httpx
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from passportoffice.bff.csrf import check_csrf
from passportoffice.bff.errors import LoginRequired, NotFound, PayloadTooLarge, UpstreamTimeout, UpstreamUnavailable
from passportoffice.bff.runtime import Bff
from passportoffice.bff.settings import Upstream

__all__ = ["proxy"]

log = logging.getLogger("passportoffice.bff")

HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
     "transfer-encoding", "upgrade", "proxy-connection"}
)
# Never forwarded upstream: the browser's credentials for the BFF, and what only the BFF needs.
_REQUEST_DROP = frozenset({"host", "cookie", "authorization", "origin", "content-length", "referer"})
_RESPONSE_DROP = frozenset({"set-cookie", "content-length"})
_DOT_SEGMENT = re.compile(r"(^|/)(\.|%2e){1,2}(/|$)", re.IGNORECASE)


class _TooLarge(Exception):
    pass


def route_for(path: str, upstreams: tuple[Upstream, ...]) -> tuple[Upstream, str] | None:
    """The upstream whose prefix holds `path` (at a segment boundary), and the rest of the path."""
    for upstream in upstreams:
        if path == upstream.prefix or path.startswith(upstream.prefix + "/"):
            return upstream, path[len(upstream.prefix) :]
    return None


async def proxy(request: Request, bff: Bff) -> Response:
    settings = bff.settings
    raw_path = request.scope.get("raw_path", b"").split(b"?")[0].decode("latin-1") or request.url.path
    root = request.scope.get("root_path", "")
    if root and raw_path.startswith(root):
        raw_path = raw_path[len(root) :]
    # Matched on the path as sent: no dot segment or encoded slash may walk out of an allow-listed prefix.
    if _DOT_SEGMENT.search(raw_path) or "%2f" in raw_path.lower() or "%5c" in raw_path.lower() or "\\" in raw_path:
        raise NotFound("no such API route")
    found = route_for(raw_path, settings.upstreams)
    if found is None:
        raise NotFound("no such API route")
    upstream, rest = found
    check_csrf(request, settings)
    if request.method not in upstream.methods:
        raise NotFound("no such API route")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > settings.max_body_bytes:
        raise PayloadTooLarge("the request body is too large")
    session = await bff.sessions.current(request)
    if session is None:
        raise LoginRequired("no session: log in first")
    access_token = await bff.sessions.access_token(session)
    if access_token is None:
        raise LoginRequired("the session has ended: log in again")
    url = upstream.url + rest
    query = request.scope.get("query_string", b"")
    if query:
        url += "?" + query.decode("latin-1")
    headers = _forwarded_headers(request, settings.csrf_header.lower())
    headers.append(("authorization", "Bearer " + access_token))
    body = _limited(request.stream(), settings.max_body_bytes) if request.method not in ("GET", "HEAD") else None
    upstream_request = bff.upstream_http.build_request(request.method, url, headers=headers, content=body)
    try:
        response = await bff.upstream_http.send(upstream_request, stream=True)
    except httpx.TimeoutException:
        log.warning("upstream %s timed out", upstream.prefix)
        raise UpstreamTimeout("the API did not answer in time") from None
    except httpx.HTTPError as exc:
        if isinstance(exc.__cause__, _TooLarge) or isinstance(exc.__context__, _TooLarge):
            raise PayloadTooLarge("the request body is too large") from None
        log.warning("upstream %s failed: %s", upstream.prefix, type(exc).__name__)
        raise UpstreamUnavailable("the API could not be reached") from None
    except _TooLarge:
        raise PayloadTooLarge("the request body is too large") from None
    return StreamingResponse(
        _relay(response),
        status_code=response.status_code,
        headers=_returned_headers(response),
        background=BackgroundTask(response.aclose),
    )


def _forwarded_headers(request: Request, csrf_header: str) -> list[tuple[str, str]]:
    connection_named = {
        name.strip().lower() for name in request.headers.get("connection", "").split(",") if name.strip()
    }
    drop = HOP_BY_HOP | _REQUEST_DROP | connection_named | {csrf_header}
    return [(name, value) for name, value in request.headers.items() if name.lower() not in drop]


def _returned_headers(response: httpx.Response) -> dict[str, str]:
    connection_named = {
        name.strip().lower() for name in response.headers.get("connection", "").split(",") if name.strip()
    }
    drop = HOP_BY_HOP | _RESPONSE_DROP | connection_named
    headers = {name: value for name, value in response.headers.items() if name.lower() not in drop}
    headers.setdefault("cache-control", "no-store")
    return headers


async def _limited(stream: AsyncIterator[bytes], limit: int) -> AsyncIterator[bytes]:
    seen = 0
    async for chunk in stream:
        seen += len(chunk)
        if seen > limit:
            raise _TooLarge
        yield chunk


async def _relay(response: httpx.Response) -> AsyncIterator[bytes]:
    try:
        async for chunk in response.aiter_raw():
            yield chunk
    except httpx.HTTPError as exc:
        # Headers are sent already: the only honest signal left is to cut the body short.
        log.warning("upstream response broke off: %s", type(exc).__name__)
