"""The signing keys in use: which key signs now, and the JWKS (RFC 7517 §5) that publishes them.

Rotation publishes a new key `key_activation_delay` seconds before it signs anything, and keeps a
retired key's public half published until every token it signed has expired.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from passportoffice.crypto.keys import (
    SUPPORTED_ALGORITHMS,
    PrivateKey,
    generate_key,
    open_private_key,
    seal_private_key,
)
from passportoffice.storage.records import SigningKey

if TYPE_CHECKING:
    from passportoffice.settings import Settings
    from passportoffice.storage.interface import KeyStore

# Instances reload the key set this often, well inside key_activation_delay, so each knows a new key
# before it becomes active anywhere.
RELOAD_INTERVAL = 30


@dataclass(frozen=True, slots=True)
class ActiveKey:
    kid: str
    alg: str
    private_key: PrivateKey
    public_key: Any


class NoSigningKey(Exception):
    """No key of the requested algorithm is active (run `passportoffice keys rotate`)."""


class KeyRing:
    def __init__(self, store: KeyStore, encryption_key: bytes, settings: Settings) -> None:
        self._store = store
        self._encryption_key = encryption_key
        self._settings = settings
        self._keys: list[SigningKey] = []
        self._opened: dict[str, ActiveKey] = {}
        self._loaded_at: int | None = None
        self._jwks: dict[str, Any] = {"keys": []}

    async def ensure_keys(self, now: int) -> None:
        """On first start, create one active key per algorithm (nothing has cached a JWKS yet)."""
        existing = {key.alg for key in await self._store.list_keys(now)}
        for alg in SUPPORTED_ALGORITHMS:
            if alg not in existing:
                await self._add(alg, created_at=now, active_from=now)
        await self.reload(now)

    async def rotate(self, now: int) -> list[str]:
        """Publish new keys now; they sign after the activation delay, when the old ones retire."""
        activation = now + self._settings.key_activation_delay
        current = [key.kid for key in await self._store.list_keys(now) if key.retired_at is None]
        new_kids = [await self._add(alg, created_at=now, active_from=activation) for alg in SUPPORTED_ALGORITHMS]
        longest_token = max(self._settings.access_token_ttl, self._settings.id_token_ttl)
        # Published until the last token the old key may sign (just before activation) has expired.
        await self._store.retire_keys(current, retired_at=activation, expires_at=activation + longest_token + 60)
        await self.reload(now)
        return new_kids

    async def _add(self, alg: str, *, created_at: int, active_from: int) -> str:
        generated = generate_key(alg)
        sealed = seal_private_key(generated.private_key, generated.kid, self._encryption_key)
        await self._store.add_key(
            SigningKey(
                kid=generated.kid,
                alg=alg,
                public_jwk=generated.public_jwk,
                private_key_encrypted=sealed,
                created_at=created_at,
                active_from=active_from,
            )
        )
        return generated.kid

    async def reload(self, now: int) -> None:
        self._keys = list(await self._store.list_keys(now))
        self._jwks = {"keys": [_public_member(key.public_jwk) for key in self._keys]}
        self._loaded_at = now

    async def refresh_if_stale(self, now: int) -> None:
        if self._loaded_at is None or now - self._loaded_at >= RELOAD_INTERVAL:
            await self.reload(now)

    def jwks(self) -> dict[str, Any]:
        return self._jwks

    def keys(self) -> list[SigningKey]:
        return list(self._keys)

    def signing_key(self, alg: str, now: int) -> ActiveKey:
        candidates = [
            key
            for key in self._keys
            if key.alg == alg and key.active_from <= now and (key.retired_at is None or now < key.retired_at)
        ]
        if not candidates:
            raise NoSigningKey(alg)
        return self._open(max(candidates, key=lambda key: key.active_from))

    def verification_key(self, kid: str) -> ActiveKey | None:
        """A published key by kid (for our own tokens coming back: userinfo, introspection, hints)."""
        for key in self._keys:
            if key.kid == kid:
                return self._open(key)
        return None

    def _open(self, key: SigningKey) -> ActiveKey:
        opened = self._opened.get(key.kid)
        if opened is None:
            private_key = open_private_key(key.private_key_encrypted, key.kid, self._encryption_key)
            opened = ActiveKey(key.kid, key.alg, private_key, private_key.public_key())
            self._opened[key.kid] = opened
        return opened


def _public_member(jwk: dict[str, object]) -> dict[str, object]:
    # Belt and braces: only public members ever leave, whatever was stored.
    allowed = {"kty", "kid", "alg", "use", "n", "e", "crv", "x", "y"}
    return {name: value for name, value in jwk.items() if name in allowed}
