"""Importing the guard needs none of the provider's server stack; the public surface is deliberate."""

from __future__ import annotations

import json
import subprocess
import sys
from types import ModuleType

import passportoffice.guard as guard

# Not `rich` or `click`: httpx imports its optional command line when they happen to be installed (here
# they come with the provider's typer); an API that installs only the `guard` extra has neither.
SERVER_MODULES = {
    "starlette", "sqlalchemy", "uvicorn", "uvloop", "jinja2", "argon2", "typer", "alembic", "aiosqlite",
    "asyncpg", "pydantic", "pydantic_settings", "fastapi", "flask", "passportoffice.web", "passportoffice.provider",
    "passportoffice.storage", "passportoffice.settings", "passportoffice.cli",
}


def test_importing_the_guard_loads_no_server_dependency() -> None:
    """In a fresh interpreter, `import passportoffice.guard` loads none of the provider's server modules."""
    code = "import json, sys, passportoffice.guard; print(json.dumps(sorted(sys.modules)))"
    loaded = set(json.loads(subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                                           text=True).stdout))
    assert "passportoffice.guard" in loaded
    assert {name.split(".")[0] if not name.startswith("passportoffice.") else ".".join(name.split(".")[:2])
            for name in loaded} & SERVER_MODULES == set()


def test_all_matches_the_exports() -> None:
    """`__all__` lists exactly the public names the package defines."""
    public = {name for name, value in vars(guard).items()
              if not name.startswith("_") and not isinstance(value, ModuleType)}
    assert set(guard.__all__) == public
