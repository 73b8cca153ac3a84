"""data that stays right: a phone changed in chat, an officer's confirmed death, and the
organizers' copies of a binding request

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("officer") as batch_op:
        batch_op.add_column(
            sa.Column("phone_changed_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("deceased_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "binding_request_copy",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["request_id"], ["binding_request.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_binding_request_copy_request_id", "binding_request_copy", ["request_id"])


def downgrade() -> None:
    op.drop_index("ix_binding_request_copy_request_id", table_name="binding_request_copy")
    op.drop_table("binding_request_copy")
    with op.batch_alter_table("officer") as batch_op:
        batch_op.drop_column("deceased_at")
        batch_op.drop_column("phone_changed_at")
