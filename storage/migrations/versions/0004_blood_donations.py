"""blood donations

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "blood_donation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("officer_id", sa.Integer(), nullable=False),
        sa.Column("donated_on", sa.Date(), nullable=False),
        sa.Column("component", sa.String(length=16), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("drive_id", sa.Integer(), nullable=True),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["officer_id"], ["officer.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "officer_id",
            "donated_on",
            "component",
            name="uq_blood_donation_officer_day_component",
        ),
    )
    with op.batch_alter_table("blood_donation", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_blood_donation_donated_on"), ["donated_on"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("blood_donation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_blood_donation_donated_on"))

    op.drop_table("blood_donation")
