"""import uploads: an upload's bytes in the database, so that workers run imports

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNFINISHED = "('queued', 'validating', 'writing')"
# Before this revision an upload's file was on the disk of the app process that ran it; no
# worker can read it, so a run still unfinished now can never finish.
INTERRUPTED = (
    "interrupted by the upgrade to imports run by workers: the uploaded file was on the app "
    "process's disk, where no worker can read it. Nothing from it was stored; upload the file "
    "again to retry (a re-import stores only what is missing)."
)


def upgrade() -> None:
    op.create_table(
        "import_uploads",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["import_runs.id"],
            name=op.f("fk_import_uploads_run_id_import_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("run_id", name=op.f("pk_import_uploads")),
    )
    with op.batch_alter_table("import_runs", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False)
        )
    op.execute(
        sa.text(
            f"UPDATE import_runs SET status = 'failed', error = :error, "
            f"finished_at = CURRENT_TIMESTAMP WHERE status IN {UNFINISHED}"
        ).bindparams(error=INTERRUPTED)
    )
    op.execute(
        sa.text(
            "UPDATE jobs SET status = 'failed', locked_by = NULL, last_error = :error, "
            "finished_at = CURRENT_TIMESTAMP "
            "WHERE kind = 'corpus.import' AND status IN ('queued', 'running')"
        ).bindparams(error=INTERRUPTED)
    )


def downgrade() -> None:
    with op.batch_alter_table("import_runs", schema=None) as batch_op:
        batch_op.drop_column("attempts")
    op.drop_table("import_uploads")
