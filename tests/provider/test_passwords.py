"""Password hashing defaults: argon2id with the OWASP parameters (m=19 MiB, t=2, p=1), unless configured."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from passportoffice.provider.passwords import PasswordChecker
from passportoffice.settings import Settings


@pytest.fixture
def default_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The defaults, unaffected by PASSPORTOFFICE_* variables around the test run."""
    for name in [name for name in os.environ if name.startswith("PASSPORTOFFICE_")]:
        monkeypatch.delenv(name)
    return Settings(data_dir=tmp_path)


def test_default_hash_is_argon2id_with_the_owasp_parameters(default_settings: Settings) -> None:
    """Without configuration a password is hashed with argon2id, 19456 KiB, 2 iterations, 1 lane."""
    password_hash = PasswordChecker(default_settings).hash("correct horse battery staple")
    assert password_hash.startswith("$argon2id$v=19$m=19456,t=2,p=1$")


@pytest.mark.anyio
async def test_a_hash_with_weaker_parameters_needs_a_rehash(default_settings: Settings) -> None:
    """A hash made with other parameters verifies, and is flagged for rehashing at the next sign-in."""
    weaker = PasswordChecker(Settings(data_dir=default_settings.data_dir, argon2_time_cost=1, argon2_memory_cost=64))
    old_hash = weaker.hash("pw")
    checker = PasswordChecker(default_settings)
    assert await checker.verify(old_hash, "pw")
    assert checker.needs_rehash(old_hash)
    assert not checker.needs_rehash(checker.hash("pw"))
