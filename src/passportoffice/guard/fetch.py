"""Fetching an issuer's JSON documents (metadata, JWK Sets): RFC 8414 §3, RFC 7517 §5, RFC 9111 §5.2.2.

The body is read with a size cap (the declared length first, then as it streams), decoded as UTF-8
JSON (RFC 8259 §8.1), and its `Cache-Control` read for `max-age`, `no-cache` and `no-store`.
Every failure, from the network to the JSON, becomes one FetchError with a short reason to log.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx

DEFAULT_TIMEOUT = httpx.Timeout(5.0)


class FetchError(Exception):
    """The document could not be fetched or read; the message is safe to log."""


@dataclass(frozen=True, slots=True)
class Fetched:
    document: Any
    #: Seconds the response may be reused (RFC 9111 §5.2.2.1); 0 for no-cache/no-store, None if unsaid.
    max_age: int | None


def new_http_client() -> httpx.AsyncClient:
    # No redirects: an issuer's documents are at the URLs it names, and following them widens SSRF.
    return httpx.AsyncClient(timeout=DEFAULT_TIMEOUT, follow_redirects=False)


async def fetch_json(http: httpx.AsyncClient, url: str, max_bytes: int) -> Fetched:
    return await request_json(http, "GET", url, max_bytes)


async def request_json(http: httpx.AsyncClient, method: str, url: str, max_bytes: int, **options: Any) -> Fetched:
    """A 200 answer's JSON, read with the size cap; FetchError for anything else."""
    headers = {"Accept": "application/json", **options.pop("headers", {})}
    try:
        async with http.stream(method, url, headers=headers, **options) as response:
            if response.status_code != 200:
                raise FetchError(f"{url} answered {response.status_code}")
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise FetchError(f"{url} answered with more than {max_bytes} bytes")
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > max_bytes:
                    raise FetchError(f"{url} answered with more than {max_bytes} bytes")
            cache_control = response.headers.get("cache-control")
    except httpx.HTTPError as exc:
        raise FetchError(f"{url} could not be fetched ({type(exc).__name__})") from None
    return Fetched(document=parse_json(bytes(body), url), max_age=max_age(cache_control))


def parse_json(body: bytes, source: str) -> Any:
    try:
        return json.loads(body.decode("utf-8"))
    except (ValueError, RecursionError):
        raise FetchError(f"{source} did not answer with JSON") from None


def max_age(cache_control: str | None) -> int | None:
    """The freshness lifetime a `Cache-Control` value gives, ignoring directives that do not apply."""
    if not cache_control:
        return None
    seconds = None
    for directive in cache_control.split(","):
        name, _, value = directive.strip().partition("=")
        name = name.strip().lower()
        if name in ("no-store", "no-cache"):
            return 0
        if name == "max-age":
            value = value.strip().strip('"')
            if not value.isdigit():
                return 0  # RFC 9111 §4.2.1: an invalid max-age means stale
            seconds = int(value)
    return seconds
