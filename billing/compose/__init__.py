"""Invoice composition: one pipeline for every invoice and every usage figure.

The steps, in the order Stripe applies them, one module each:

1. ``collect``: every read, in bulk, before the first step (one query per kind
   of data for a whole chunk of subscriptions): subscription items, period
   usage, late usage, pending invoice items, usage already billed on threshold
   invoices of the period.
2. ``rate``: lines priced by the pure engine (``catalog.pricing``), each
   rounded once to minor units.
3. ``discount``: coupons on discountable lines (identity until coupons exist).
4. ``commitment``: a true-up line when the period's usage after discounts falls
   short of a minimum-spend commitment (identity without one; nothing is read
   for subscriptions without commitments).
5. ``credits``: billing credit grants pay metered lines, after discounts and
   before tax (Stripe's pretax credit amounts); a prepaid commitment is drawn
   down here, as a paid grant.
6. ``tax``: tax rates on what discounts and credits leave, per line (identity
   until tax rates exist).
7. ``balance``: the customer's balance moves ``amount_due``, never ``total``.
8. ``totals``: subtotal, total and amount due as exact sums of rounded terms.

Then ``billing.services.persist`` writes the draft (bulk inserts) and
``billing.services.finalize`` freezes it: usage re-rated with the usage known
then, credits posted to the ledger by the same allocation, the balance taken,
a number given. Steps 3-8 are pure functions from an ``InvoiceDraft`` to an
``InvoiceDraft`` (``pipeline.compose``). Previews, period close, thresholds,
cancellations, prorations, one-off invoices and the usage shown on staff and
customer pages all go through these modules.
"""
