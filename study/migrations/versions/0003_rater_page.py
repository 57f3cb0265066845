"""rater page: judgment.confidence_moved, rater.comprehension_failures

Revision ID: rater_page
Revises: rater_links
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "rater_page"
down_revision = "rater_links"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("judgment", schema=None) as batch_op:
        batch_op.add_column(sa.Column("confidence_moved", sa.Boolean(), nullable=True))
    with op.batch_alter_table("rater", schema=None) as batch_op:
        batch_op.add_column(sa.Column("comprehension_failures", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("rater", schema=None) as batch_op:
        batch_op.drop_column("comprehension_failures")
    with op.batch_alter_table("judgment", schema=None) as batch_op:
        batch_op.drop_column("confidence_moved")
