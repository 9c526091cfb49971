"""Collecting money: payment processors, retries and dunning, reminders."""

import os

# Collection (payments app, docs/payments.md): the processor of each mode, a dotted
# path to a class with the ``payments.processors.base.Processor`` methods.
TALLY_PAYMENT_PROCESSORS = {
    "test": os.environ.get(
        "TALLY_PAYMENT_PROCESSOR_TEST", "payments.processors.simulator.Simulator"
    ),
    "live": os.environ.get(
        "TALLY_PAYMENT_PROCESSOR_LIVE", "payments.processors.stripe.StripeProcessor"
    ),
}
# Live mode through Stripe: the secret key, and where its API answers (a local
# contract server in tests).
TALLY_STRIPE_SECRET_KEY = os.environ.get("TALLY_STRIPE_SECRET_KEY", "")
TALLY_STRIPE_API_BASE = os.environ.get(
    "TALLY_STRIPE_API_BASE", "https://api.stripe.com"
)
TALLY_STRIPE_WEBHOOK_SECRET = os.environ.get("TALLY_STRIPE_WEBHOOK_SECRET", "")
# Retries after a failed charge, in days from the first attempt (Stripe's Smart
# Retries as the model: four attempts over two weeks). The dashboard's "Retries and
# dunning" page overrides these.
TALLY_PAYMENT_RETRY_DAYS = [
    int(day)
    for day in os.environ.get("TALLY_PAYMENT_RETRY_DAYS", "3,7,14").split(",")
    if day.strip()
]
# When no retry is left: the subscription "past_due" (left), "unpaid" or "canceled";
# the invoice "open" (left) or "uncollectible".
TALLY_DUNNING_SUBSCRIPTION_END = os.environ.get(
    "TALLY_DUNNING_SUBSCRIPTION_END", "unpaid"
)
TALLY_DUNNING_INVOICE_END = os.environ.get("TALLY_DUNNING_INVOICE_END", "open")
# Reminders of send_invoice invoices, in days from the due date (-3: three days
# before; 7: a week overdue).
TALLY_INVOICE_REMINDER_DAYS = [
    int(day)
    for day in os.environ.get("TALLY_INVOICE_REMINDER_DAYS", "-3,0,7").split(",")
    if day.strip()
]
