"""`passportoffice keys`: list the signing keys and rotate them (published first, signing later)."""

from __future__ import annotations

import json

from passportoffice.provider.context import Provider
from tests.cli.conftest import Invoke, stored


def _signing_kids(at_offset: int) -> dict[str, str]:
    """The kid that signs each algorithm `at_offset` seconds from now."""

    async def read(provider: Provider) -> dict[str, str]:
        now = provider.now()
        await provider.keyring.reload(now)
        return {alg: provider.keyring.signing_key(alg, now + at_offset).kid for alg in ("ES256", "RS256")}

    return stored(read)


def test_keys_list_on_a_fresh_database_is_empty(cli: Invoke) -> None:
    """Before the first start or rotation there are no keys; --json prints an empty list."""
    result = cli("keys", "list", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == []


def test_keys_rotate_publishes_keys_that_sign_later(cli: Invoke) -> None:
    """Rotation publishes one new key per algorithm now; each signs only after key_activation_delay."""
    result = cli("keys", "rotate", "--json")
    assert result.exit_code == 0, result.output
    new = json.loads(result.stdout)
    assert sorted(key["alg"] for key in new) == ["ES256", "RS256"]
    assert {key["state"] for key in new} == {"published"}
    assert all(key["active_from"] == key["created_at"] + 600 for key in new)

    listed = json.loads(cli("keys", "list", "--json").stdout)
    new_kids = {key["kid"] for key in new}
    old = [key for key in listed if key["kid"] not in new_kids]
    assert sorted(key["state"] for key in listed) == ["active", "active", "published", "published"]
    assert {key["state"] for key in old} == {"active"}
    # The keys in use stop signing exactly when the new ones start, and stay published after that.
    assert {key["retired_at"] for key in old} == {new[0]["active_from"]}
    assert all(key["expires_at"] > key["retired_at"] for key in old)

    assert set(_signing_kids(0).values()) == {key["kid"] for key in old}
    assert set(_signing_kids(601).values()) == new_kids


def test_keys_rotate_human_output_names_the_new_kids(cli: Invoke) -> None:
    """Without --json rotate prints each new kid and when it starts signing."""
    result = cli("keys", "rotate")
    assert result.exit_code == 0, result.output
    listed = json.loads(cli("keys", "list", "--json").stdout)
    for key in listed:
        if key["state"] == "published":
            assert key["kid"] in result.stdout
    assert result.stdout.count("signs from") == 2


def test_keys_list_human_output_shows_states(cli: Invoke) -> None:
    """The table shows each key's state."""
    cli("keys", "rotate")
    result = cli("keys", "list")
    assert result.exit_code == 0
    assert "active" in result.stdout and "published" in result.stdout
