"""rater.is_test: test raters made from the console or the CLI

Test raters (``oversight links STUDY --test``, the console's Links section) are
kept out of balancing, the monitor, the export and the analysis by default.

Revision ID: rater_links
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "rater_links"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("rater") as batch:
        batch.add_column(sa.Column("is_test", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("rater") as batch:
        batch.drop_column("is_test")
