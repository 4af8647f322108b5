"""Tests for passportoffice.protocol.redirect_uris."""

from __future__ import annotations

import random
from typing import Any

import pytest

from passportoffice.errors import InvalidRedirectUri
from passportoffice.protocol.redirect_uris import (
    MAX_REDIRECT_URI_LENGTH,
    is_loopback_redirect,
    match_redirect_uri,
    validate_redirect_uri,
)


def assert_invalid(uri: Any) -> None:
    with pytest.raises(InvalidRedirectUri) as info:
        validate_redirect_uri(uri)
    assert type(info.value) is InvalidRedirectUri
    assert info.value.error == "invalid_redirect_uri"
    assert info.value.redirectable is False


@pytest.mark.parametrize(
    "uri",
    [
        "https://app.example/cb",
        "https://app.example",
        "https://app.example:8443/cb?x=1&y=%20",
        "https://APP.Example/cb",
        "https://a-b.c-d.example/.well-known/cb/.../x.y",
        "https://xn--bcher-kva.example/cb",
        "https://192.0.2.1/cb",
        "https://[2001:db8::1]:443/cb",
        "https://app.example/cb?",
        "https://app.example/cb;jsessionid=1",
        "http://127.0.0.1/callback",
        "http://127.0.0.1:8082",
        "http://[::1]:5000/cb",
        "http://localhost:3000/cb",
        "com.example.app:/oauth2redirect/example-provider",
        "com.example.app://callback",
        "com.example.app:callback",
        "https://app.example/" + "a" * (MAX_REDIRECT_URI_LENGTH - 20),
    ],
)
def test_valid_redirect_uris_are_accepted(uri: str) -> None:
    """https URIs, loopback http URIs and reverse-domain private-use URIs are accepted."""
    validate_redirect_uri(uri)


@pytest.mark.parametrize(
    "uri",
    [
        "",
        "/cb",
        "app.example/cb",
        "//app.example/cb",
        "https:app.example/cb",
        "https:///cb",
        "https://",
        "HTTPS://app.example/cb",
        "Com.Example.App:/cb",
    ],
)
def test_relative_or_authorityless_uris_are_refused(uri: str) -> None:
    """A relative URI, an upper-case scheme, or an https URI without a host is refused."""
    assert_invalid(uri)


@pytest.mark.parametrize(
    "uri",
    [
        "http://app.example/cb",
        "http://127.0.0.2/cb",
        "http://LOCALHOST/cb",
        "http://localhost.attacker.test/cb",
        "http://127.0.0.1.attacker.test/cb",
        "http://[::2]/cb",
        "http://[0:0:0:0:0:0:0:1]/cb",
        "http:/127.0.0.1/cb",
    ],
)
def test_http_is_refused_off_loopback(uri: str) -> None:
    """Plain http is accepted only on exactly 127.0.0.1, [::1] or localhost."""
    assert_invalid(uri)


@pytest.mark.parametrize(
    "uri",
    [
        "javascript:alert(1)",
        "data:text/html,x",
        "file:///etc/passwd",
        "myapp:/cb",
        "com.example.app:",
        "vbscript:x",
    ],
)
def test_dangerous_and_non_reverse_domain_schemes_are_refused(uri: str) -> None:
    """Schemes other than https, loopback http and reverse-domain private-use schemes are refused."""
    assert_invalid(uri)


@pytest.mark.parametrize(
    "uri",
    [
        "https://app.example*",
        "https://*.app.example/cb",
        "https://app.example/cb/*",
        "https://app.example/cb?x=*",
    ],
)
def test_k01_wildcards_are_refused(uri: str) -> None:
    """K01: a `*` anywhere in a redirect URI is refused, so no wildcard can be registered."""
    assert_invalid(uri)


def test_k01_prefix_of_registered_uri_does_not_match() -> None:
    """K01: matching is exact, so a host extending a registered one never matches."""
    assert match_redirect_uri("https://app.example.attacker.test/cb", ["https://app.example*"]) is None
    assert match_redirect_uri("https://app.example.attacker.test/cb", ["https://app.example"]) is None
    assert match_redirect_uri("https://app.example/cb/extra", ["https://app.example/cb"]) is None


