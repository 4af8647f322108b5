"""Index refresh_tokens.replay_until, so the clean-up can drop sealed replay responses past their window.

Revision ID: 0005
Revises: 0001
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_refresh_tokens_replay_until", "refresh_tokens", ["replay_until"])


def downgrade() -> None:
    op.drop_index("ix_refresh_tokens_replay_until", table_name="refresh_tokens")
