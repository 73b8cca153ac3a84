"""nominations by quota: unit contacts, rounds, quotas, retreat batches, nominations,
objections, exclusion flags and the honours register

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def _when(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _officer_key() -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["officer_id"], ["officer.id"], ondelete="CASCADE")


def upgrade() -> None:
    op.create_table(
        "unit_contact",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("officer_id", sa.Integer(), nullable=False),
        sa.Column("unit", sa.String(length=128), nullable=False),
        sa.Column("granted_by", sa.String(length=64), nullable=False),
        _when("granted_at"),
        _officer_key(),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("officer_id", "unit", name="uq_unit_contact_officer_unit"),
    )
    op.create_index("ix_unit_contact_unit", "unit_contact", ["unit"])
    op.create_table(
        "nomination_round",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("programme", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("places", sa.Integer(), nullable=False),
        _when("opens_at"),
        _when("closes_at"),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("daily_allowance", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        _when("created_at"),
        _when("publicity_starts_at", nullable=True),
        _when("publicity_ends_at", nullable=True),
        _when("finalized_at", nullable=True),
        sa.Column("lottery_seed", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_nomination_round_status", "nomination_round", ["status"])
    op.create_table(
        "nomination_quota",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("unit", sa.String(length=128), nullable=False),
        sa.Column("places", sa.Integer(), nullable=False),
        sa.Column("officers", sa.Integer(), nullable=False),
        _when("drawn_at", nullable=True),
        sa.Column("drawn_by", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["round_id"], ["nomination_round.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("round_id", "unit", name="uq_nomination_quota_round_unit"),
    )
    op.create_table(
        "retreat_batch",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("place", sa.String(length=100), nullable=False),
        sa.Column("meeting_point", sa.String(length=200), nullable=False),
        sa.Column("places", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["round_id"], ["nomination_round.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_retreat_batch_round_id", "retreat_batch", ["round_id"])
    op.create_table(
        "nomination",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("officer_id", sa.Integer(), nullable=False),
        sa.Column("unit", sa.String(length=128), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("applied", sa.Boolean(), nullable=False),
        sa.Column("nominated_by", sa.String(length=64), nullable=False),
        sa.Column("reason_cipher", sa.Text(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=True),
        sa.Column("lottery_rank", sa.Integer(), nullable=True),
        sa.Column("decision_reason_cipher", sa.Text(), nullable=False),
        sa.Column("decided_by", sa.String(length=64), nullable=False),
        _when("decided_at", nullable=True),
        _when("created_at"),
        _when("updated_at"),
        sa.ForeignKeyConstraint(["round_id"], ["nomination_round.id"], ondelete="CASCADE"),
        _officer_key(),
        sa.ForeignKeyConstraint(["batch_id"], ["retreat_batch.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        # Nobody is nominated twice in one round, whatever two contacts press at once.
        sa.UniqueConstraint("round_id", "officer_id", name="uq_nomination_round_officer"),
    )
    op.create_index("ix_nomination_officer_id", "nomination", ["officer_id"])
    op.create_index("ix_nomination_round_unit_status", "nomination", ["round_id", "unit", "status"])
    op.create_table(
        "nomination_objection",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("nomination_id", sa.Integer(), nullable=False),
        sa.Column("objector_id", sa.Integer(), nullable=False),
        sa.Column("text_cipher", sa.Text(), nullable=False),
        _when("created_at"),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("decided_by", sa.String(length=64), nullable=False),
        _when("decided_at", nullable=True),
        sa.ForeignKeyConstraint(["nomination_id"], ["nomination.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["objector_id"], ["officer.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "nomination_id", "objector_id", name="uq_nomination_objection_nomination_objector"
        ),
    )
    op.create_index(
        "ix_nomination_objection_nomination_id", "nomination_objection", ["nomination_id"]
    )
    op.create_table(
        "honour_exclusion",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("officer_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=32), nullable=False),
        sa.Column("reason_cipher", sa.Text(), nullable=False),
        sa.Column("set_by", sa.String(length=64), nullable=False),
        _when("set_at"),
        _officer_key(),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("officer_id", "title", name="uq_honour_exclusion_officer_title"),
    )
    op.create_table(
        "honour_award",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("officer_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=32), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=True),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        _when("recorded_at"),
        _officer_key(),
        sa.ForeignKeyConstraint(["round_id"], ["nomination_round.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "officer_id", "title", "year", name="uq_honour_award_officer_title_year"
        ),
    )
    op.create_index("ix_honour_award_year", "honour_award", ["year"])


def downgrade() -> None:
    op.drop_index("ix_honour_award_year", table_name="honour_award")
    op.drop_table("honour_award")
    op.drop_table("honour_exclusion")
    op.drop_index("ix_nomination_objection_nomination_id", table_name="nomination_objection")
    op.drop_table("nomination_objection")
    op.drop_index("ix_nomination_round_unit_status", table_name="nomination")
    op.drop_index("ix_nomination_officer_id", table_name="nomination")
    op.drop_table("nomination")
    op.drop_index("ix_retreat_batch_round_id", table_name="retreat_batch")
    op.drop_table("retreat_batch")
    op.drop_table("nomination_quota")
    op.drop_index("ix_nomination_round_status", table_name="nomination_round")
    op.drop_table("nomination_round")
    op.drop_index("ix_unit_contact_unit", table_name="unit_contact")
    op.drop_table("unit_contact")
