"""Same-site approximation (protocol/sites.py): the rule the start-up warning for refresh-cookie clients uses."""

from __future__ import annotations

import pytest

from passportoffice.protocol.sites import registrable_domain, same_site


@pytest.mark.parametrize(
    ("host", "domain"),
    [
        ("auth.example.com", "example.com"),
        ("example.com", "example.com"),
        ("a.b.example.com.", "example.com"),
        ("App.Example.COM", "example.com"),
        ("localhost", "localhost"),
        ("app.localhost", "localhost"),
        ("127.0.0.1", "127.0.0.1"),
        ("[::1]", "::1"),
        ("10.0.0.2", "10.0.0.2"),
    ],
)
def test_registrable_domain(host: str, domain: str) -> None:
    """Last two labels for names, the address itself for IP literals, `localhost` for localhost and below."""
    assert registrable_domain(host) == domain


@pytest.mark.parametrize(
    ("issuer", "origin"),
    [
        ("https://auth.example.com", "https://app.example.com"),
        ("https://example.com", "https://app.example.com:8443"),
        ("http://localhost:9000", "http://localhost:9002"),
        ("http://127.0.0.1:9000", "http://127.0.0.1:5173"),
    ],
)
def test_same_site(issuer: str, origin: str) -> None:
    """Subdomains of one registrable domain, and ports of one host, are the same site."""
    assert same_site(issuer, origin)


@pytest.mark.parametrize(
    ("issuer", "origin"),
    [
        ("https://auth.example.com", "https://app.example.org"),
        ("https://auth.example.com", "http://app.example.com"),
        ("http://localhost:9000", "http://127.0.0.1:9002"),
        ("http://127.0.0.1:9000", "http://127.0.0.2:9002"),
        ("https://idp.example.com", "https://example.com.attacker.test"),
        ("https://idp.example.com", "not a url"),
    ],
)
def test_cross_site(issuer: str, origin: str) -> None:
    """Another registrable domain, another scheme (schemeful same-site), or localhost vs an IP are cross-site."""
    assert not same_site(issuer, origin)


def test_multi_label_public_suffixes_are_a_documented_blind_spot() -> None:
    """Without the Public Suffix List, `a.co.uk` and `b.co.uk` look like one site (only a warning relies on it)."""
    assert same_site("https://a.co.uk", "https://b.co.uk")
