"""Writes of the payments app.

- Payment methods: ``payment_method_create / _attach / _detach / _update``.
- Collection: ``invoice_payment_attempt`` (one charge, idempotent per number),
  ``invoice_pay`` (``POST /v1/invoices/{id}/pay`` and the customer pages).
- Retries and dunning: ``invoices_collect_due`` (Beat and test clocks).
- ``payment_refund`` (credit notes' refunds call it).
"""
