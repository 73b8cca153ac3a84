"""events, clubs, the send ledger, greeting texts and lunar birthdays

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("broadcast", schema=None) as batch_op:
        batch_op.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table("officer", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lunar_birth_month", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("lunar_birth_day", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("lunar_birth_leap", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.create_index(batch_op.f("ix_officer_birthday"), ["birthday"], unique=False)
        batch_op.create_index(
            "ix_officer_lunar_birth", ["lunar_birth_month", "lunar_birth_day"], unique=False
        )
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.add_column(sa.Column("text", sa.Text(), nullable=True))

    op.create_table(
        "send_ledger",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("occasion", sa.String(length=48), nullable=False),
        sa.Column("on_date", sa.Date(), nullable=False),
        sa.Column("officer_id", sa.Integer(), nullable=False),
        sa.Column("broadcast_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        # No foreign keys, for speed: see SendLedger in storage/models.py.
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("occasion", "on_date", "officer_id", name="uq_send_ledger_key"),
    )

    op.create_table(
        "greeting_text",
        sa.Column("occasion", sa.String(length=32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("welfare_note", sa.Text(), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("occasion"),
    )

    op.create_table(
        "event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=100), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("place", sa.String(length=100), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("signup_deadline", sa.DateTime(timezone=True), nullable=False),
        sa.Column("audience", sa.String(length=16), nullable=False),
        sa.Column("audience_value", sa.String(length=128), nullable=False),
        sa.Column("male_cap", sa.Integer(), nullable=True),
        sa.Column("female_cap", sa.Integer(), nullable=True),
        sa.Column("waitlist", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_event_starts_at"), ["starts_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_event_status"), ["status"], unique=False)

    op.create_table(
        "event_signup",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("officer_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("gender", sa.String(length=1), nullable=True),
        sa.Column("attended", sa.Boolean(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["event_id"], ["event.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["officer_id"], ["officer.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("event_id", "officer_id", name="uq_event_signup_event_officer"),
    )
    with op.batch_alter_table("event_signup", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_event_signup_officer_id"), ["officer_id"], unique=False
        )

    op.create_table(
        "club_membership",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("club", sa.String(length=64), nullable=False),
        sa.Column("officer_id", sa.Integer(), nullable=False),
        sa.Column("leader", sa.Boolean(), nullable=False),
        sa.Column("joined_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["officer_id"], ["officer.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("club", "officer_id", name="uq_club_membership"),
    )
    with op.batch_alter_table("club_membership", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_club_membership_club"), ["club"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("club_membership", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_club_membership_club"))
    op.drop_table("club_membership")
    with op.batch_alter_table("event_signup", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_event_signup_officer_id"))
    op.drop_table("event_signup")
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_event_status"))
        batch_op.drop_index(batch_op.f("ix_event_starts_at"))
    op.drop_table("event")
    op.drop_table("greeting_text")
    op.drop_table("send_ledger")
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.drop_column("text")
    with op.batch_alter_table("officer", schema=None) as batch_op:
        batch_op.drop_index("ix_officer_lunar_birth")
        batch_op.drop_index(batch_op.f("ix_officer_birthday"))
        batch_op.drop_column("lunar_birth_leap")
        batch_op.drop_column("lunar_birth_day")
        batch_op.drop_column("lunar_birth_month")
    with op.batch_alter_table("broadcast", schema=None) as batch_op:
        batch_op.drop_column("expires_at")
