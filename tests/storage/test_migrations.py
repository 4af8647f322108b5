"""Tests for passportoffice.storage.migrate and the migration scripts it runs."""

from __future__ import annotations

from importlib.resources import files
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from passportoffice.storage import migrate
from passportoffice.storage.database import Database
from passportoffice.storage.sql import SqlStorage
from passportoffice.storage.tables import clients, metadata, users

pytestmark = pytest.mark.anyio


def migrate_head() -> str:
    return "0005"


def _schema_diff(connection: sa.Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, metadata))


async def _read(url: str, statement: sa.Executable) -> list[Any]:
    database = Database(url)
    try:
        async with database.read() as connection:
            return list((await connection.execute(statement)).all())
    finally:
        await database.close()


async def test_upgrade_yields_exactly_the_schema_in_tables(empty_database_url: str) -> None:
    """Upgrading an empty database to head produces `tables.metadata`, with no difference at all."""
    await migrate.upgrade(empty_database_url)

    database = Database(empty_database_url)
    try:
        async with database.read() as connection:
            diff = await connection.run_sync(_schema_diff)
    finally:
        await database.close()
    assert diff == []


async def test_pending_is_true_before_upgrade_and_false_after(empty_database_url: str) -> None:
    """`pending` and `current_revision` report an empty database as unmigrated, then as at head."""
    assert await migrate.pending(empty_database_url) is True
    assert await migrate.current_revision(empty_database_url) is None

    await migrate.upgrade(empty_database_url)

    assert await migrate.pending(empty_database_url) is False
    assert await migrate.current_revision(empty_database_url) == migrate_head()


async def test_upgrade_twice_is_a_no_op(empty_database_url: str) -> None:
    """A second upgrade keeps the revision and the data already there."""
    await migrate.upgrade(empty_database_url)
    database = Database(empty_database_url)
    try:
        async with database.write() as connection:
            await connection.execute(
                users.insert().values(
                    id="u1",
                    username="alice",
                    username_key="alice",
                    email_verified=False,
                    disabled=False,
                    created_at=1,
                )
            )
    finally:
        await database.close()

    await migrate.upgrade(empty_database_url)

    assert await migrate.current_revision(empty_database_url) == migrate_head()
    assert await _read(empty_database_url, sa.select(users.c.id)) == [("u1",)]


async def test_asking_about_a_missing_sqlite_file_does_not_create_it(tmp_path: Any) -> None:
    """`pending` and `current_revision` on a SQLite file that does not exist leave the disk untouched."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'absent' / 'po.db'}"

    assert await migrate.pending(url) is True
    assert await migrate.current_revision(url) is None
    assert not (tmp_path / "absent").exists()


def test_migration_scripts_ship_inside_the_package() -> None:
    """The environment, the template and the revisions are package resources, so a wheel can migrate."""
    scripts = files("passportoffice.storage") / "migrations"

    assert (scripts / "env.py").is_file()
    assert (scripts / "script.py.mako").is_file()
    assert (scripts / "versions" / "0001_initial.py").is_file()
    assert (scripts / "versions" / "0002_refresh_cookie.py").is_file()
    assert (scripts / "versions" / "0005_cleanup_indexes.py").is_file()


async def _run_alembic(url: str, action: str, revision: str) -> None:
    database = Database(url)
    try:
        async with database.write() as connection:
            await connection.run_sync(lambda sync: getattr(command, action)(migrate._config(sync), revision))
    finally:
        await database.close()


async def test_0002_keeps_existing_clients_out_of_refresh_cookie_mode(empty_database_url: str) -> None:
    """A client registered before 0002 reads back with refresh_cookie false; 0002 also downgrades cleanly."""
    await migrate.upgrade(empty_database_url)
    await _run_alembic(empty_database_url, "downgrade", "0001")
    assert await migrate.current_revision(empty_database_url) == "0001"
    database = Database(empty_database_url)
    try:
        async with database.write() as connection:
            await connection.execute(
                sa.text(
                    "INSERT INTO clients (client_id, token_endpoint_auth_method, redirect_uris, "
                    "post_logout_redirect_uris, grant_types, scopes, origins, first_party, "
                    "id_token_signed_response_alg, created_at) VALUES ('old', 'none', '[]', '[]', "
                    "'[\"authorization_code\"]', '[\"openid\"]', '[]', false, 'RS256', 1)"
                )
            )
    finally:
        await database.close()

    await migrate.upgrade(empty_database_url)

    assert await migrate.current_revision(empty_database_url) == migrate_head()
    storage = SqlStorage(Database(empty_database_url))
    try:
        client = await storage.get_client("old")
    finally:
        await storage.close()
    assert client is not None and client.refresh_cookie is False
    assert await _read(empty_database_url, sa.select(clients.c.refresh_cookie)) == [(False,)]
