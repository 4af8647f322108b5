"""The demo `make run` starts next to the provider: a single-page app (spa/) on the browser SDK (js/).

Nothing here is part of the provider; the SPA is an example of a client, small enough to read in one go.
"""

from passportoffice.demo.spa_server import SpaConfig, create_spa

__all__ = ["SpaConfig", "create_spa"]
