"""The BFF's one typed settings object: flags, then `PASSPORTOFFICE_BFF_*` variables, then defaults.

Kept apart from the provider's `Settings`: the BFF is deployed with the app, not with the provider, and
shares none of its options. Every default is the secure one; each field says why it is what it is.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["BffSettings", "Upstream"]

_LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")
_SAFE_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


class Upstream(BaseModel):
    """One allow-listed API route: requests under `prefix` go to `url` (the prefix replaced by its path)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    prefix: str
    url: str
    methods: tuple[str, ...] = ("GET", "POST", "PUT", "PATCH", "DELETE")

    @field_validator("prefix")
    @classmethod
    def _prefix_is_a_path(cls, prefix: str) -> str:
        segments = prefix.split("/")[1:]
        if not prefix.startswith("/") or prefix.endswith("/") or any(s in ("", ".", "..") for s in segments):
            raise ValueError(f"upstream prefix {prefix!r} must look like /api (no trailing slash, no dot segments)")
        if prefix.startswith("/bff"):
            raise ValueError(f"upstream prefix {prefix!r} collides with the BFF's own /bff endpoints")
        return prefix

    @field_validator("url")
    @classmethod
    def _url_is_absolute(cls, url: str) -> str:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
            raise ValueError(f"upstream URL {url!r} must be an absolute http(s) URL without query or fragment")
        return url.rstrip("/")

    @field_validator("methods")
    @classmethod
    def _methods_are_known(cls, methods: tuple[str, ...]) -> tuple[str, ...]:
        upper = tuple(dict.fromkeys(method.upper() for method in methods))
        unknown = [method for method in upper if method not in _SAFE_METHODS]
        if unknown or not upper:
            raise ValueError(f"upstream methods must be among {', '.join(_SAFE_METHODS)}")
        return upper


class BffSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PASSPORTOFFICE_BFF_", extra="forbid", frozen=True)

    issuer: str = Field(description="The provider's issuer URL, exactly as its metadata and tokens carry it.")
    client_id: str = Field(description="The BFF's client_id at the provider (a confidential client).")
    client_secret: SecretStr | None = Field(
        None, description="Its client secret, sent with client_secret_basic. Give this or private_key."
    )
    private_key: SecretStr | None = Field(
        None,
        description="A PEM private key (RSA 2048+ or EC P-256) for private_key_jwt (RFC 7523 §2.2): no shared "
        "secret at all; the provider holds only the public key. Give this or client_secret.",
    )
    private_key_kid: str | None = Field(None, description="The `kid` of that key in the JWKS registered for it.")
    base_url: str = Field(
        "http://localhost:9003",
        description="The BFF's public URL, mount path included. Its origin is the allowed Origin, and "
        "base_url + /bff/callback the redirect URI registered at the provider.",
    )
    secret_key: SecretStr = Field(
        description="At least 32 characters. Keys the hashes of session ids and, with each session's own "
        "cookie, the encryption of its tokens (AES-GCM); instances sharing a store must share it."
    )
    upstreams: tuple[Upstream, ...] = Field((), description="The API allow-list; nothing else is forwarded.")
    session_store: str = Field(
        "sqlite+aiosqlite:///.passportoffice/bff.db",
        description="sqlite+aiosqlite:///FILE (one instance), postgresql+asyncpg://... or redis://... "
        "(several instances).",
    )
    scope: str = Field("openid profile email offline_access", description="offline_access: a refresh token.")
    allowed_origins: tuple[str, ...] = Field(
        (), description="Origins besides base_url's own that may call the BFF (K37); none by default."
    )
    csrf_header: str = Field("X-Requested-With", description="The custom header every API call must carry.")
    csrf_header_value: str = Field("passportoffice", description="Its required value.")
    cookie_name: str = Field(
        "__Host-passportoffice-bff",
        description="__Host-: Secure, Path=/, no Domain, so no sibling subdomain can set or overwrite it (K36).",
    )
    session_idle_ttl: int = Field(
        8 * 3600, ge=60, description="A session unused this long (s) ends; below the refresh token's 14-day idle life."
    )
    session_absolute_ttl: int = Field(
        7 * 86400, ge=60, description="No session outlives this (s); below the refresh token's 30-day absolute life."
    )
    login_ttl: int = Field(600, ge=60, le=3600, description="How long a started login may take (s).")
    refresh_ahead: int = Field(
        60, ge=0, le=600, description="Refresh the access token this long (s) before it expires, so no API call "
        "goes out with a token about to lapse."
    )
    upstream_timeout: float = Field(30.0, gt=0, le=300, description="Read timeout (s) of an API call.")
    upstream_connect_timeout: float = Field(5.0, gt=0, le=60, description="Connect timeout (s) of an API call.")
    provider_timeout: float = Field(10.0, gt=0, le=60, description="Timeout (s) of calls to the provider.")
    max_body_bytes: Annotated[int, Field(ge=1024)] = Field(
        10 * 1024 * 1024, description="API request bodies above this are refused with 413."
    )
    leeway: int = Field(60, ge=0, le=600, description="Clock skew allowed on token times (K22).")

    @field_validator("issuer", "base_url")
    @classmethod
    def _https_or_local(cls, url: str) -> str:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
            raise ValueError(f"{url!r} must be an absolute http(s) URL without query or fragment")
        if parts.scheme == "http" and parts.hostname not in _LOCAL_HOSTS:
            raise ValueError(f"{url!r} must use https (http only on localhost)")
        if url.endswith("/"):
            raise ValueError(f"{url!r} must not end with '/'")
        return url

    @field_validator("secret_key")
    @classmethod
    def _secret_is_long(cls, secret: SecretStr) -> SecretStr:
        if len(secret.get_secret_value()) < 32:
            raise ValueError("secret_key must be at least 32 characters")
        return secret

    @field_validator("private_key")
    @classmethod
    def _key_is_usable(cls, key: SecretStr | None) -> SecretStr | None:
        if key is not None:
            from passportoffice.bff.client_assertion import load_key

            load_key(key.get_secret_value())
        return key

    @field_validator("cookie_name")
    @classmethod
    def _host_prefix(cls, name: str) -> str:
        if not name.startswith("__Host-"):
            raise ValueError("the session cookie name must start with __Host- (K36)")
        return name

    @model_validator(mode="after")
    def _consistent(self) -> BffSettings:
        if (self.client_secret is None) == (self.private_key is None):
            raise ValueError(
                "give exactly one of client_secret (client_secret_basic) and private_key (private_key_jwt)"
            )
        if self.session_idle_ttl > self.session_absolute_ttl:
            raise ValueError("session_idle_ttl must not exceed session_absolute_ttl")
        prefixes = [upstream.prefix for upstream in self.upstreams]
        if len(set(prefixes)) != len(prefixes):
            raise ValueError("each upstream prefix may be given once")
        return self

    @property
    def origin(self) -> str:
        parts = urlsplit(self.base_url)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def redirect_uri(self) -> str:
        return self.base_url + "/bff/callback"

    @property
    def origins(self) -> frozenset[str]:
        return frozenset({self.origin, *self.allowed_origins})
