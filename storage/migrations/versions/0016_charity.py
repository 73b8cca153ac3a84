"""charity: campaigns, pledges and payments

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def _when(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _campaign_key() -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["campaign_id"], ["charity_campaign.id"], ondelete="CASCADE")


def _officer_key() -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["officer_id"], ["officer.id"], ondelete="CASCADE")


def upgrade() -> None:
    # Amounts are whole yuan, never zero or negative.
    op.create_table(
        "charity_campaign",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("target", sa.Integer(), nullable=False),
        sa.Column("suggested", sa.String(length=64), nullable=False),
        sa.Column("audience", sa.String(length=16), nullable=False),
        sa.Column("audience_value", sa.String(length=128), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        _when("created_at"),
        _when("closed_at", nullable=True),
        sa.CheckConstraint("target > 0", name="ck_charity_campaign_target"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_charity_campaign_status", "charity_campaign", ["status"])
    op.create_table(
        "charity_pledge",
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("officer_id", sa.Integer(), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("daily", sa.Integer(), nullable=True),
        sa.Column("days", sa.Integer(), nullable=True),
        _when("pledged_at"),
        sa.CheckConstraint("amount > 0", name="ck_charity_pledge_amount"),
        sa.CheckConstraint(
            "(daily IS NULL AND days IS NULL) OR (daily > 0 AND days > 0)",
            name="ck_charity_pledge_daily",
        ),
        _campaign_key(),
        _officer_key(),
        sa.PrimaryKeyConstraint("campaign_id", "officer_id"),
    )
    op.create_table(
        "charity_payment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("officer_id", sa.Integer(), nullable=False),
        sa.Column("unit", sa.String(length=128), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("paid_on", sa.Date(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        _when("recorded_at"),
        sa.CheckConstraint("amount > 0", name="ck_charity_payment_amount"),
        _campaign_key(),
        _officer_key(),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_charity_payment_campaign", "charity_payment", ["campaign_id", "officer_id"])


def downgrade() -> None:
    op.drop_index("ix_charity_payment_campaign", table_name="charity_payment")
    op.drop_table("charity_payment")
    op.drop_table("charity_pledge")
    op.drop_index("ix_charity_campaign_status", table_name="charity_campaign")
    op.drop_table("charity_campaign")
