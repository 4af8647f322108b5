"""What every SQL store shares: the database handle and row-to-record helpers."""

from __future__ import annotations

from typing import Any

from passportoffice.storage.database import Database


class SqlStore:
    db: Database


def as_tuple(value: Any) -> tuple[str, ...]:
    return tuple(value or ())
