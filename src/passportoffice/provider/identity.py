"""Who the user is: normalised usernames, password login with throttling, IdP sessions.

Login throttling counts an attempt before the password is checked, in the same statement that
enforces the limit, so parallel requests cannot race past it (K30); a success gives back only its own
attempt. Unknown users cost one argon2 verification like known ones (K29).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from passportoffice.protocol.secrets import new_token
from passportoffice.provider.context import Provider
from passportoffice.storage.records import Session, User


class LoginThrottled(Exception):
    """Too many failed attempts for this account or address in the current window."""


def username_key(username: str) -> str:
    """NFKC + casefold: look-alikes (KELVIN SIGN for k) find the same account (K38)."""
    return unicodedata.normalize("NFKC", username).casefold().strip()


async def authenticate(provider: Provider, username: str, password: str, address: str) -> User | None:
    settings = provider.settings
    now = provider.now()
    key = username_key(username)
    counters = (
        ("account:" + provider.hash(key), settings.login_max_failures_per_account),
        ("address:" + provider.hash(address), settings.login_max_failures_per_address),
    )
    reserved: list[str] = []
    for counter, limit in counters:
        if not await provider.storage.reserve_login_attempt(counter, limit, settings.login_throttle_window, now):
            # Never evaluated, so not a failure: give back what was reserved on the other counters, or a
            # throttled address could still push every account it names into lock-out.
            for taken in reserved:
                await provider.storage.release_login_attempt(taken)
            raise LoginThrottled
        reserved.append(counter)
    user = await provider.storage.find_user(key) if key else None
    usable = user is not None and not user.disabled and user.password_hash is not None
    password_hash = user.password_hash if usable and user is not None else None
    if not await provider.passwords.verify(password_hash, password):
        return None
    assert user is not None and user.password_hash is not None
    for counter in reserved:
        await provider.storage.release_login_attempt(counter)
    if provider.passwords.needs_rehash(user.password_hash):
        await provider.storage.set_password_hash(user.id, await provider.passwords.hash_async(password))
    return user


@dataclass(frozen=True, slots=True)
class NewSession:
    cookie_value: str
    session: Session


async def start_session(provider: Provider, user: User, amr: tuple[str, ...]) -> NewSession:
    """A fresh session id at every login: a pre-login id is never carried over (K32)."""
    now = provider.now()
    cookie_value = new_token()
    session = Session(
        id_hash=provider.hash(cookie_value),
        sid=new_token(16),
        user_id=user.id,
        auth_time=now,
        amr=amr,
        created_at=now,
        expires_at=now + provider.settings.session_ttl,
    )
    await provider.storage.add_session(session)
    return NewSession(cookie_value, session)


async def current_session(provider: Provider, cookie_value: str | None) -> Session | None:
    if not cookie_value or len(cookie_value) > 128:
        return None
    return await provider.storage.get_session(provider.hash(cookie_value), provider.now())
