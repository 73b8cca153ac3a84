"""a drive's announcement broadcast, stopped when the drive is cancelled or moved

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("blood_drive", schema=None) as batch_op:
        batch_op.add_column(sa.Column("announcement_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            "fk_blood_drive_announcement_id_broadcast",
            "broadcast",
            ["announcement_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("blood_drive", schema=None) as batch_op:
        batch_op.drop_constraint("fk_blood_drive_announcement_id_broadcast", type_="foreignkey")
        batch_op.drop_column("announcement_id")
