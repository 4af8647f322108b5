"""The command line's side of back-channel logout: registering the URI, and admin actions that end
sessions (`users disable`, `users logout`) queuing logout notifications."""

from __future__ import annotations

import json

import pytest

from passportoffice.protocol.secrets import new_token
from passportoffice.provider.context import Provider
from passportoffice.storage.records import Grant, LogoutNotification, Session
from tests.cli.conftest import Invoke, assert_one_line_error, stored

REDIRECT = "https://app.example/callback"


def test_backchannel_logout_uri_is_stored(cli: Invoke) -> None:
    """`--backchannel-logout-uri` and `--backchannel-logout-session-required` are stored and listed."""
    result = cli(
        "clients", "add", "bff", "--redirect-uri", REDIRECT,
        "--backchannel-logout-uri", "https://app.example/bff/backchannel-logout?x=1",
        "--backchannel-logout-session-required", "--json",
    )
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert printed["backchannel_logout_uri"] == "https://app.example/bff/backchannel-logout?x=1"
    assert printed["backchannel_logout_session_required"] is True

    async def read(provider: Provider) -> tuple[str | None, bool]:
        client = await provider.storage.get_client("bff")
        assert client is not None
        return client.backchannel_logout_uri, client.backchannel_logout_session_required

    assert stored(read) == ("https://app.example/bff/backchannel-logout?x=1", True)


def test_localhost_http_backchannel_logout_uri_is_allowed(cli: Invoke) -> None:
    result = cli("clients", "add", "dev", "--redirect-uri", REDIRECT,
                 "--backchannel-logout-uri", "http://localhost:9003/bff/backchannel-logout")
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("https://app.example/logout#frag", "must not contain a fragment"),
        ("http://app.example/logout", "must use https (http only on localhost)"),
        ("/logout", "must be an absolute https URL"),
        ("ftp://app.example/logout", "must be an absolute https URL"),
        ("https://user@app.example/logout", "must not contain userinfo"),
        ("https://app.example:99999/logout", "malformed host or port"),
    ],
)
def test_cli_refuses_bad_backchannel_logout_uri(cli: Invoke, uri: str, message: str) -> None:
    """Back-Channel Logout 1.0 §2.2: absolute, https (http on localhost only), no fragment."""
    result = cli("clients", "add", "bad", "--redirect-uri", REDIRECT, "--backchannel-logout-uri", uri)
    assert assert_one_line_error(result, 2) == f"--backchannel-logout-uri {uri!r}: {message}"


def test_session_required_needs_a_uri(cli: Invoke) -> None:
    result = cli("clients", "add", "bad", "--redirect-uri", REDIRECT, "--backchannel-logout-session-required")
    assert assert_one_line_error(result, 2) == "--backchannel-logout-session-required needs --backchannel-logout-uri"


def _session_with_grant(cli: Invoke) -> tuple[str, str]:
    assert cli("users", "add", "alice", "--password-stdin", input="pw-alice-123\n").exit_code == 0
    assert cli("clients", "add", "bff", "--redirect-uri", REDIRECT,
               "--backchannel-logout-uri", "https://app.example/bff/backchannel-logout").exit_code == 0

    async def seed(provider: Provider) -> tuple[str, str]:
        user = await provider.storage.find_user("alice")
        assert user is not None
        now, sid = provider.now(), new_token(16)
        await provider.storage.add_session(
            Session(id_hash=new_token(16), sid=sid, user_id=user.id, auth_time=now, amr=("pwd",),
                    created_at=now, expires_at=now + 3600)
        )
        await provider.storage.add_grant(
            Grant(id=new_token(16), client_id="bff", user_id=user.id, sid=sid, scope="openid", audience=(),
                  offline=False, auth_time=now, amr=("pwd",), created_at=now, expires_at=now + 3600),
            None,
        )
        return user.id, sid

    return stored(seed)


async def _due(provider: Provider) -> list[LogoutNotification]:
    return list(await provider.storage.due_logout_notifications(provider.now() + 1, 10))


@pytest.mark.parametrize("command", ["disable", "logout"])
def test_k33_admin_session_end_queues_a_logout_notification(cli: Invoke, command: str) -> None:
    """K33: `users disable` and `users logout` end the user's sessions; the client is queued a logout
    for that session (sent by the running server's delivery task)."""
    user_id, sid = _session_with_grant(cli)
    result = cli("users", command, "alice")
    assert result.exit_code == 0, result.output
    due = stored(_due)
    assert [(n.client_id, n.sid, n.sub, n.attempts) for n in due] == [("bff", sid, user_id, 0)]
    assert stored(lambda provider: provider.storage.get_session_by_sid(sid)).ended_at is not None  # type: ignore[union-attr]


def test_users_logout_of_an_unknown_user_fails(cli: Invoke) -> None:
    assert assert_one_line_error(cli("users", "logout", "nobody"), 1) == "no user 'nobody'"
