"""Redirect URI validation and matching: RFC 6749 §3.1.2, RFC 8252 §7.1/§7.3, RFC 9700 §4.1.3."""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from collections.abc import Iterable
from typing import NamedTuple
from urllib.parse import unquote

from passportoffice.errors import InvalidRedirectUri

__all__ = ["MAX_REDIRECT_URI_LENGTH", "is_loopback_redirect", "match_redirect_uri", "validate_redirect_uri"]

MAX_REDIRECT_URI_LENGTH = 2048

# RFC 3986 §2: unreserved, reserved and "%". Everything else (whitespace, controls, non-ASCII,
# backslash, quotes, angle brackets) is refused outright rather than interpreted.
_URI_CHARS = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~:/?#[]@!$&'()*+,;=%"
)
_LABEL_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-")
_SCHEME = re.compile(r"[a-z][a-z0-9+.\-]*")
_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_PORT = re.compile(r"[1-9][0-9]{0,4}")
# A last label that browsers (WHATWG URL) would read as a number turns the host into IPv4.
_NUMERIC_LABEL = re.compile(r"0[xX][0-9A-Fa-f]*|[0-9]+")
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "[::1]", "localhost"})
# RFC 8252 §8.3: only IP literals get the any-port rule; `localhost` may resolve elsewhere.
_LOOPBACK_LITERALS = frozenset({"127.0.0.1", "[::1]"})
_MAX_HOST_LENGTH = 253
_MAX_LABEL_LENGTH = 63
# Enough to undo double and triple encoding (`%252e`) that some servers decode repeatedly.
_MAX_DECODE_ROUNDS = 3


class _Parts(NamedTuple):
    scheme: str
    host: str | None  # None: no authority (private-use scheme such as `com.example.app:/cb`)
    port: str | None
    path: str
    query: str | None  # None: no "?" at all, which differs from an empty query


def validate_redirect_uri(uri: str) -> None:
    """Raise InvalidRedirectUri unless `uri` is safe to register or to redirect to.

    Accepted: `https` with a well-formed host; `http` only on 127.0.0.1, [::1] or localhost; a
    private-use scheme containing a dot (RFC 8252 §7.1). Refused, among others: fragments, userinfo,
    wildcards, dot segments in any encoding, malformed hosts or ports, and anything over
    MAX_REDIRECT_URI_LENGTH. Never raises any other exception, whatever the input.
    """
    _parse(uri)


def is_loopback_redirect(uri: str) -> bool:
    """Tell whether `uri` is a valid `http` URI on a loopback IP literal (the RFC 8252 §7.3 case)."""
    try:
        parts = _parse(uri)
    except InvalidRedirectUri:
        return False
    return parts.scheme == "http" and parts.host in _LOOPBACK_LITERALS


def match_redirect_uri(requested: str, registered: Iterable[str]) -> str | None:
    """Return the registered URI that `requested` matches, or None.

    Matching is exact string equality, with no normalisation (K05). The one exception, RFC 8252
    §7.3: a registered `http` URI on 127.0.0.1 or [::1] matches any port, with everything else equal.
    Redirect to `requested`, not to the returned value: only the former carries the app's port.
    """
    try:
        wanted = _parse(requested)
    except InvalidRedirectUri:
        return None
    for candidate in registered:
        if requested == candidate:
            return candidate
        if wanted.scheme == "http" and wanted.host in _LOOPBACK_LITERALS:
            try:
                known = _parse(candidate)
            except InvalidRedirectUri:
                continue
            if known.scheme == "http" and known._replace(port=None) == wanted._replace(port=None):
                return candidate
    return None


