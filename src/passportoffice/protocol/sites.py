"""Same-site (RFC 6265bis §5.2, HTML "same site"): may a cookie set by the issuer flow to an app's requests?

A refresh cookie works only when the provider and the SPA are on the same site: otherwise it is a
third-party cookie, which browsers block. A site is a scheme plus a registrable domain. This module
approximates the registrable domain **without the Public Suffix List**: IP literals and `localhost`
(with its subdomains) stand for themselves, and any other host is cut to its last two labels. That is
right for `auth.example.com` / `app.example.com`, and for ports of `localhost`; it is wrong for hosts
under a multi-label public suffix (`a.co.uk` and `b.co.uk`, or `x.github.io` and `y.github.io`, are
different sites but look the same here), so a "same site" answer there is not a guarantee. It is used
for a start-up warning, never for a security decision.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

__all__ = ["registrable_domain", "same_site"]


def registrable_domain(host: str) -> str:
    """The approximate registrable domain of `host` (see the module docstring for what it gets wrong)."""
    host = host.lower().rstrip(".")
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        pass
    else:
        return host.strip("[]")
    if host == "localhost" or host.endswith(".localhost"):
        return "localhost"
    labels = host.split(".")
    return ".".join(labels[-2:])


def same_site(first: str, second: str) -> bool:
    """Whether two URLs or origins are schemeful same-site: same scheme, same registrable domain; ports ignored."""
    a, b = urlsplit(first), urlsplit(second)
    if not a.hostname or not b.hostname:
        return False
    return a.scheme.lower() == b.scheme.lower() and registrable_domain(a.hostname) == registrable_domain(b.hostname)