@pytest.mark.parametrize(
    "path",
    [
        "/cb/..;/admin",
        "/cb/../admin",
        "/cb/./x",
        "/cb/..",
        "/cb/.",
        "/..",
        "/cb/.;x/admin",
        "/cb/%2e%2e/admin",
        "/cb/%2E%2E/admin",
        "/cb/%2e%2E;/admin",
        "/cb/.%2e/admin",
        "/cb/%2e/admin",
        "/cb/..%2fadmin",
        "/cb/..%2Fadmin",
        "/cb/..%5cadmin",
        "/cb/..%3b/admin",
        "/cb/%252e%252e/admin",
        "/cb/%c0%ae%c0%ae/admin",
        "/cb/%EF%BC%8E%EF%BC%8E/admin",
        "/cb/..?x=1",
    ],
)
def test_k02_dot_segments_are_refused_in_every_spelling(path: str) -> None:
    """K02: `.` and `..` segments are refused plain, behind `;params`, and percent-encoded."""
    assert_invalid("https://app.example" + path)
    assert match_redirect_uri("https://app.example" + path, ["https://app.example" + path]) is None


@pytest.mark.parametrize(
    "uri",
    [
        "https://evil@example.com/cb",
        "https://user:pass@example.com/cb",
        "https://example.com@attacker.test/cb",
        "https://@example.com/cb",
        "http://attacker.test@127.0.0.1/cb",
        "https://example.com\\@attacker.test/cb",
    ],
)
def test_k03_userinfo_is_refused(uri: str) -> None:
    """K03: any `@` or userinfo in the authority is refused."""
    assert_invalid(uri)


def test_k03_userinfo_never_matches_the_bare_host() -> None:
    """K03: `https://evil@example.com/cb` does not match a registered `https://example.com/cb`."""
    assert match_redirect_uri("https://evil@example.com/cb", ["https://example.com/cb"]) is None


def test_k04_loopback_port_may_differ() -> None:
    """K04: a loopback IP redirect URI matches with any port, or none (RFC 8252 §7.3)."""
    registered = ["http://127.0.0.1/callback"]
    assert match_redirect_uri("http://127.0.0.1:53012/callback", registered) == registered[0]
    assert match_redirect_uri("http://127.0.0.1/callback", registered) == registered[0]
    assert (
        match_redirect_uri("http://127.0.0.1/cb", ["http://127.0.0.1:8080/cb"]) == "http://127.0.0.1:8080/cb"
    )
    assert match_redirect_uri("http://[::1]:9/cb", ["http://[::1]/cb"]) == "http://[::1]/cb"


@pytest.mark.parametrize(
    "requested",
    [
        "http://127.0.0.1/callback?bar=foo",
        "http://127.0.0.1:53012/callback?bar=foo",
        "http://127.0.0.1:53012/callback?",
        "http://127.0.0.1:53012/callback/",
        "http://127.0.0.1:53012/other",
        "http://127.0.0.1:53012",
        "http://[::1]:53012/callback",
        "http://localhost:53012/callback",
        "https://127.0.0.1:53012/callback",
    ],
)
def test_k04_loopback_relaxation_is_port_only(requested: str) -> None:
    """K04: the loopback rule ignores the port only; another query, path, host or scheme does not match."""
    assert match_redirect_uri(requested, ["http://127.0.0.1/callback"]) is None


def test_k04_no_port_relaxation_for_localhost_or_https() -> None:
    """K04: `localhost` and https URIs are matched exactly, port included."""
    assert match_redirect_uri("http://localhost:4000/cb", ["http://localhost:3000/cb"]) is None
    assert match_redirect_uri("https://127.0.0.1:8443/cb", ["https://127.0.0.1/cb"]) is None
    assert match_redirect_uri("https://app.example:8443/cb", ["https://app.example/cb"]) is None


def test_k05_identical_string_without_path_matches() -> None:
    """K05: `http://127.0.0.1:8082` matches exactly the same string."""
    assert match_redirect_uri("http://127.0.0.1:8082", ["http://127.0.0.1:8082"]) == "http://127.0.0.1:8082"


def test_k05_trailing_slash_is_not_normalised() -> None:
    """K05: `http://127.0.0.1:8082/` and `http://127.0.0.1:8082` differ, in both directions."""
    assert match_redirect_uri("http://127.0.0.1:8082/", ["http://127.0.0.1:8082"]) is None
    assert match_redirect_uri("http://127.0.0.1:8082", ["http://127.0.0.1:8082/"]) is None
    assert match_redirect_uri("https://app.example/", ["https://app.example"]) is None


