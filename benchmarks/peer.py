"""The peer: npm `oidc-provider` (OpenID Certified), started by benchmarks/peer/server.mjs under Node.js.

It gets the same clients as ours (ids, secret, audience, scopes), the same lifetimes, and seeds its own
refresh tokens through its own model API at start-up (server.mjs says how); it writes them as request
bodies into the run's directory before it starts listening.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.machine import find_tool
from benchmarks.seed import AUDIENCE, REDIRECT_URI, Seeded
from passportoffice.settings import Settings

PEER_DIR = Path(__file__).resolve().parent / "peer"
SCRIPT = PEER_DIR / "server.mjs"
PACKAGE = "oidc-provider"
# Seeding tens of thousands of tokens on one busy core takes a few seconds; a cold Node start one more.
READY_TIMEOUT = 120.0


@dataclass(frozen=True)
class PeerFiles:
    """Where one peer server writes the refresh requests it seeded."""

    config: Path
    refresh_bodies: Path
    refresh_check: Path


def files(workdir: Path, name: str) -> PeerFiles:
    return PeerFiles(
        config=workdir / f"{name}.json",
        refresh_bodies=workdir / f"{name}-refresh-tokens.txt",
        refresh_check=workdir / f"{name}-refresh-check.txt",
    )


def unavailable() -> str | None:
    """Why the peer cannot run here (no Node.js, packages not installed), or None."""
    if find_tool("node") is None:
        return "Node.js not found (apt-get install nodejs)"
    if not (PEER_DIR / "node_modules" / PACKAGE / "package.json").exists():
        return f"the peer's packages are not installed: (cd {PEER_DIR} && npm ci), which make bench does"
    return None


def versions() -> dict[str, str]:
    """Node.js and oidc-provider versions, for the record."""
    found: dict[str, str] = {}
    node = find_tool("node")
    if node is not None:
        try:
            done = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=10, check=False)  # noqa: S603
            found["node"] = done.stdout.strip().removeprefix("v")
        except (OSError, subprocess.TimeoutExpired):
            pass
    manifest = PEER_DIR / "node_modules" / PACKAGE / "package.json"
    if manifest.exists():
        found[PACKAGE] = str(json.loads(manifest.read_text())["version"])
    return found


def write_config(
    target: PeerFiles, *, port: int, issuer: str, alg: str, seeded: Seeded, settings: Settings, refresh_tokens: int
) -> None:
    config: dict[str, Any] = {
        "port": port,
        "issuer": issuer,
        "audience": AUDIENCE,
        "access_token_alg": alg,
        "service": {
            "client_id": seeded.service_client_id,
            "client_secret": seeded.service_secret,
            "scope": " ".join(seeded.service_scopes),
        },
        "app": {"client_id": seeded.app_client_id, "redirect_uri": REDIRECT_URI},
        "refresh_tokens": refresh_tokens,
        "refresh_bodies": str(target.refresh_bodies),
        "refresh_check": str(target.refresh_check),
        "ttl": {
            "access_token": settings.access_token_ttl,
            "id_token": settings.id_token_ttl,
            "authorization_code": settings.authorization_code_ttl,
            "refresh_token_idle": settings.refresh_token_idle_ttl,
            "refresh_token_absolute": settings.refresh_token_absolute_ttl,
            "session": settings.session_ttl,
            "authorization_request": settings.authorization_request_ttl,
        },
    }
    target.config.write_text(json.dumps(config, indent=2))
    target.config.chmod(0o600)  # it holds the client secret


def command(config: Path) -> list[str]:
    node = find_tool("node")
    if node is None:
        raise FileNotFoundError("node")
    return [node, str(SCRIPT), str(config)]


def environment(base: dict[str, str]) -> dict[str, str]:
    # Production mode, as a deployment would run it; nothing of ours leaks into the peer's environment.
    return {name: value for name, value in base.items() if not name.startswith("PASSPORTOFFICE_")} | {
        "NODE_ENV": "production"
    }

