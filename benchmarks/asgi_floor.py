"""The ASGI floor: one minimal JSON response from uvicorn + Starlette, run exactly as `passportoffice serve`.

Discovery and the JWK Set are small JSON documents the provider already holds: what they can cost at
least is what the web stack costs for any JSON response. This server is that stack and nothing else:
the same uvicorn configuration (`passportoffice.cli.servers.server`), the same event loop (started
the same way, by `passportoffice.cli.run`), the same logging set-up; one Starlette route, no middleware, no
database, no provider.

    python -m benchmarks.asgi_floor --port 8123      # GET /floor.json -> {"status": "ok"}
"""

from __future__ import annotations

import argparse
import sys

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from passportoffice.cli import run
from passportoffice.cli.servers import serve_together, server
from passportoffice.logs import configure_logging
from passportoffice.settings import Settings

PATH = "/floor.json"


async def minimal_json(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


def create_app() -> Starlette:
    return Starlette(routes=[Route(PATH, minimal_json, methods=["GET"])])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.asgi_floor", description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args(argv)
    defaults = Settings.model_fields  # the provider's logging defaults, so both log alike
    configure_logging(defaults["log_format"].default, defaults["log_level"].default)
    started = run(serve_together([server(create_app(), args.host, args.port)]))
    return 0 if started else 1


if __name__ == "__main__":
    sys.exit(main())
