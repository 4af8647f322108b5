"""Flask: a view decorator that authenticates the request's bearer token and requires scopes (RFC 6750).

    bearer = BearerAuth(SyncTokenVerifier(TokenVerifier("https://idp.example", "https://api.example")))

    @app.get("/notes")
    @bearer.require_scopes("notes:read")
    def notes():
        return list_notes(g.verified_token.subject)
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any, TypeVar, cast

from flask import Response, g, request

from passportoffice import errors
from passportoffice.guard import bearer
from passportoffice.guard.sync import SyncTokenVerifier

View = TypeVar("View", bound=Callable[..., Any])


class BearerAuth:
    def __init__(self, verifier: SyncTokenVerifier, *, realm: str | None = None) -> None:
        self.verifier = verifier
        self.realm = realm

    def require_scopes(self, *scopes: str) -> Callable[[View], View]:
        """Decorate a (synchronous) view; the verified token is in `flask.g.verified_token`."""

        def decorate(view: View) -> View:
            @functools.wraps(view)
            def guarded(*args: Any, **kwargs: Any) -> Any:
                try:
                    token = bearer.bearer_token(request.headers.getlist("Authorization"))
                    g.verified_token = self.verifier.verify(token, scopes)
                except errors.OAuthError as exc:
                    rendered = bearer.error_response(exc, self.realm)
                    return Response(
                        json.dumps(rendered.body),
                        status=rendered.status_code,
                        headers=rendered.headers,
                        mimetype="application/json",
                    )
                return view(*args, **kwargs)

            return cast(View, guarded)

        return decorate
