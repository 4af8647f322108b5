"""Everything the provider's operations share, built once by the composition root (`web.app`)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from passportoffice.crypto.secretbox import derive_key
from passportoffice.protocol.secrets import keyed_hash
from passportoffice.provider.clients import ClientCache
from passportoffice.provider.keyring import KeyRing
from passportoffice.provider.passwords import PasswordChecker
from passportoffice.settings import Settings
from passportoffice.storage.interface import Storage

Clock = Callable[[], float]


@dataclass
class Provider:
    settings: Settings
    storage: Storage
    secret: bytes
    clock: Clock = time.time
    keyring: KeyRing = field(init=False)
    passwords: PasswordChecker = field(init=False)
    clients: ClientCache = field(init=False)
    _hash_key: bytes = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._hash_key = derive_key(self.secret, "passportoffice/keyed-hash")
        self.keyring = KeyRing(self.storage, derive_key(self.secret, "passportoffice/signing-keys"), self.settings)
        self.passwords = PasswordChecker(self.settings)
        self.clients = ClientCache(self.storage, self.clock, self.settings.client_cache_ttl)

    def now(self) -> int:
        # Floored, so iat/nbf are never in the future (K22).
        return math.floor(self.clock())

    def hash(self, value: str) -> str:
        """The keyed hash under which secrets, codes, refresh tokens and session ids are stored."""
        return keyed_hash(self._hash_key, value)

    def key_for(self, purpose: str) -> bytes:
        return derive_key(self.secret, "passportoffice/" + purpose)
