"""Clients in refresh-cookie mode: the refresh token travels only in an HttpOnly cookie (issue 4).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04

Existing clients keep their behaviour: the new column defaults to false for every row already there.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # batch_alter_table: SQLite cannot add a NOT NULL column in place with every server version.
    with op.batch_alter_table("clients") as batch:
        batch.add_column(sa.Column("refresh_cookie", sa.Boolean, nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("clients") as batch:
        batch.drop_column("refresh_cookie")
