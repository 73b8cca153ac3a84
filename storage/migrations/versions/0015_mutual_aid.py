"""medical mutual aid: schemes' enrolments and claims

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def _when(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _officer_key() -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["officer_id"], ["officer.id"], ondelete="CASCADE")


def upgrade() -> None:
    op.create_table(
        "mutual_aid_enrolment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("scheme", sa.String(length=16), nullable=False),
        sa.Column("officer_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column("reason_cipher", sa.Text(), nullable=False),
        sa.Column("changed_by", sa.String(length=64), nullable=False),
        _when("created_at"),
        _when("changed_at"),
        _officer_key(),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("year", "scheme", "officer_id", name="uq_mutual_aid_enrolment"),
    )
    op.create_index(
        "ix_mutual_aid_enrolment_officer", "mutual_aid_enrolment", ["officer_id", "year"]
    )
    op.create_table(
        "mutual_aid_claim",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("scheme", sa.String(length=16), nullable=False),
        sa.Column("officer_id", sa.Integer(), nullable=False),
        sa.Column("submitted_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("note_cipher", sa.Text(), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=True),
        sa.Column("reason_cipher", sa.Text(), nullable=False),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        _when("recorded_at"),
        sa.Column("decided_by", sa.String(length=64), nullable=False),
        _when("decided_at", nullable=True),
        _officer_key(),
        sa.PrimaryKeyConstraint("id"),
        # Whole yuan, never negative.
        sa.CheckConstraint("amount IS NULL OR amount >= 0", name="ck_mutual_aid_claim_amount"),
    )
    op.create_index("ix_mutual_aid_claim_year", "mutual_aid_claim", ["year", "scheme", "status"])


def downgrade() -> None:
    op.drop_index("ix_mutual_aid_claim_year", table_name="mutual_aid_claim")
    op.drop_table("mutual_aid_claim")
    op.drop_index("ix_mutual_aid_enrolment_officer", table_name="mutual_aid_enrolment")
    op.drop_table("mutual_aid_enrolment")