@pytest.mark.parametrize(
    ("requested", "registered"),
    [
        ("https://APP.example/cb", "https://app.example/cb"),
        ("https://app.example/CB", "https://app.example/cb"),
        ("https://app.example/c%62", "https://app.example/cb"),
        ("https://app.example:443/cb", "https://app.example/cb"),
        ("https://app.example/cb?a=1&b=2", "https://app.example/cb?b=2&a=1"),
    ],
)
def test_matching_does_not_normalise(requested: str, registered: str) -> None:
    """Case, percent-encoding, default ports and query order are never normalised."""
    assert match_redirect_uri(requested, [registered]) is None


@pytest.mark.parametrize(
    "uri",
    ["https://app.example/cb#x", "https://app.example/cb#", "com.example.app:/cb#x", "https://app.example#"],
)
def test_k06_fragments_are_refused(uri: str) -> None:
    """K06: a URI with a fragment, even an empty one, can never be registered or matched."""
    assert_invalid(uri)
    assert match_redirect_uri(uri, [uri]) is None


@pytest.mark.parametrize(
    "uri",
    [
        " https://app.example/cb",
        "https://app.example/cb ",
        "https://app.example/c b",
        "https://app.exa mple/cb",
        "\thttps://app.example/cb",
        "https://app.example/cb\n",
        "https://app.example/cb\r\nLocation: x",
        "https://app.example/cb\x00",
        "https://app.example/cb\x7f",
        "https://app.example/cb\u200b",
        "https://\u0430pp.example/cb",
        "https://app.example\\cb",
        "https://app.example/cb\\..\\admin",
        'https://app.example/"cb"',
        "https://app.example/<cb>",
        "https://app.example/cb%",
        "https://app.example/cb%2",
        "https://app.example/cb%zz",
    ],
)
def test_whitespace_controls_non_ascii_and_backslashes_are_refused(uri: str) -> None:
    """Whitespace, control characters, non-ASCII, backslashes and bad percent-escapes are refused."""
    assert_invalid(uri)


@pytest.mark.parametrize(
    "port", ["0", "65536", "99999", "", "abc", "80a", "-1", "+80", "0080", "123456", "8:80"]
)
def test_bad_ports_are_refused(port: str) -> None:
    """A port must be 1-65535 in plain decimal digits, without sign or leading zeros."""
    assert_invalid(f"https://app.example:{port}/cb")
    assert_invalid(f"http://127.0.0.1:{port}/cb")


def test_port_bounds_are_accepted() -> None:
    """Ports 1 and 65535 are accepted."""
    validate_redirect_uri("https://app.example:1/cb")
    validate_redirect_uri("http://[::1]:65535/cb")


@pytest.mark.parametrize(
    "host",
    [
        "-app.example",
        "app-.example",
        "app..example",
        "app.example.",
        ".app.example",
        "a_b.example",
        "%61pp.example",
        "a" * 64 + ".example",
        ".".join(["a" * 63] * 4),
        "127.1",
        "0x7f.0.0.1",
        "2130706433",
        "010.0.0.1",
        "256.0.0.1",
        "1.2.3.4.5",
        "app.0x10",
    ],
)
def test_malformed_hostnames_are_refused(host: str) -> None:
    """Hostnames need letter/digit/hyphen labels, at most 253 characters, and canonical IPv4 if numeric."""
    assert_invalid(f"https://{host}/cb")


def test_hostname_at_253_characters_is_accepted() -> None:
    """A 253-character hostname made of valid labels is accepted."""
    host = ".".join(["a" * 63] * 3 + ["b" * 61])
    assert len(host) == 253
    validate_redirect_uri(f"https://{host}/cb")


@pytest.mark.parametrize(
    "authority",
    [
        "[",
        "[::",
        "[:::::]",
        "[junk]",
        "[]",
        "[::1",
        "[::1]x",
        "[::1]:",
        "[fe80::1%25eth0]",
        "[v1.fe]",
        "[[::1]]",
        "[::1]]",
    ],
)
def test_malformed_ipv6_literals_are_refused(authority: str) -> None:
    """Malformed, zoned or IPvFuture bracketed literals are refused."""
    assert_invalid(f"https://{authority}/cb")


