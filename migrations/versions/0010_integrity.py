"""study integrity: provenance of critiques, the integrity check, exclusions (issue 21)

Revision ID: 0010
Revises: 0007
Create Date: 2026-11-25 23:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "task_provenance",
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("away_s", sa.Float(), nullable=False),
        sa.Column("departures", sa.Integer(), nullable=False),
        sa.Column("critiques", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["tasks.id"],
            name=op.f("fk_task_provenance_task_id_tasks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("task_id", name=op.f("pk_task_provenance")),
    )
    op.create_table(
        "task_integrity",
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("settings_key", sa.String(length=64), nullable=False),
        sa.Column("flags", sa.JSON(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("similarity", sa.JSON(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["tasks.id"],
            name=op.f("fk_task_integrity_task_id_tasks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("task_id", name=op.f("pk_task_integrity")),
    )
    op.create_table(
        "integrity_exclusions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("experiment_id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=True),
        sa.Column("labeler_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("excluded_by_id", sa.Integer(), nullable=False),
        sa.Column("lifted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lifted_by_id", sa.Integer(), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint(
            "(task_id IS NOT NULL AND labeler_id IS NULL)"
            " OR (task_id IS NULL AND labeler_id IS NOT NULL)",
            name=op.f("ck_integrity_exclusions_task_or_labeler"),
        ),
        sa.ForeignKeyConstraint(
            ["experiment_id"],
            ["experiments.id"],
            name=op.f("fk_integrity_exclusions_experiment_id_experiments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["tasks.id"],
            name=op.f("fk_integrity_exclusions_task_id_tasks"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["labeler_id"], ["users.id"], name=op.f("fk_integrity_exclusions_labeler_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["excluded_by_id"],
            ["users.id"],
            name=op.f("fk_integrity_exclusions_excluded_by_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["lifted_by_id"], ["users.id"], name=op.f("fk_integrity_exclusions_lifted_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_integrity_exclusions")),
    )
    op.create_index(
        "ix_integrity_exclusions_experiment_id",
        "integrity_exclusions",
        ["experiment_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_integrity_exclusions_experiment_id", table_name="integrity_exclusions")
    op.drop_table("integrity_exclusions")
    op.drop_table("task_integrity")
    op.drop_table("task_provenance")
