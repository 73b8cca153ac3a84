"""surveys: surveys, their questions, who has answered, and the answers (anonymous ones with
nothing that leads back to the officer)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def _when(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _survey_key() -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["survey_id"], ["survey.id"], ondelete="CASCADE")


def upgrade() -> None:
    op.create_table(
        "survey",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=100), nullable=False),
        sa.Column("audience", sa.String(length=16), nullable=False),
        sa.Column("audience_value", sa.String(length=128), nullable=False),
        _when("deadline"),
        sa.Column("anonymous", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        _when("created_at"),
        _when("closed_at", nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_survey_deadline", "survey", ["deadline"])
    op.create_index("ix_survey_status", "survey", ["status"])
    op.create_table(
        "survey_question",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("survey_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("prompt", sa.String(length=100), nullable=False),
        sa.Column("options", sa.Text(), nullable=False),
        sa.Column("low", sa.Integer(), nullable=True),
        sa.Column("high", sa.Integer(), nullable=True),
        _survey_key(),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("survey_id", "position", name="uq_survey_question_position"),
    )
    op.create_table(
        "survey_respondent",
        sa.Column("survey_id", sa.Integer(), nullable=False),
        sa.Column("officer_id", sa.Integer(), nullable=False),
        sa.Column("answered_on", sa.Date(), nullable=False),
        _survey_key(),
        sa.ForeignKeyConstraint(["officer_id"], ["officer.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("survey_id", "officer_id"),
    )
    # Random keys, no timestamp, and on SQLite no rowid: the answers keep no order of arrival.
    op.create_table(
        "survey_answer",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("survey_id", sa.Integer(), nullable=False),
        sa.Column("response_id", sa.String(length=32), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("choices", sa.String(length=64), nullable=False),
        sa.Column("number", sa.Integer(), nullable=True),
        sa.Column("text_cipher", sa.Text(), nullable=False),
        sa.Column("officer_id", sa.Integer(), nullable=True),
        _survey_key(),
        sa.ForeignKeyConstraint(["officer_id"], ["officer.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_survey_answer_survey", "survey_answer", ["survey_id", "position"])


def downgrade() -> None:
    op.drop_index("ix_survey_answer_survey", table_name="survey_answer")
    op.drop_table("survey_answer")
    op.drop_table("survey_respondent")
    op.drop_table("survey_question")
    op.drop_index("ix_survey_status", table_name="survey")
    op.drop_index("ix_survey_deadline", table_name="survey")
    op.drop_table("survey")
