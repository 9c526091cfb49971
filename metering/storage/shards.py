"""Rollup shards: concurrent writers of one hour each update their own row."""

# At most this many rows per rollup hour. A transaction writes shard k, the first
# k in [0, ROLLUP_SHARDS) whose advisory lock (transaction-scoped, in the space
# SHARD_LOCKS) no other transaction holds: up to that many concurrent writers never
# touch the same row, and without concurrency every row is shard 0.
ROLLUP_SHARDS = 8
SHARD_LOCKS = 0x6D747273  # "mtrs"
SHARD = (
    f"(SELECT coalesce((SELECT k FROM generate_series(0, {ROLLUP_SHARDS - 1}) AS k"
    f" WHERE pg_try_advisory_xact_lock({SHARD_LOCKS}, k) LIMIT 1),"
    f" floor(random() * {ROLLUP_SHARDS})::int))"
)
