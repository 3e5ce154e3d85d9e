"""tasks: a seeded random order key, and indexes so next-task and expiry read few rows

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 10:00:00.000000
"""

import random
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("order_key", sa.Integer(), server_default="0", nullable=False)
        )
    # Tasks of experiments launched before this revision get the keys launch now draws:
    # one per task from random.Random(seed), in the order launch created them (by id).
    conn = op.get_bind()
    tasks = sa.table("tasks", sa.column("id"), sa.column("order_key"))
    for exp_id, seed in conn.execute(sa.text("SELECT id, seed FROM experiments")).all():
        rng = random.Random(seed)
        ids = conn.execute(
            sa.text("SELECT id FROM tasks WHERE experiment_id = :e ORDER BY id"), {"e": exp_id}
        ).scalars()
        rows = [{"tid": tid, "key": rng.randrange(2**31)} for tid in ids]
        if rows:
            conn.execute(
                tasks.update()
                .where(tasks.c.id == sa.bindparam("tid"))
                .values(order_key=sa.bindparam("key")),
                rows,
            )
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.create_index(
            "ix_tasks_pending_order",
            ["condition_id", "order_key", "id"],
            unique=False,
            postgresql_where=sa.text("status = 'pending'"),
            sqlite_where=sa.text("status = 'pending'"),
        )
        batch_op.create_index(
            "ix_tasks_assigned_expires_at",
            ["expires_at"],
            unique=False,
            postgresql_where=sa.text("status = 'assigned'"),
            sqlite_where=sa.text("status = 'assigned'"),
        )


def downgrade() -> None:
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.drop_index("ix_tasks_assigned_expires_at")
        batch_op.drop_index("ix_tasks_pending_order")
        batch_op.drop_column("order_key")
