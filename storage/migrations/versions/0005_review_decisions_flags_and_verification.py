"""review decisions (accept the consensus, return to the author), labelers' flags, verification sampling

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0005'
down_revision: Union[str, Sequence[str], None] = '0004'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

OLD_VERDICTS = "verdict IN ('accepted', 'rejected', 'fixed')"
NEW_VERDICTS = "verdict IN ('accepted', 'rejected', 'fixed', 'consensus', 'returned')"


# SQLite's batch copy reflects the table; resolving its foreign keys would reflect ``tasks`` too, whose expression
# index ix_tasks_hand_out_queue SQLAlchemy cannot reflect (an SAWarning on every fresh database). The copy needs
# only the referred tables' names, not their reflection.
NO_FK_REFLECTION = {"resolve_fks": False}


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('reviews', schema=None, reflect_kwargs=NO_FK_REFLECTION) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_reviews_known_verdict'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_reviews_known_verdict'), NEW_VERDICTS)
        batch_op.add_column(sa.Column('seen_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('time_s', sa.Float(), nullable=True))
    with op.batch_alter_table('annotations', schema=None, reflect_kwargs=NO_FK_REFLECTION) as batch_op:
        batch_op.add_column(sa.Column('flagged', sa.Boolean(), server_default=sa.text('false'), nullable=False))
        batch_op.add_column(sa.Column('flag_note', sa.Text(), nullable=True))
    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.add_column(sa.Column('verify_rate', sa.Float(), server_default=sa.text('0'), nullable=False))
        batch_op.add_column(sa.Column('anonymize_reviews', sa.Boolean(), server_default=sa.text('false'),
                                      nullable=False))
    # Not in a batch: SQLite's batch copy would lose the expression index ix_tasks_hand_out_queue.
    op.add_column('tasks', sa.Column('review_reason', sa.String(length=20), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    if op.get_bind().dialect.name == "sqlite":  # SQLite >= 3.35 drops a plain column in place
        op.execute("ALTER TABLE tasks DROP COLUMN review_reason")
    else:
        op.drop_column('tasks', 'review_reason')
    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.drop_column('anonymize_reviews')
        batch_op.drop_column('verify_rate')
    with op.batch_alter_table('annotations', schema=None) as batch_op:
        batch_op.drop_column('flag_note')
        batch_op.drop_column('flagged')
    with op.batch_alter_table('reviews', schema=None) as batch_op:
        batch_op.drop_column('time_s')
        batch_op.drop_column('seen_at')
        batch_op.drop_constraint(batch_op.f('ck_reviews_known_verdict'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_reviews_known_verdict'), OLD_VERDICTS)