@pytest.mark.parametrize("uri", [None, 123, b"https://app.example/cb", ["https://app.example/cb"]])
def test_non_strings_are_refused(uri: Any) -> None:
    """A non-string redirect URI (e.g. from registration JSON) is refused, not a crash."""
    assert_invalid(uri)


def test_length_limit() -> None:
    """A URI of MAX_REDIRECT_URI_LENGTH characters is accepted; one character more is refused."""
    base = "https://app.example/"
    validate_redirect_uri(base + "a" * (MAX_REDIRECT_URI_LENGTH - len(base)))
    assert_invalid(base + "a" * (MAX_REDIRECT_URI_LENGTH - len(base) + 1))


def test_match_returns_the_registered_string() -> None:
    """An exact match returns the registered URI, also from a one-shot iterable."""
    registered = iter(["https://other.example/cb", "https://app.example/cb"])
    assert match_redirect_uri("https://app.example/cb", registered) == "https://app.example/cb"


def test_match_with_nothing_registered_is_none() -> None:
    """With no registered URIs nothing matches."""
    assert match_redirect_uri("https://app.example/cb", []) is None


def test_match_skips_invalid_registered_entries() -> None:
    """A malformed registered entry neither matches nor stops the search."""
    assert match_redirect_uri("http://127.0.0.1:5/cb", ["http://[/cb", "http://127.0.0.1/cb"]) == (
        "http://127.0.0.1/cb"
    )


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("http://127.0.0.1/cb", True),
        ("http://[::1]:8080/cb", True),
        ("http://localhost/cb", False),
        ("https://127.0.0.1/cb", False),
        ("https://app.example/cb", False),
        ("http://127.0.0.1/cb#x", False),
        ("http://[::/cb", False),
    ],
)
def test_is_loopback_redirect(uri: str, expected: bool) -> None:
    """Only valid http URIs on the loopback IP literals count as loopback redirects."""
    assert is_loopback_redirect(uri) is expected


_K41_AUTHORITIES = [
    "[",
    "[::",
    "[:::::]",
    "[:::::",
    "]",
    "[]]",
    "[[",
    "[junk]",
    "[::1]@evil",
    "@@",
    "@",
    "a@b@c",
    ":",
    "::",
    ":::::",
    "[::1]:99999999999999999999",
    "127.0.0.1:99999999999999999999",
    "%",
    "%5B::1%5D",
    "x" * 10_000,
    "[" + ":" * 10_000 + "]",
    "a." * 5_000,
    "[" + "1:" * 3_000 + "]",
]
_FUZZ_ALPHABET = "[]:@%/.?#\\*;=&-_~!$'()+,0123456789abcdefxyzABCXZ \t\n\x00\u00e9\u0430\uff0e"


def _check_never_crashes(uri: str) -> None:
    try:
        validate_redirect_uri(uri)
    except InvalidRedirectUri as exc:
        assert type(exc) is InvalidRedirectUri
    assert match_redirect_uri(uri, [uri, "http://127.0.0.1/cb"]) in (None, uri, "http://127.0.0.1/cb")
    assert is_loopback_redirect(uri) in (True, False)


@pytest.mark.parametrize("authority", _K41_AUTHORITIES)
@pytest.mark.parametrize("scheme", ["https", "http", "com.example.app"])
def test_k41_malformed_authorities_only_raise_invalid_redirect_uri(scheme: str, authority: str) -> None:
    """K41: malformed authorities (bad IPv6, `@@`, huge hosts) give InvalidRedirectUri or None only."""
    uri = f"{scheme}://{authority}/cb"
    _check_never_crashes(uri)
    assert_invalid(uri)


def test_k41_fuzz_random_authorities_never_raise_anything_else() -> None:
    """K41: thousands of random authorities and whole URIs never raise anything but InvalidRedirectUri."""
    rng = random.Random(20240541)
    for _ in range(3_000):
        length = rng.choice([1, 2, 3, 5, 8, 13, 40, 300])
        junk = "".join(rng.choice(_FUZZ_ALPHABET) for _ in range(length))
        _check_never_crashes(f"https://{junk}/cb")
        _check_never_crashes(f"http://[{junk}]:{rng.randint(-5, 70_000)}/cb")
        _check_never_crashes(junk)
