"""passportoffice: an OpenID Connect provider, a token guard for APIs, a browser SDK and a BFF."""

__version__ = "0.1.0"
