"""sealed reasons of care cases (pay and decline)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03

New columns hold the reasons sealed with NUANJING_SECRET_KEY. A migration has no key, so the
reasons already stored stay in clear in adjust_reason / decline_reason: storage.care reads them
there until the bot's first start seals them into the new columns and empties the old ones
(storage.care.seal_plain_reasons). A later migration may drop the old columns.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("care_case", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("pay_reason_cipher", sa.Text(), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("decline_reason_cipher", sa.Text(), nullable=False, server_default="")
        )


def downgrade() -> None:
    # Sealed reasons cannot be opened without the key: going back loses them (the old columns
    # hold only what was never sealed).
    with op.batch_alter_table("care_case", schema=None) as batch_op:
        batch_op.drop_column("decline_reason_cipher")
        batch_op.drop_column("pay_reason_cipher")
