"""One typed settings object for the provider.

Values come from (highest first) command-line flags, `PASSPORTOFFICE_*` environment variables, a TOML
settings file (`PASSPORTOFFICE_SETTINGS_FILE`), then the defaults below. Unknown keys are refused, and
secrets are masked when printed. Every default is the secure one; each field says why it is what it is.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

__all__ = ["Settings"]

# The async drivers the lock file installs: aiosqlite (embedded) and asyncpg (several instances).
_DATABASE_SCHEMES = ("sqlite+aiosqlite://", "postgresql+asyncpg://")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PASSPORTOFFICE_", extra="forbid", frozen=True)

    issuer: str = Field(
        "http://localhost:9000",
        description="The canonical issuer URL, identical in metadata, tokens and authorization responses. "
        "https is required except on localhost/loopback, where development happens.",
    )
    host: str = Field("127.0.0.1", description="Address to listen on; loopback so a first run is not exposed.")
    port: int = Field(9000, ge=1, le=65535, description="Port to listen on.")
    workers: int = Field(
        1,
        ge=1,
        le=64,
        description="Server processes sharing the port. 1: one process, nothing to supervise; the provider "
        "keeps no state in a process, so more (about one per CPU, on PostgreSQL) serve more requests at once.",
    )
    data_dir: Path = Field(
        Path(".passportoffice"),
        description="Where the embedded SQLite database and the generated instance secret live.",
    )
    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL. Default: SQLite in data_dir. Use postgresql+asyncpg://... to run "
        "several instances against one database.",
    )
    redis_url: str | None = Field(
        None,
        description="redis://... for the hot, short-lived security counters (login throttling, seen client "
        "assertion jtis), shared by every instance. Default: kept in the database like everything else; "
        "Redis takes those writes off it.",
    )
    secret_key: SecretStr | None = Field(
        None,
        description="Instance secret that encrypts signing keys and keys the hashes of client secrets, "
        "refresh tokens and codes. Default: generated once into data_dir/secret.key. Every instance "
        "sharing a database must have the same one.",
    )
    access_token_ttl: int = Field(
        600, ge=60, le=3600, description="Access token lifetime (s). 10 min: JWTs cannot be recalled."
    )
    access_token_signing_alg: Literal["ES256", "RS256"] = Field(
        "ES256",
        description="Access tokens are minted on every refresh and client credentials grant; ES256 signs "
        "~20x faster than RS256 in Python, and the guard caches verified tokens, so ES256 costs APIs little.",
    )
    id_token_ttl: int = Field(600, ge=60, le=86400, description="ID token lifetime (s); it is for the UI only.")
    authorization_code_ttl: int = Field(
        60, ge=10, le=600, description="Codes are redeemed at once; RFC 6749 §4.1.2 recommends at most 10 min."
    )
    refresh_token_idle_ttl: int = Field(
        14 * 86400, ge=60, description="A refresh token unused this long (s) expires."
    )
    refresh_token_absolute_ttl: int = Field(
        30 * 86400, ge=60, description="No rotation extends a family past this age (s)."
    )
    refresh_reuse_window: int = Field(
        10,
        ge=0,
        le=120,
        description="Seconds during which the immediate predecessor of a refresh token, presented again by "
        "the same client, gets the same successor pair back (two tabs, a lost response). 0 = strict.",
    )
    session_ttl: int = Field(12 * 3600, ge=60, description="IdP browser session lifetime (s).")
    authorization_request_ttl: int = Field(
        900, ge=60, description="How long a pending authorization request waits for login and consent (s)."
    )
    login_max_failures_per_account: int = Field(
        5, ge=1, description="Failed logins per account per window before it is throttled."
    )
    login_max_failures_per_address: int = Field(
        20, ge=1, description="Failed logins per client address per window before it is throttled."
    )
    login_throttle_window: int = Field(900, ge=1, description="Throttle window (s).")
    argon2_time_cost: int = Field(2, ge=1, description="argon2id iterations (OWASP: m=19 MiB, t=2, p=1).")
    argon2_memory_cost: int = Field(19456, ge=8, description="argon2id memory in KiB.")
    argon2_parallelism: int = Field(1, ge=1, description="argon2id lanes.")
    argon2_max_threads: int = Field(
        0,
        ge=0,
        description="argon2id hashes computed at once; 0 = one per usable CPU. Each holds argon2_memory_cost "
        "KiB, and more hashes than CPUs finish no sooner: the others wait their turn in order.",
    )
    key_activation_delay: int = Field(
        600,
        ge=0,
        description="A rotated-in key is published this long (s) before it signs, so every client's cached "
        "JWKS already holds it (longer than jwks_max_age).",
    )
    jwks_max_age: int = Field(300, ge=0, description="Cache-Control max-age of the JWKS (s).")
    max_body_bytes: int = Field(65536, ge=1024, description="Request bodies above this are refused with 413.")
    session_cookie_name: str = Field(
        "__Host-passportoffice-session",
        description="__Host- forbids Domain and requires Secure and Path=/, so no sibling can overwrite it.",
    )
    log_format: Literal["text", "json"] = Field("text", description="Log lines as text or JSON lines.")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO", description="Log level.")
    cleanup_interval: int = Field(300, ge=1, description="Seconds between clean-ups of expired rows.")
    logout_token_ttl: int = Field(
        120, ge=10, le=600, description="Back-channel logout token lifetime (s): it is used at once, on receipt."
    )
    backchannel_logout_timeout: float = Field(
        5.0, gt=0, le=30, description="Per-attempt timeout (s) of a back-channel logout POST: a slow client "
        "must not hold the delivery worker."
    )
    backchannel_logout_attempts: int = Field(
        5, ge=1, le=20, description="Attempts per notification (backoff 2, 4, 8... s) before it is given up."
    )
    backchannel_logout_poll_interval: float = Field(
        2.0, gt=0, le=300, description="How often (s) each instance looks for due notifications; notifications "
        "queued by this instance are sent at once, this bounds the delay for those queued elsewhere (the CLI)."
    )
    client_cache_ttl: int = Field(
        5,
        ge=0,
        le=60,
        description="Seconds a registered client is reused after it was read from the database: a removed "
        "or changed client is refused or seen changed within this bound on every instance. 0 reads it on "
        "every request (a third of a client credentials grant's cost).",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        settings_file = os.environ.get("PASSPORTOFFICE_SETTINGS_FILE")
        if settings_file:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=settings_file))
        return tuple(sources)

    @field_validator("issuer")
    @classmethod
    def _issuer_is_a_plain_url(cls, issuer: str) -> str:
        parts = urlsplit(issuer)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ValueError("issuer must be an absolute http(s) URL")
        if parts.query or parts.fragment or "#" in issuer or "?" in issuer:
            raise ValueError("issuer must not have a query or fragment (OpenID Discovery §3)")
        if parts.username or parts.password:
            raise ValueError("issuer must not contain userinfo")
        if issuer.endswith("/"):
            raise ValueError("issuer must not end with '/': it is compared byte for byte")
        if parts.scheme == "http" and parts.hostname not in ("localhost", "127.0.0.1", "::1"):
            raise ValueError("issuer must use https (http only on localhost)")
        return issuer

    @field_validator("database_url")
    @classmethod
    def _database_url_has_a_supported_driver(cls, url: str | None) -> str | None:
        # Another driver would fail deep inside SQLAlchemy with an ImportError, or block the event loop.
        if url is not None and not url.startswith(_DATABASE_SCHEMES):
            raise ValueError(f"database_url must start with {' or '.join(_DATABASE_SCHEMES)}")
        return url

    @field_validator("session_cookie_name")
    @classmethod
    def _cookie_name_has_host_prefix(cls, name: str) -> str:
        if not name.startswith("__Host-"):
            raise ValueError("the session cookie name must start with __Host-")
        return name

    @model_validator(mode="after")
    def _lifetimes_are_consistent(self) -> Settings:
        if self.refresh_token_idle_ttl > self.refresh_token_absolute_ttl:
            raise ValueError("refresh_token_idle_ttl must not exceed refresh_token_absolute_ttl")
        return self

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{self.data_dir / 'passportoffice.db'}"

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")
