"""Webhooks: every event is POSTed, signed like Stripe, to the endpoints that want it.

How a delivery travels:

1. ``core.services.events`` runs our hook after the event's transaction commits
   (nothing is sent for a rolled-back transaction). The hook (``dispatch.
   event_fanout``) writes one ``WebhookDelivery`` per matching enabled endpoint —
   unique per (endpoint, event), so a second fan-out adds nothing — and leases and
   queues the ones that may start (one Celery task per delivery; see "Ordering").
   No HTTP happens in the request or job that recorded the event.
2. The task (``dispatch.delivery_attempt``) checks its lease, POSTs the event with
   ``requests`` (connect/read timeouts from settings) and logs the attempt: status
   code, duration, the first 2 KB of the answer or the error.
3. A failed attempt schedules the next one with exponential backoff (1 min, 5 min,
   30 min, 2 h, 5 h, then every 10 h) until three days after the event; then the
   delivery is ``failed``. Retries are not Celery countdowns: a Beat job
   (``dispatch.deliveries_dispatch_due``) picks deliveries whose ``next_attempt_at``
   has passed, in id order, so a restart loses nothing. The same job re-dispatches a
   delivery whose worker died (its lease expired).
4. An endpoint whose every attempt failed for ``TALLY_WEBHOOK_DISABLE_AFTER``
   (3 days) is disabled, its pending deliveries canceled, and staff get an email.

Ordering, per endpoint: while an endpoint is healthy its deliveries' first attempts
run one at a time in delivery id order (the order the events' transactions
committed): event N+1 is not sent while N still waits for, or is in, its first
attempt. The finish of one first attempt dispatches the next. While an endpoint is
failing (``failing_since`` set) first attempts run side by side instead: its events
are retried out of order anyway, and a dead receiver must not build an ever-growing
queue. Retries are never held back (as at Stripe, one failing event must not block
every later one for three days). The price of the order is throughput per endpoint:
one delivery per round trip (receiver time plus a few milliseconds of bookkeeping);
``TALLY_WEBHOOK_ORDERED=false`` sends every endpoint's events side by side instead.
"""
