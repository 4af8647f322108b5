"""Tokens verified before (RFC 9068 §4), by their exact string: a token seen again costs a dictionary look-up.

An entry is used only while its token is unexpired under the verifier's leeway (the same comparison
as the first verification), and only while its key is in the issuer's current key set: when a
refreshed JWK Set drops or replaces a key, every token it signed is forgotten (K20). Scopes are
still checked on every call, by the verifier. The cache is bounded; the oldest entry goes first.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

from passportoffice.guard.claims import VerifiedToken
from passportoffice.guard.keys import KeySet

Fingerprint = tuple[str, ...]
Entry = tuple[VerifiedToken, float, Fingerprint]  # the token, valid until, the key that verified it


class VerifiedTokenCache:
    def __init__(self, max_entries: int) -> None:
        if max_entries < 0:
            raise ValueError("cache_size cannot be negative")
        self._max_entries = max_entries
        self._entries: OrderedDict[str, Entry] = OrderedDict()
        #: The entry for a token, or None: the dictionary's own `get`, so a look-up costs no Python call.
        self.get: Callable[[str], Entry | None] = self._entries.get

    def put(self, token: str, verified: VerifiedToken, valid_until: float, fingerprint: Fingerprint) -> None:
        if self._max_entries == 0:
            return
        entries = self._entries
        entries[token] = (verified, valid_until, fingerprint)
        if len(entries) > self._max_entries:
            entries.popitem(last=False)

    def keep_keys_of(self, keys: KeySet) -> None:
        """Forget every token whose key is not in `keys` (called when a new JWK Set replaces the old)."""
        kept = keys.fingerprints
        for token, entry in list(self._entries.items()):
            if entry[2] not in kept:
                self._entries.pop(token, None)

    def __len__(self) -> int:
        return len(self._entries)
