"""add an annotator's pause and consensus weight to project memberships

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-10

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0006'
down_revision: Union[str, Sequence[str], None] = '0005'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

WEIGHT_IN_RANGE = "consensus_weight > 0 AND consensus_weight <= 1"


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.add_column(sa.Column('paused_at', sa.DateTime(), nullable=True))
        # The server default fills the existing rows: everybody counts fully until a manager says otherwise.
        batch_op.add_column(sa.Column('consensus_weight', sa.Float(), server_default=sa.text('1.0'), nullable=False))
        batch_op.create_check_constraint(batch_op.f('ck_memberships_consensus_weight_in_range'), WEIGHT_IN_RANGE)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_memberships_consensus_weight_in_range'), type_='check')
        batch_op.drop_column('consensus_weight')
        batch_op.drop_column('paused_at')
