"""Start-up: validated settings, the instance secret and an opened `Provider`, failing in one line.

Everything an operator can get wrong before the first request (a bad setting, a missing secret, an
unreachable or unmigrated database) becomes a `ConfigError` whose message fits on one line, so the
command line can print it without a traceback.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from alembic.util import CommandError
from pydantic import ValidationError

from passportoffice.crypto.secretbox import DecryptionError, load_or_create_secret
from passportoffice.provider.context import Provider
from passportoffice.settings import Settings
from passportoffice.storage.database import Database
from passportoffice.storage.migrate import pending, upgrade
from passportoffice.storage.sql import SqlStorage

__all__ = ["ConfigError", "instance_secret", "load_settings", "migrate_database", "open_provider"]

# Shorter secrets would weaken every key derived from them (HKDF cannot add entropy).
_MIN_SECRET_LENGTH = 32
_DATABASE_ERRORS = (OSError, sa.exc.SQLAlchemyError, CommandError)


class ConfigError(Exception):
    """A problem the operator can fix; the message is one line, shown as `error: ...`."""


def load_settings(**overrides: Any) -> Settings:
    """Settings from flags (`overrides`; None means "not given"), then environment, then the file."""
    given = {name: value for name, value in overrides.items() if value is not None}
    try:
        return Settings(**given)
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from None
    except (OSError, ValueError) as exc:  # an unreadable or malformed settings file
        raise ConfigError(f"cannot read the settings file: {_one_line(exc)}") from None


def instance_secret(settings: Settings) -> bytes:
    """The configured secret_key, else data_dir/secret.key (created on first use, SQLite only)."""
    if settings.secret_key is not None:
        secret = settings.secret_key.get_secret_value().encode()
        if len(secret) < _MIN_SECRET_LENGTH:
            raise ConfigError(f"secret_key must be at least {_MIN_SECRET_LENGTH} characters")
        return secret
    path = settings.data_dir / "secret.key"
    if not settings.is_sqlite and not path.exists():
        # Instances sharing a database must share the secret; a fresh one per instance would make
        # every other instance's keys and hashes unreadable to it.
        raise ConfigError(
            f"a shared database needs the same instance secret on every instance: "
            f"set PASSPORTOFFICE_SECRET_KEY or provide {path}"
        )
    try:
        return load_or_create_secret(path)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"instance secret: {_one_line(exc)}") from None


async def migrate_database(settings: Settings) -> None:
    """Bring the schema up to date (what `passportoffice migrate` does)."""
    _prepare_data_dir(settings)
    try:
        await upgrade(settings.resolved_database_url)
    except _DATABASE_ERRORS as exc:
        raise ConfigError(_database_error(settings, exc)) from None


async def open_provider(settings: Settings, *, migrate: bool) -> Provider:
    """A provider over the configured database; the caller closes `provider.storage`."""
    secret = instance_secret(settings)
    _prepare_data_dir(settings)
    url = settings.resolved_database_url
    try:
        if migrate:
            await upgrade(url)
        elif await pending(url):
            raise ConfigError("database schema is not up to date: run `passportoffice migrate`")
        storage = SqlStorage(Database(url))
    except _DATABASE_ERRORS as exc:
        raise ConfigError(_database_error(settings, exc)) from None
    if settings.redis_url:
        storage = await _with_redis_counters(storage, settings.redis_url)
    provider = Provider(settings=settings, storage=storage, secret=secret)
    try:
        await storage.ping()
        await _check_secret_opens_keys(provider)
    except _DATABASE_ERRORS as exc:
        await storage.close()
        raise ConfigError(_database_error(settings, exc)) from None
    except ConfigError:
        await storage.close()
        raise
    return provider


async def _check_secret_opens_keys(provider: Provider) -> None:
    """Refuse to start with a secret that cannot open the stored signing keys.

    Otherwise an instance configured with another secret than its peers would start, answer /healthz,
    and then fail every token request; and `keys rotate` would store keys that its peers cannot open.
    """
    await provider.keyring.reload(provider.now())
    stored = provider.keyring.keys()
    for key in stored:
        try:
            provider.keyring.verification_key(key.kid)
        except (DecryptionError, ValueError):
            raise ConfigError(
                "the instance secret does not open the signing keys stored in this database: every "
                "instance sharing a database needs the same PASSPORTOFFICE_SECRET_KEY"
            ) from None


async def _with_redis_counters(storage: SqlStorage, url: str) -> SqlStorage:
    # Imported only when configured: without redis_url nothing of Redis is loaded.
    from passportoffice.storage.redis_counters import RedisCounters, SqlStorageWithRedisCounters

    parts = urlsplit(url)
    where = f"{parts.scheme}://{parts.hostname}:{parts.port or 6379}"  # never the password
    try:
        counters = RedisCounters(url)
    except ValueError as exc:
        await storage.close()
        raise ConfigError(f"invalid redis_url: {_one_line(exc)}") from None
    try:
        await counters.ping()
    except OSError as exc:
        await counters.close()
        await storage.close()
        raise ConfigError(f"cannot use Redis at {where}: {_one_line(exc)}") from None
    return SqlStorageWithRedisCounters(storage.db, counters)


def _prepare_data_dir(settings: Settings) -> None:
    if settings.database_url is None:  # the embedded database lives in data_dir
        try:
            # 0700: the database holds user data and hashes that other local users have no business reading.
            settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"data_dir: {_one_line(exc)}") from None


def _describe(exc: ValidationError) -> str:
    first = exc.errors()[0]
    message = str(first["msg"]).removeprefix("Value error, ")
    field = ".".join(str(part) for part in first["loc"])
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    if not field:
        return _one_line(f"invalid settings: {message}{more}")
    return _one_line(f"invalid setting {field} (PASSPORTOFFICE_{field.upper()}): {message}{more}")


def _database_error(settings: Settings, exc: BaseException) -> str:
    try:
        where = sa.make_url(settings.resolved_database_url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        where = "the configured URL"
    return f"cannot use the database at {where}: {_one_line(exc)}"


def _one_line(value: object) -> str:
    lines = str(value).strip().splitlines()
    return lines[0] if lines else type(value).__name__
