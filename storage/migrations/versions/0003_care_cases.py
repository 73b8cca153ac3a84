"""care cases

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "care_case",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("officer_id", sa.Integer(), nullable=False),
        sa.Column("reporter_id", sa.Integer(), nullable=False),
        sa.Column("event", sa.String(length=24), nullable=False),
        sa.Column("event_date", sa.Date(), nullable=False),
        sa.Column("relation", sa.String(length=24), nullable=False),
        sa.Column("hospital", sa.String(length=100), nullable=False),
        sa.Column("ward_cipher", sa.Text(), nullable=False),
        sa.Column("note_cipher", sa.Text(), nullable=False),
        sa.Column("policy_amount", sa.Integer(), nullable=False),
        sa.Column("up_to", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("duplicate_of", sa.Integer(), nullable=True),
        sa.Column("paid_amount", sa.Integer(), nullable=True),
        sa.Column("adjust_reason", sa.String(length=200), nullable=False),
        sa.Column("decline_reason", sa.String(length=200), nullable=False),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("visited_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("visited_by", sa.String(length=64), nullable=False),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("paid_by", sa.String(length=64), nullable=False),
        sa.Column("declined_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("declined_by", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["duplicate_of"], ["care_case.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["officer_id"], ["officer.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["reporter_id"], ["officer.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("care_case", schema=None) as batch_op:
        batch_op.create_index("ix_care_case_officer_event", ["officer_id", "event"], unique=False)
        batch_op.create_index(batch_op.f("ix_care_case_reported_at"), ["reported_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_care_case_status"), ["status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("care_case", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_care_case_status"))
        batch_op.drop_index(batch_op.f("ix_care_case_reported_at"))
        batch_op.drop_index("ix_care_case_officer_event")

    op.drop_table("care_case")
