"""Webhooks: every event is POSTed, signed like Stripe, to the endpoints that want it.

How a delivery travels:

1. ``core.services.events`` runs our hook after the event's transaction commits
   (nothing is sent for a rolled-back transaction). The hook (``dispatch.
   events_fanout``) writes one ``WebhookDelivery`` per matching enabled endpoint —
   unique per (endpoint, event), so a second fan-out adds nothing — and starts
   the endpoint's lane if nobody is sending it (see "Lanes"). No HTTP happens in
   the request or job that recorded the event.
2. A worker (``sending.lane_send``) takes the lane's batch of deliveries, POSTs
   them one after another through urllib3 (keep-alive connections per worker
   process, a request's head and body in one write; connect/read timeouts from
   settings) and logs each attempt: status code, duration, the first 2 KB of the
   answer or the error. The batch's successes are one statement (the deliveries'
   UPDATE and the attempts' INSERT); the worker claims the lane's next batch
   itself, for up to ``sending.BATCH_BUDGET``: on PostgreSQL in that same
   statement, and, when it finds the lane empty, once more after the commit.
3. A failed attempt schedules the next one with exponential backoff (1 min, 5 min,
   30 min, 2 h, 5 h, then every 10 h) until three days after the event; then the
   delivery is ``failed``. Retries are not Celery countdowns: a Beat job
   (``dispatch.deliveries_dispatch_due``) picks deliveries whose ``next_attempt_at``
   has passed, in id order, a task each, so a restart loses nothing. The same job
   restarts a lane whose worker died (its lease expired).
4. An endpoint whose every attempt failed for ``TALLY_WEBHOOK_DISABLE_AFTER``
   (3 days) is disabled, its pending deliveries canceled, and staff get an email.

Lanes, per endpoint: while an endpoint is healthy its first attempts go in lanes.
With ``TALLY_WEBHOOK_ORDERED`` (the default) there is one lane, sent by one worker
at a time in delivery id order (the order the events' transactions committed): event
N+1 is not sent before N's first attempt has finished. Unordered endpoints get
``TALLY_WEBHOOK_LANES`` lanes (blocks of delivery ids taking turns) sent side by
side. While an endpoint is failing (``failing_since`` set) its first attempts run
side by side, a task each: its events are retried out of order anyway, and a dead
receiver must not build an ever-growing queue. Retries are never held back (as at
Stripe, one failing event must not block every later one for three days). The price
of the order is throughput per endpoint: one delivery per round trip to the receiver
(plus two database round trips per batch on PostgreSQL).
"""
