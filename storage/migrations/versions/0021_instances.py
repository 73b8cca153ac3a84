"""several instances: who received or handled an update, a user's waiting updates, longer
lease names

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("update_inbox", sa.Column("owner", sa.String(length=160), nullable=True))
    op.create_index("ix_update_inbox_user_update", "update_inbox", ["user_id", "update_id"])
    if op.get_bind().dialect.name == "postgresql":
        # Instances hold a lease each, named after their holder (SQLite keeps any length).
        op.alter_column("lease", "name", type_=sa.String(length=160))


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("lease", "name", type_=sa.String(length=32))
    op.drop_index("ix_update_inbox_user_update", table_name="update_inbox")
    with op.batch_alter_table("update_inbox") as batch:
        batch.drop_column("owner")
