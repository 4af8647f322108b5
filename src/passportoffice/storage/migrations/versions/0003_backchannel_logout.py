"""Back-channel logout: client metadata and the outbox of logout notifications.

Revision ID: 0003
Revises: 0005 (written on 0001; re-chained onto main's head when merging main)
Create Date: 2026-12-04

OpenID Connect Back-Channel Logout 1.0 §2.2 (client metadata) and §2.5 (the logout request, delivered
from the `logout_notifications` outbox by any instance sharing the database).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("clients") as batch:
        batch.add_column(sa.Column("backchannel_logout_uri", sa.String(2048)))
        # server_default fills the rows of clients registered before this revision.
        batch.add_column(
            sa.Column(
                "backchannel_logout_session_required", sa.Boolean, nullable=False, server_default=sa.false()
            )
        )
    op.create_table(
        "logout_notifications",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("client_id", sa.String(255), nullable=False),
        sa.Column("sid", sa.String(64)),
        sa.Column("sub", sa.String(64), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", sa.BigInteger, nullable=False),
        sa.Column("claimed_until", sa.BigInteger),
        sa.Column("expires_at", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_logout_notifications_next_attempt_at", "logout_notifications", ["next_attempt_at"])
    op.create_index("ix_logout_notifications_expires_at", "logout_notifications", ["expires_at"])


def downgrade() -> None:
    op.drop_table("logout_notifications")
    with op.batch_alter_table("clients") as batch:
        batch.drop_column("backchannel_logout_session_required")
        batch.drop_column("backchannel_logout_uri")
