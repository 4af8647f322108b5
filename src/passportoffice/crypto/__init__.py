"""Key material: the instance secret, signing keys and JWS signing (PyJWT over `cryptography`)."""
