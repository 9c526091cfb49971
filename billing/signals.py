"""Signals billing sends so higher apps (alerts) can follow it without imports.

``subscriptions_changed(customer_ids=...)`` is sent inside the transaction that
changed subscriptions (created, items changed, period moved, status changed,
canceled), when their ``customer.subscription.*`` events are recorded.
Receivers run in that transaction, so what they write commits with the change.
"""

from django.dispatch import Signal

subscriptions_changed = Signal()

invoices_finalized = Signal()
"""``invoices_finalized(invoice_ids=..., invoices=...)`` is sent inside the
transaction that finalized the invoices (still open ones only), after their events
are recorded, with the finalized rows themselves (subscriptions and customers
loaded), so receivers need not read them again; payments queues their collection
from it (at commit)."""

invoice_paid = Signal()
"""``invoice_paid(invoice=...)`` is sent inside the transaction that paid an open
invoice (a charge, a payment recorded, out of band), with the invoice locked;
payments grants a paid prepayment's credits from it."""
