"""Finding an issuer's endpoints: OpenID Connect Discovery 1.0 §4, RFC 8414 §3 (and §3.3's issuer check).

The OpenID configuration is tried first, then the OAuth authorization server metadata. A document
whose `issuer` is not exactly the configured issuer is not used (OIDC Discovery §4.3, RFC 8414 §3.3),
so a look-alike issuer's metadata can never point the guard at another key set.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from passportoffice.guard.fetch import FetchError, fetch_json

MAX_METADATA_BYTES = 64 * 1024


def metadata_urls(issuer: str) -> tuple[str, str]:
    """OIDC Discovery appends its path to the issuer; RFC 8414 §3.1 inserts its own before the issuer's path."""
    parts = urlsplit(issuer)
    openid = issuer.rstrip("/") + "/.well-known/openid-configuration"
    path = "/.well-known/oauth-authorization-server" + parts.path.rstrip("/")
    return openid, urlunsplit((parts.scheme, parts.netloc, path, "", ""))


async def discover(http: httpx.AsyncClient, issuer: str) -> dict[str, Any]:
    problems = []
    for url in metadata_urls(issuer):
        try:
            document = (await fetch_json(http, url, MAX_METADATA_BYTES)).document
        except FetchError as exc:
            problems.append(str(exc))
            continue
        if not isinstance(document, dict):
            problems.append(f"{url} is not a metadata document")
        elif document.get("issuer") != issuer:
            problems.append(f"{url} names another issuer")
        else:
            return document
    raise FetchError("; ".join(problems))


def endpoint(metadata: dict[str, Any], name: str, issuer: str) -> str:
    """An endpoint URL from the metadata: absolute, and https whenever the issuer is."""
    url = metadata.get(name)
    if not isinstance(url, str):
        raise FetchError(f"the issuer's metadata has no {name}")
    scheme = urlsplit(url).scheme
    allowed = {"https"} if urlsplit(issuer).scheme == "https" else {"https", "http"}
    if scheme not in allowed or not urlsplit(url).netloc:
        raise FetchError(f"the issuer's {name} is not an acceptable URL")
    return url
