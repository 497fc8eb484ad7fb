"""The tables of the run history (SQLAlchemy Core). Migrations in ``migrations/`` create them.

Times are integer microseconds since the Unix epoch (UTC), exact and the same on every backend.

- ``runs``: one row a run, with counters the batch insert keeps up to date (``last_sequence``,
  ``batches``, first/last time, last step) and ``compacted_through``, the sequence up to which the
  run's batches are folded into ``aggregates``.
- ``run_tags``: a run's tags, one row each, for filtering lists by ``key:value``.
- ``run_splits``: the splits a run has received batches for.
- ``batches``: one row a recorded batch: its identity (``batch_id``, ``sequence``), where it falls
  (split, step, time), its content fingerprint (for idempotent retries), the values it was answered
  with, and one serialized accumulator per loss of the run (``accumulators``).
- ``aggregates``: accumulators of many batches merged, per (run, kind, split, loss, key): ``kind``
  0 is by step (key = the step), 1, 2 and 3 by time bucket of a minute, an hour and a day (key = the
  bucket's start in seconds), with the batches' count, first/last time and step, and the scalars of
  the merged accumulator that a value needs.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
)

# Names for constraints and indexes, so that migrations can refer to them on every backend.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# SQLite's INTEGER PRIMARY KEY is its rowid only when declared INTEGER, not BIGINT.
Id = BigInteger().with_variant(Integer(), "sqlite")

runs = Table(
    "runs",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("name", String(128), nullable=False, unique=True),
    Column("losses", Text, nullable=False),  # JSON: the canonical loss specs, in order
    Column("description", Text, nullable=True),
    Column("created_at", BigInteger, nullable=False),
    Column("last_sequence", BigInteger, nullable=False, default=0),
    Column("batches", BigInteger, nullable=False, default=0),
    Column("first_time", BigInteger, nullable=True),
    Column("last_time", BigInteger, nullable=True),
    Column("last_step", BigInteger, nullable=True),
    Column("compacted_through", BigInteger, nullable=False, default=0),
    Column("alerts", Text, nullable=True),  # JSON: the run's alert rules
    Column("overview", Text, nullable=True),  # JSON: the overview of the compacted history
    sqlite_autoincrement=True,  # ids are never reused, so a deleted run's id names no other run
)

run_tags = Table(
    "run_tags",
    metadata,
    Column("run_id", Id, ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    Column("key", String(128), primary_key=True),
    Column("value", String(256), nullable=False),
    Index(None, "key", "value"),
)

run_splits = Table(
    "run_splits",
    metadata,
    Column("run_id", Id, ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    Column("split", String(64), primary_key=True),
)

batches = Table(
    "batches",
    metadata,
    Column("run_id", Id, ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    Column("sequence", BigInteger, primary_key=True),
    Column("batch_id", String(128), nullable=False),
    Column("split", String(64), nullable=False),
    Column("step", BigInteger, nullable=True),
    Column("time", BigInteger, nullable=False),
    Column("time_given", Boolean, nullable=False),
    Column("fingerprint", LargeBinary, nullable=False),
    Column("results", LargeBinary, nullable=False),  # JSON: the values the batch was answered with
    Column("accumulators", LargeBinary, nullable=False),
    UniqueConstraint("run_id", "batch_id"),
    Index(None, "run_id", "split", "step"),
    Index(None, "run_id", "time"),
)

aggregates = Table(
    "aggregates",
    metadata,
    Column("run_id", Id, ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    Column("kind", SmallInteger, primary_key=True),
    Column("split", String(64), primary_key=True),
    Column("loss", SmallInteger, primary_key=True),
    Column("key", BigInteger, primary_key=True),
    Column("batches", BigInteger, nullable=False),
    Column("first_time", BigInteger, nullable=False),
    Column("last_time", BigInteger, nullable=False),
    Column("first_step", BigInteger, nullable=True),
    Column("last_step", BigInteger, nullable=True),
    # The merged accumulator's scalars a value needs (NULL stands for NaN, which SQLite cannot keep),
    # so that a series of values is read without decoding sketches.
    Column("count", BigInteger, nullable=False),
    Column("weight_sum", Float, nullable=True),
    Column("total", Float, nullable=True),
    Column("nonfinite", BigInteger, nullable=False),
    Column("accumulator", LargeBinary, nullable=False),
    sqlite_with_rowid=False,  # rows kept in key order: a window's aggregates are read in sequence
)
