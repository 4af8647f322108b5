"""Token endpoint grants (RFC 6749 §4). Each module exports GRANT_TYPE and `handle`.

`handle(provider, client, parameters)` receives an authenticated client and the parsed request and
returns the JSON token response; it raises OAuthError subclasses and knows nothing of HTTP.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from passportoffice.grants import authorization_code, client_credentials, refresh_token
from passportoffice.provider.context import Provider
from passportoffice.storage.records import Client

Handler = Callable[[Provider, Client, Mapping[str, str]], Awaitable[dict[str, Any]]]

GRANTS: dict[str, Handler] = {
    module.GRANT_TYPE: module.handle
    for module in (authorization_code, refresh_token, client_credentials)
}
