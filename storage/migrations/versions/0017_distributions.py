"""distributions: items, unit allocations and receipts

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def _when(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _distribution_key() -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["distribution_id"], ["distribution.id"], ondelete="CASCADE")


def upgrade() -> None:
    # Counted in items (份): never negative, and a distribution hands out at least one.
    op.create_table(
        "distribution",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item", sa.String(length=30), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("per_officer", sa.Integer(), nullable=False),
        sa.Column("audience", sa.String(length=16), nullable=False),
        sa.Column("audience_value", sa.String(length=128), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        _when("created_at"),
        _when("reminded_at", nullable=True),
        _when("closed_at", nullable=True),
        sa.CheckConstraint("quantity > 0 AND per_officer >= 0", name="ck_distribution_quantity"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_distribution_status", "distribution", ["status"])
    op.create_table(
        "distribution_unit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("distribution_id", sa.Integer(), nullable=False),
        sa.Column("unit", sa.String(length=128), nullable=False),
        sa.Column("allocated", sa.Integer(), nullable=False),
        sa.Column("received", sa.Integer(), nullable=True),
        sa.Column("confirmed_by", sa.String(length=64), nullable=False),
        _when("confirmed_at", nullable=True),
        _distribution_key(),
        sa.CheckConstraint(
            "allocated >= 0 AND (received IS NULL OR received >= 0)",
            name="ck_distribution_unit_counts",
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("distribution_id", "unit", name="uq_distribution_unit"),
    )
    op.create_table(
        "distribution_share",
        sa.Column("distribution_id", sa.Integer(), nullable=False),
        sa.Column("officer_id", sa.Integer(), nullable=False),
        sa.Column("unit", sa.String(length=128), nullable=False),
        _when("collected_at", nullable=True),
        _distribution_key(),
        sa.ForeignKeyConstraint(["officer_id"], ["officer.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("distribution_id", "officer_id"),
    )
    op.create_index("ix_distribution_share_unit", "distribution_share", ["distribution_id", "unit"])


def downgrade() -> None:
    op.drop_index("ix_distribution_share_unit", table_name="distribution_share")
    op.drop_table("distribution_share")
    op.drop_table("distribution_unit")
    op.drop_index("ix_distribution_status", table_name="distribution")
    op.drop_table("distribution")
