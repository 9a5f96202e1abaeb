"""model tokens per agent turn

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 15:10:00.000000
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel  # noqa: F401


revision: str = '0003'
down_revision: Union[str, None] = '0002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

COLUMNS = ('input_tokens', 'output_tokens', 'cache_read_tokens', 'cache_creation_tokens')


def upgrade() -> None:
    with op.batch_alter_table('agent_turn', schema=None) as batch_op:
        for name in COLUMNS:
            batch_op.add_column(sa.Column(name, sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('agent_turn', schema=None) as batch_op:
        for name in reversed(COLUMNS):
            batch_op.drop_column(name)