def _parse(uri: object) -> _Parts:
    if not isinstance(uri, str):
        raise InvalidRedirectUri("redirect_uri must be a string")
    if len(uri) > MAX_REDIRECT_URI_LENGTH:  # before any other work (K41)
        raise InvalidRedirectUri(f"redirect_uri is longer than {MAX_REDIRECT_URI_LENGTH} characters")
    if "#" in uri:
        raise InvalidRedirectUri("redirect_uri must not contain a fragment")  # RFC 6749 §3.1.2, K06
    if "*" in uri:
        raise InvalidRedirectUri("redirect_uri must not contain wildcards")  # K01
    if not uri or not set(uri) <= _URI_CHARS:
        raise InvalidRedirectUri("redirect_uri contains characters not allowed in a URI")
    if _BAD_PERCENT.search(uri):
        raise InvalidRedirectUri("redirect_uri has a malformed percent-encoding")

    scheme, colon, rest = uri.partition(":")
    if not colon or not _SCHEME.fullmatch(scheme):
        raise InvalidRedirectUri("redirect_uri must be an absolute URI with a lower-case scheme")
    host = port = None
    if rest.startswith("//"):
        authority, remainder = _split_authority(rest[2:])
        host, port = _parse_authority(authority)
    else:
        remainder = rest
    path, question, query = remainder.partition("?")

    if scheme in ("https", "http"):
        if host is None:
            raise InvalidRedirectUri("redirect_uri must have a host")
        if scheme == "http" and host not in _LOOPBACK_HOSTS:
            raise InvalidRedirectUri("http redirect_uris are allowed only on loopback")  # RFC 8252 §7.3
    elif "." not in scheme:
        # RFC 8252 §7.1: reverse-domain schemes; this also keeps out javascript:, data:, file:.
        raise InvalidRedirectUri("private-use schemes must be reverse domain names")
    elif host is None and not path:
        raise InvalidRedirectUri("redirect_uri has no path")
    _check_path(path)
    return _Parts(scheme, host, port, path, query if question else None)


def _split_authority(after_slashes: str) -> tuple[str, str]:
    ends = [i for i in (after_slashes.find("/"), after_slashes.find("?")) if i != -1]
    end = min(ends, default=len(after_slashes))
    return after_slashes[:end], after_slashes[end:]


def _parse_authority(authority: str) -> tuple[str, str | None]:
    if "@" in authority:
        # K03: userinfo lets `https://evil@example.com` look like example.com to one parser.
        raise InvalidRedirectUri("redirect_uri must not contain userinfo")
    if authority.startswith("["):
        close = authority.find("]")
        if close == -1:
            raise InvalidRedirectUri("redirect_uri has an unterminated IPv6 literal")
        host, after = authority[: close + 1], authority[close + 1 :]
        _check_ipv6_literal(host[1:-1])
        if after and not after.startswith(":"):
            raise InvalidRedirectUri("redirect_uri has text after its IPv6 literal")
        port = after[1:] if after else None
    else:
        host, colon, port_text = authority.partition(":")
        port = port_text if colon else None
        _check_hostname(host)
    if port is not None and not (_PORT.fullmatch(port) and int(port) <= 65535):
        raise InvalidRedirectUri("redirect_uri has an invalid port")
    return host, port


def _check_ipv6_literal(literal: str) -> None:
    # "%" would be a zone id and a leading "v" IPvFuture: neither names one fixed host.
    if not literal or "%" in literal or literal[0] in "vV":
        raise InvalidRedirectUri("redirect_uri has a malformed IPv6 literal")
    try:
        ipaddress.IPv6Address(literal)
    except ValueError:  # K41: malformed literals must be a 400, not a crash
        raise InvalidRedirectUri("redirect_uri has a malformed IPv6 literal") from None


def _check_hostname(host: str) -> None:
    if not host or len(host) > _MAX_HOST_LENGTH:
        raise InvalidRedirectUri("redirect_uri has an empty or overlong host")
    labels = host.split(".")
    for label in labels:
        if (
            not 0 < len(label) <= _MAX_LABEL_LENGTH
            or not set(label) <= _LABEL_CHARS
            or label[0] == "-"
            or label[-1] == "-"
        ):
            raise InvalidRedirectUri("redirect_uri has a malformed host")
    if _NUMERIC_LABEL.fullmatch(labels[-1]):
        # `127.1`, `0x7f.0.0.1` or `2130706433` mean 127.0.0.1 to a browser; only the canonical
        # dotted quad is allowed, so one address has one spelling.
        try:
            canonical = str(ipaddress.IPv4Address(host)) == host
        except ValueError:
            canonical = False
        if not canonical:
            raise InvalidRedirectUri("redirect_uri has a malformed IPv4 address")


def _check_path(path: str) -> None:
    # K02: refuse `.` and `..` segments however they are spelled (`..;/`, `%2e%2E`, `%252e`,
    # `..%2f`, fullwidth dots), because some server or framework on the way will resolve them.
    decoded = path
    for _ in range(_MAX_DECODE_ROUNDS):
        try:
            step = unquote(decoded, errors="strict")
        except UnicodeDecodeError:  # also catches overlong encodings such as %c0%ae
            raise InvalidRedirectUri("redirect_uri path is not valid UTF-8") from None
        if step == decoded:
            break
        decoded = step
    for text in (path, unicodedata.normalize("NFKC", decoded)):
        for piece in re.split(r"[/\\;]", text):
            if piece in (".", ".."):
                raise InvalidRedirectUri("redirect_uri must not contain dot segments")
