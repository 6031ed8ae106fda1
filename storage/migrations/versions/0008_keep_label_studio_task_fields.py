"""keep a Label Studio task's inner_id and file_upload

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0008'
down_revision: Union[str, Sequence[str], None] = '0007'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema.

    Plain ``ADD COLUMN`` (nullable, no default), not a batch operation: on SQLite a batch would copy the whole
    tasks table and drop its expression index (``ix_tasks_hand_out_queue``, which reflection cannot read back).
    """
    op.add_column('tasks', sa.Column('inner_id', sa.BigInteger(), nullable=True))
    op.add_column('tasks', sa.Column('file_upload', sa.String(length=500), nullable=True))


def downgrade() -> None:
    """Downgrade schema (plain ``DROP COLUMN``, SQLite 3.35 and later, for the reason given in :func:`upgrade`)."""
    op.drop_column('tasks', 'file_upload')
    op.drop_column('tasks', 'inner_id')
