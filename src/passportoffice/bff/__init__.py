"""passportoffice.bff: the Backend-for-Frontend (draft-ietf-oauth-browser-based-apps §6.1).

A confidential OpenID Connect client on the app's own origin: the browser holds only an HttpOnly
`__Host-` session cookie, tokens stay server-side, API calls go through an allow-listed proxy that
attaches the access token.

    from passportoffice.bff import BffSettings, Upstream, create_bff

    bff = create_bff(BffSettings(issuer=..., client_id=..., client_secret=..., secret_key=...,
                                 upstreams=(Upstream(prefix="/api", url="http://localhost:9001"),)))
"""

from passportoffice.bff.app import create_bff
from passportoffice.bff.settings import BffSettings, Upstream
from passportoffice.bff.store import BffStore, StoredSession, open_store

__all__ = ["BffSettings", "BffStore", "StoredSession", "Upstream", "create_bff", "open_store"]
