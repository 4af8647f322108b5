"""Everything the BFF's endpoints share, built once by `create_bff` and handed to each endpoint."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.cookiejar import CookieJar, DefaultCookiePolicy

import httpx

from passportoffice.bff.oidc import OidcClient
from passportoffice.bff.sealing import Sealer
from passportoffice.bff.sessions import Sessions
from passportoffice.bff.settings import BffSettings
from passportoffice.bff.store import BffStore, open_store

__all__ = ["Bff"]


@dataclass
class Bff:
    """`clock` drives session lifetimes and the access token's expiry bookkeeping (tests move it); JWTs
    are checked (guard) and client assertions made against the wall clock, which the provider shares."""

    settings: BffSettings
    store: BffStore | None = None
    clock: Callable[[], float] = time.time
    sealer: Sealer = field(init=False)
    provider_http: httpx.AsyncClient = field(init=False)
    upstream_http: httpx.AsyncClient = field(init=False)
    oidc: OidcClient = field(init=False)
    sessions: Sessions = field(init=False)

    def __post_init__(self) -> None:
        settings = self.settings
        if self.store is None:
            self.store = open_store(settings.session_store)
        self.sealer = Sealer(settings.secret_key.get_secret_value().encode())
        # No redirects: the provider's endpoints are where its metadata says, an API's answer is passed on as is.
        # No cookie jar either: one client serves every user, so a cookie kept from one response would go
        # out with another user's requests.
        self.provider_http = httpx.AsyncClient(
            timeout=settings.provider_timeout, follow_redirects=False, cookies=_refusing_jar()
        )
        self.upstream_http = httpx.AsyncClient(
            timeout=httpx.Timeout(settings.upstream_timeout, connect=settings.upstream_connect_timeout),
            follow_redirects=False,
            cookies=_refusing_jar(),
        )
        self.oidc = OidcClient(settings, self.provider_http, self.clock)
        self.sessions = Sessions(settings, self.store, self.sealer, self.oidc, self.clock)

    def now(self) -> int:
        return int(self.clock())

    async def aclose(self) -> None:
        await self.provider_http.aclose()
        await self.upstream_http.aclose()
        assert self.store is not None
        await self.store.close()


def _refusing_jar() -> CookieJar:
    return CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))
