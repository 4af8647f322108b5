"""The demo `make run` starts: a relying party to sign in to, next to a provider with demo accounts.

Nothing here is part of the provider; it is an example of a client, small enough to read in one go.
"""

from passportoffice.demo.relying_party import create_relying_party, decode_unverified

__all__ = ["create_relying_party", "decode_unverified"]
