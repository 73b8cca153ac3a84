"""urgent blood appeals, and buttons on broadcasts

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("broadcast", schema=None) as batch_op:
        batch_op.add_column(sa.Column("buttons", sa.Text(), nullable=True))

    op.create_table(
        "blood_appeal",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("blood_group", sa.String(length=2), nullable=False),
        sa.Column("rh_negative", sa.Boolean(), nullable=False),
        sa.Column("component", sa.String(length=16), nullable=False),
        sa.Column("hospital", sa.String(length=100), nullable=False),
        sa.Column("address", sa.String(length=200), nullable=False),
        sa.Column("contact", sa.String(length=100), nullable=False),
        sa.Column("units_needed", sa.Integer(), nullable=False),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("broadcast_id", sa.Integer(), nullable=True),
        sa.Column("tally_chat_id", sa.BigInteger(), nullable=True),
        sa.Column("tally_message_id", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["broadcast_id"], ["broadcast.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("blood_appeal", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_blood_appeal_status"), ["status"], unique=False)

    op.create_table(
        "appeal_reply",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("appeal_id", sa.Integer(), nullable=False),
        sa.Column("officer_id", sa.Integer(), nullable=False),
        sa.Column("answer", sa.String(length=16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["appeal_id"], ["blood_appeal.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["officer_id"], ["officer.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("appeal_id", "officer_id", name="uq_appeal_reply_appeal_officer"),
    )


def downgrade() -> None:
    op.drop_table("appeal_reply")
    with op.batch_alter_table("blood_appeal", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_blood_appeal_status"))
    op.drop_table("blood_appeal")
    with op.batch_alter_table("broadcast", schema=None) as batch_op:
        batch_op.drop_column("buttons")
