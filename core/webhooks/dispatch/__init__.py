"""Who sends what: fan-out after commit, lanes and leases, the Beat jobs.

Who sends a delivery is decided by leases (conditional updates), not by holding
locks: a delivery is sent only by the worker whose token it carries.

First attempts of a healthy endpoint travel in *lanes*: one lane per endpoint when
its events are ordered, ``TALLY_WEBHOOK_LANES`` (blocks of delivery ids taking
turns) when they are not. A lane is sent by at most one worker at a time, a batch at
a time: a claim leases the lane's next ``TALLY_WEBHOOK_BATCH_SIZE`` first attempts
in id order, but only while the lane's oldest one (its head) is free, that is while
nobody is sending the lane. The worker sends the batch in order, then claims the
lane's next batch itself, until the lane is empty. Hand-overs lose no wake-up
because each side writes (and commits) before it reads: fan-out commits the new
delivery, then looks at the head; the worker commits its last attempt, then claims
again.

Retries, and first attempts of a failing endpoint, are leased one by one and sent
side by side, a task each.

Row locks only serialise writes: a lane claim (on PostgreSQL one statement) locks
the lane's head delivery; a transaction that updates an endpoint's failure streak
locks the endpoint row first, then deliveries.

The parts: ``lanes`` (leases, lanes, claims), ``fanout`` (an event's deliveries and
their first attempts) and ``jobs`` (the Beat jobs, disabling and cancelling).
"""

from core.webhooks.dispatch.fanout import (
    dispatch_first_attempts,
    event_fanout,
    events_fanout,
)
from core.webhooks.dispatch.jobs import (
    RECONCILE_SETTLE,
    cancel,
    deliveries_dispatch_due,
    endpoint_disable,
    fanout_reconcile,
)
from core.webhooks.dispatch.lanes import (
    DUE_BATCH,
    ENABLED,
    LANE_BLOCK,
    LEASE,
    PENDING,
    claim,
    endpoint_lanes,
    enqueue_lane,
    lane_claim,
    lane_of,
    next_claim_ctes,
    release,
)

__all__ = [
    "PENDING",
    "ENABLED",
    "LEASE",
    "LANE_BLOCK",
    "endpoint_lanes",
    "lane_of",
    "enqueue_lane",
    "claim",
    "lane_claim",
    "next_claim_ctes",
    "release",
    "event_fanout",
    "events_fanout",
    "dispatch_first_attempts",
    "DUE_BATCH",
    "RECONCILE_SETTLE",
    "endpoint_disable",
    "cancel",
    "deliveries_dispatch_due",
    "fanout_reconcile",
]
