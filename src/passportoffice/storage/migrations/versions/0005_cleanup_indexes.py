"""Indexes for the clean-up: sealed refresh replay responses past their window, login throttling counters
whose window is over.

Revision ID: 0005
Revises: 0002
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_refresh_tokens_replay_until", "refresh_tokens", ["replay_until"])
    op.create_index("ix_login_throttle_window_started", "login_throttle", ["window_started"])


def downgrade() -> None:
    op.drop_index("ix_login_throttle_window_started", table_name="login_throttle")
    op.drop_index("ix_refresh_tokens_replay_until", table_name="refresh_tokens")
