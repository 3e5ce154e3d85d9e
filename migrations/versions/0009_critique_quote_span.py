"""labeler critiques: the quoted span of the answer or passage a critique started from

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25 23:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

QUOTE_SPAN_CHECK = (
    "(quote_of IS NULL AND quote_start IS NULL AND quote_end IS NULL)"
    " OR (quote_of IN ('answer', 'passage') AND quote_start >= 0 AND quote_end > quote_start)"
)


def upgrade() -> None:
    with op.batch_alter_table("labeler_critiques", schema=None) as batch_op:
        batch_op.add_column(sa.Column("quote_of", sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column("quote_start", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("quote_end", sa.Integer(), nullable=True))
        batch_op.create_check_constraint(op.f("ck_labeler_critiques_quote_span"), QUOTE_SPAN_CHECK)


def downgrade() -> None:
    with op.batch_alter_table("labeler_critiques", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_labeler_critiques_quote_span"), type_="check")
        batch_op.drop_column("quote_end")
        batch_op.drop_column("quote_start")
        batch_op.drop_column("quote_of")
