"""Run history: runs, their tags and splits, batches with their accumulators, merged aggregates.

Revision ID: 0001
Revises:
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("losses", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("last_sequence", sa.BigInteger, nullable=False),
        sa.Column("batches", sa.BigInteger, nullable=False),
        sa.Column("first_time", sa.BigInteger, nullable=True),
        sa.Column("last_time", sa.BigInteger, nullable=True),
        sa.Column("last_step", sa.BigInteger, nullable=True),
        sa.Column("compacted_through", sa.BigInteger, nullable=False),
        sa.Column("alerts", sa.Text, nullable=True),
        sa.Column("overview", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_runs"),
        sa.UniqueConstraint("name", name="uq_runs_name"),
        sqlite_autoincrement=True,  # ids are never reused, so a deleted run's id names no other run
    )
    op.create_table(
        "run_tags",
        sa.Column("run_id", Id, nullable=False),
        sa.Column("key", sa.String(128), nullable=False),
        sa.Column("value", sa.String(256), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name="fk_run_tags_run_id_runs", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("run_id", "key", name="pk_run_tags"),
    )
    op.create_index("ix_run_tags_key_value", "run_tags", ["key", "value"])
    op.create_table(
        "run_splits",
        sa.Column("run_id", Id, nullable=False),
        sa.Column("split", sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name="fk_run_splits_run_id_runs", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("run_id", "split", name="pk_run_splits"),
    )
    op.create_table(
        "batches",
        sa.Column("run_id", Id, nullable=False),
        sa.Column("sequence", sa.BigInteger, nullable=False),
        sa.Column("batch_id", sa.String(128), nullable=False),
        sa.Column("split", sa.String(64), nullable=False),
        sa.Column("step", sa.BigInteger, nullable=True),
        sa.Column("time", sa.BigInteger, nullable=False),
        sa.Column("time_given", sa.Boolean, nullable=False),
        sa.Column("fingerprint", sa.LargeBinary, nullable=False),
        sa.Column("results", sa.LargeBinary, nullable=False),
        sa.Column("accumulators", sa.LargeBinary, nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name="fk_batches_run_id_runs", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("run_id", "sequence", name="pk_batches"),
        sa.UniqueConstraint("run_id", "batch_id", name="uq_batches_run_id_batch_id"),
    )
    op.create_index("ix_batches_run_id_split_step", "batches", ["run_id", "split", "step"])
    op.create_index("ix_batches_run_id_time", "batches", ["run_id", "time"])
    op.create_table(
        "aggregates",
        sa.Column("run_id", Id, nullable=False),
        sa.Column("kind", sa.SmallInteger, nullable=False),
        sa.Column("split", sa.String(64), nullable=False),
        sa.Column("loss", sa.SmallInteger, nullable=False),
        sa.Column("key", sa.BigInteger, nullable=False),
        sa.Column("batches", sa.BigInteger, nullable=False),
        sa.Column("first_time", sa.BigInteger, nullable=False),
        sa.Column("last_time", sa.BigInteger, nullable=False),
        sa.Column("first_step", sa.BigInteger, nullable=True),
        sa.Column("last_step", sa.BigInteger, nullable=True),
        sa.Column("count", sa.BigInteger, nullable=False),
        sa.Column("weight_sum", sa.Float, nullable=True),
        sa.Column("total", sa.Float, nullable=True),
        sa.Column("nonfinite", sa.BigInteger, nullable=False),
        sa.Column("accumulator", sa.LargeBinary, nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name="fk_aggregates_run_id_runs", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("run_id", "kind", "split", "loss", "key", name="pk_aggregates"),
        sqlite_with_rowid=False,  # rows kept in key order: a window's aggregates are read in sequence
    )


def downgrade() -> None:
    for table in ("aggregates", "batches", "run_splits", "run_tags", "runs"):
        op.drop_table(table)
