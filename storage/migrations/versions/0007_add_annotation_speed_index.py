"""add a covering index for the Quality page's first look at a project's volume and speed

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07

"""
from typing import Sequence, Union

from alembic import op


# revision identifiers, used by Alembic.
revision: str = '0007'
down_revision: Union[str, Sequence[str], None] = '0006'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

COLUMNS = ['project_id', 'completed_by_id', 'was_cancelled', 'ground_truth', 'lead_time_s', 'active_time_s',
           'created_at', 'task_id']


def upgrade() -> None:
    """Upgrade schema."""
    op.create_index('ix_annotations_volume_and_speed', 'annotations', COLUMNS, unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index('ix_annotations_volume_and_speed', table_name='annotations')
