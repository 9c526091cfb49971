"""Signals billing sends so higher apps (alerts) can follow it without imports.

``subscriptions_changed(customer_ids=...)`` is sent inside the transaction that
changed subscriptions (created, items changed, period moved, status changed,
canceled), when their ``customer.subscription.*`` events are recorded.
Receivers run in that transaction, so what they write commits with the change.
"""

from django.dispatch import Signal

subscriptions_changed = Signal()
