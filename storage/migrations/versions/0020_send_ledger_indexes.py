"""send ledger: indexes for a delivery's claim and an officer's year

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-02
"""

from __future__ import annotations

from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_send_ledger_broadcast_officer", "send_ledger", ["broadcast_id", "officer_id"]
    )
    op.create_index("ix_send_ledger_officer_date", "send_ledger", ["officer_id", "on_date"])


def downgrade() -> None:
    op.drop_index("ix_send_ledger_officer_date", table_name="send_ledger")
    op.drop_index("ix_send_ledger_broadcast_officer", table_name="send_ledger")
