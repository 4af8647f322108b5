"""The BFF's own endpoints, one module each: login, callback, user, logout, back-channel logout."""
