"""Start-up errors from the command line: settings, instance secret and database, each one line."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from passportoffice.bootstrap import ConfigError, instance_secret, load_settings, open_provider
from tests.cli.conftest import Invoke, assert_one_line_error

SECRET = "s" * 40
UNREACHABLE = "postgresql+asyncpg://po:hunter2@127.0.0.1:1/po"


def test_invalid_setting_is_a_one_line_error(cli: Invoke, monkeypatch: pytest.MonkeyPatch) -> None:
    """PASSPORTOFFICE_ACCESS_TOKEN_TTL=5 is below the minimum: one line naming the field, exit code 1."""
    monkeypatch.setenv("PASSPORTOFFICE_ACCESS_TOKEN_TTL", "5")
    message = assert_one_line_error(cli("users", "list"), 1)
    assert message.startswith("invalid setting access_token_ttl (PASSPORTOFFICE_ACCESS_TOKEN_TTL): ")


def test_invalid_flag_value_is_a_one_line_error(cli: Invoke) -> None:
    """A plain-http issuer off localhost is refused before anything starts."""
    message = assert_one_line_error(cli("serve", "--issuer", "http://idp.example"), 1)
    assert message.startswith("invalid setting issuer ")


def test_unknown_key_in_settings_file_is_a_one_line_error(
    cli: Invoke, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A typo in the settings file is refused, not ignored."""
    path = tmp_path / "settings.toml"
    path.write_text("acess_token_ttl = 300\n")
    monkeypatch.setenv("PASSPORTOFFICE_SETTINGS_FILE", str(path))
    assert assert_one_line_error(cli("users", "list"), 1).startswith("invalid setting acess_token_ttl ")


def test_malformed_settings_file_is_a_one_line_error(
    cli: Invoke, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A settings file that is not TOML is reported in one line."""
    path = tmp_path / "settings.toml"
    path.write_text("this is = = not toml\n")
    monkeypatch.setenv("PASSPORTOFFICE_SETTINGS_FILE", str(path))
    assert assert_one_line_error(cli("users", "list"), 1).startswith("cannot read the settings file: ")


def test_flags_override_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """A flag wins over PASSPORTOFFICE_*; a flag that was not given (None) leaves the environment's value."""
    monkeypatch.setenv("PASSPORTOFFICE_PORT", "9100")
    assert load_settings(port=None).port == 9100
    assert load_settings(port=9200).port == 9200


def test_short_secret_key_is_refused(cli: Invoke, monkeypatch: pytest.MonkeyPatch) -> None:
    """A configured secret_key under 32 characters is refused."""
    monkeypatch.setenv("PASSPORTOFFICE_SECRET_KEY", "short")
    assert "secret_key" in assert_one_line_error(cli("users", "list"), 1)


def test_instance_secret_is_created_once_with_mode_0600(data_dir: Path) -> None:
    """Without secret_key on SQLite the secret is generated into data_dir/secret.key (0600) and reused."""
    settings = load_settings()
    first = instance_secret(settings)
    path = data_dir / "secret.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert instance_secret(settings) == first
    assert instance_secret(load_settings(secret_key=SECRET)) == SECRET.encode()


def test_shared_database_needs_a_configured_secret(cli: Invoke, monkeypatch: pytest.MonkeyPatch) -> None:
    """On PostgreSQL a per-instance generated secret would split the cluster, so one must be configured."""
    monkeypatch.setenv("PASSPORTOFFICE_DATABASE_URL", UNREACHABLE)
    assert "PASSPORTOFFICE_SECRET_KEY" in assert_one_line_error(cli("users", "list"), 1)


def test_unreachable_database_is_a_one_line_error_without_the_password(
    cli: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A database that does not answer is one line naming it, with its password masked."""
    monkeypatch.setenv("PASSPORTOFFICE_DATABASE_URL", UNREACHABLE)
    monkeypatch.setenv("PASSPORTOFFICE_SECRET_KEY", SECRET)
    message = assert_one_line_error(cli("users", "list"), 1)
    assert message.startswith("cannot use the database at postgresql+asyncpg://po:***@127.0.0.1:1/po: ")
    assert "hunter2" not in message


def test_malformed_database_url_is_a_one_line_error(cli: Invoke) -> None:
    """A --database that is not a URL SQLAlchemy knows is refused in one line."""
    assert_one_line_error(cli("migrate", "--database", "nonsense://"), 1)


@pytest.mark.anyio
async def test_open_provider_refuses_a_schema_that_is_not_up_to_date() -> None:
    """Without migrate, a database with pending migrations is refused with the command that fixes it."""
    with pytest.raises(ConfigError) as caught:
        await open_provider(load_settings(), migrate=False)
    assert str(caught.value) == "database schema is not up to date: run `passportoffice migrate`"
    provider = await open_provider(load_settings(), migrate=True)
    await provider.storage.close()
    provider = await open_provider(load_settings(), migrate=False)
    await provider.storage.close()



def test_a_secret_that_does_not_open_the_stored_keys_is_a_one_line_error(
    cli: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An instance with another secret than the one that sealed the signing keys refuses to start, in one
    line, instead of answering /healthz and failing every token request (or sealing keys its peers cannot open)."""
    assert cli("keys", "rotate").exit_code == 0  # keys sealed with data_dir/secret.key
    monkeypatch.setenv("PASSPORTOFFICE_SECRET_KEY", SECRET)
    for command in (("keys", "list"), ("keys", "rotate"), ("serve", "--port", "1")):
        message = assert_one_line_error(cli(*command), 1)
        assert message.startswith("the instance secret does not open the signing keys stored in this database")
    monkeypatch.delenv("PASSPORTOFFICE_SECRET_KEY")
    assert len(json.loads(cli("keys", "list", "--json").stdout)) == 4
