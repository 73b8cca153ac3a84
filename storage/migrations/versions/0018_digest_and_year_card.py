"""the monthly digest's and the year card's opt-outs on the officer

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # server_default: existing officers keep receiving both until they opt out in /me.
    with op.batch_alter_table("officer") as batch:
        batch.add_column(
            sa.Column("digest_opt_out", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(
            sa.Column("year_card_opt_out", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("officer") as batch:
        batch.drop_column("year_card_opt_out")
        batch.drop_column("digest_opt_out")
