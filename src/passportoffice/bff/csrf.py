"""CSRF defence for cookie-authorized calls (K37; draft-ietf-oauth-browser-based-apps §6.1.3.2).

The session cookie is SameSite=Strict already. On top of it every API call and state-changing BFF call
must carry the custom header (a cross-origin page can send it only after a CORS preflight, which the
BFF never approves) and, when the browser names one, an allowed `Origin`. Browsers always send
`Origin` on unsafe methods, so its absence there is refused; on GET/HEAD a same-origin fetch sends none,
and `Sec-Fetch-Site` (when present) must then say same-origin.
"""

from __future__ import annotations

from starlette.requests import Request

from passportoffice.bff.errors import Forbidden
from passportoffice.bff.settings import BffSettings
from passportoffice.protocol.secrets import constant_time_equals

__all__ = ["check_csrf"]

_SAFE = frozenset({"GET", "HEAD"})


def check_csrf(request: Request, settings: BffSettings) -> None:
    header = request.headers.get(settings.csrf_header)
    if header is None or not constant_time_equals(header, settings.csrf_header_value):
        raise Forbidden(f"the {settings.csrf_header} header is required")
    origin = request.headers.get("origin")
    if origin is not None:
        if origin not in settings.origins:
            raise Forbidden("this origin may not call the BFF")
    elif request.method not in _SAFE:
        raise Forbidden("an Origin header is required")
    elif request.headers.get("sec-fetch-site", "same-origin") != "same-origin":
        raise Forbidden("this origin may not call the BFF")
