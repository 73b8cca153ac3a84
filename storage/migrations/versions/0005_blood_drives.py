"""blood drives

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "blood_drive",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("place", sa.String(length=100), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("blood_types_wanted", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("blood_drive", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_blood_drive_starts_at"), ["starts_at"], unique=False)

    op.create_table(
        "drive_signup",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("drive_id", sa.Integer(), nullable=False),
        sa.Column("officer_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["drive_id"], ["blood_drive.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["officer_id"], ["officer.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("drive_id", "officer_id", name="uq_drive_signup_drive_officer"),
    )


def downgrade() -> None:
    op.drop_table("drive_signup")
    with op.batch_alter_table("blood_drive", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_blood_drive_starts_at"))

    op.drop_table("blood_drive")
