"""Tally's own behaviour: real-time usage, billing, invoice documents, customer
pages, credits and webhooks."""

import os
from datetime import timedelta
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from config.settings.env import VAR_DIR, env_bool, env_list

# Real-time usage (alerts.services.realtime): a commit of meter events queues an
# evaluation this many seconds later, which covers every commit until it starts.
TALLY_USAGE_DEBOUNCE = float(os.environ.get("TALLY_USAGE_DEBOUNCE_SECONDS", "0.2"))
# How long a web process answers the check endpoint from a snapshot it read
# (alerts.services.snapshot_cache); a worker's rewrite shows after at most this.
TALLY_CHECK_CACHE_SECONDS = float(os.environ.get("TALLY_CHECK_CACHE_SECONDS", "0.5"))
# On PostgreSQL a listener thread per web process hears each committed snapshot
# change and drops the entry at once; while it is connected an entry lives up to
# this long instead (alerts.services.snapshot_listener). Off: the short TTL only.
TALLY_CHECK_CACHE_MAX_SECONDS = float(
    os.environ.get("TALLY_CHECK_CACHE_MAX_SECONDS", "30")
)
# Off under pytest unless a test turns it on: its connection would keep the test
# database from being dropped.
TALLY_CHECK_LISTEN = env_bool("TALLY_CHECK_LISTEN", "PYTEST_VERSION" not in os.environ)
# How long an evaluation waits for ingestion transactions still open (PostgreSQL)
# before leaving their events to the run their commit queues.
TALLY_USAGE_SETTLE_WAIT = float(os.environ.get("TALLY_USAGE_SETTLE_WAIT_SECONDS", "2"))

# Meter events partitioned by month of their timestamp (PostgreSQL only;
# metering.storage.partitions, docs/deploy.md): `migrate` converts the table when
# this is on, Beat makes the months ahead, and `meter_events_archive` may then
# archive whole months that no unbilled period touches. Off: one events table.
TALLY_METER_EVENT_PARTITIONS = env_bool("TALLY_METER_EVENT_PARTITIONS", False)

# Test clocks: how long an advance's worker may go silent (between two steps of
# the walk) before the advance is presumed lost and resumed by another worker.
TALLY_TEST_CLOCK_ADVANCE_LEASE = timedelta(
    seconds=int(os.environ.get("TALLY_TEST_CLOCK_LEASE_SECONDS", "300"))
)

# Billing behaviour.
TALLY_IDEMPOTENCY_TTL = timedelta(
    hours=int(os.environ.get("TALLY_IDEMPOTENCY_HOURS", "24"))
)
TALLY_API_VERSION = "2025-05-28.basil"
# How long a period's draft invoice waits for late usage before it finalizes.
TALLY_INVOICE_GRACE_PERIOD = timedelta(
    seconds=int(os.environ.get("TALLY_INVOICE_GRACE_PERIOD", "3600"))
)
# Email each finalized invoice to its customer (when the customer has an email).
TALLY_EMAIL_INVOICE_FINALIZED = env_bool("TALLY_EMAIL_INVOICE_FINALIZED", True)
# Where invoice taxes come from (billing.taxes.provider): the manual tax rates,
# or a class implementing TaxProvider (an automatic tax service).
TALLY_TAX_PROVIDER = os.environ.get(
    "TALLY_TAX_PROVIDER", "billing.taxes.provider.ManualTaxRates"
)
# Where the manual tax rates' taxes are rounded, as Stripe's invoice setting:
# "line_item" (each line's tax, then summed; Stripe's default) or "invoice" (the
# exact taxes summed per rate, rounded once). billing.taxes.calculate.
TALLY_TAX_ROUNDING = os.environ.get("TALLY_TAX_ROUNDING", "line_item")
if TALLY_TAX_ROUNDING not in ("line_item", "invoice"):
    raise ImproperlyConfigured(
        f"TALLY_TAX_ROUNDING must be line_item or invoice, not {TALLY_TAX_ROUNDING!r}."
    )

# Invoice documents (billing.documents): who issues the invoices, as printed on
# each PDF and hosted invoice page. TALLY_SELLER_ADDRESS separates lines with "|".
TALLY_SELLER = {
    "name": os.environ.get("TALLY_SELLER_NAME", "Tally Demo Inc."),
    "address": [
        line.strip()
        for line in os.environ.get(
            "TALLY_SELLER_ADDRESS", "1 Example Street|Springfield 12345|United States"
        ).split("|")
        if line.strip()
    ],
    "email": os.environ.get("TALLY_SELLER_EMAIL", "billing@tally.example"),
    "tax_id": os.environ.get("TALLY_SELLER_TAX_ID", ""),
    "payment_instructions": os.environ.get(
        "TALLY_SELLER_PAYMENT_INSTRUCTIONS",
        "Pay by bank transfer, quoting the invoice number as the reference.",
    ),
}
# Days after its due date (or its finalization, without one) that an invoice's
# public links keep answering; 0: for good (Stripe's links outlive the invoice).
TALLY_HOSTED_INVOICE_DAYS = int(os.environ.get("TALLY_HOSTED_INVOICE_DAYS", "0"))
# Rendered invoice PDFs are kept here (a cache: each renders the same again).
TALLY_DOCUMENTS_DIR = Path(os.environ.get("TALLY_DOCUMENTS_DIR", VAR_DIR / "documents"))
# Invoice numbers: "customer" (each customer's prefix and sequence, the default)
# or "account" (one sequence for all customers under TALLY_INVOICE_PREFIX, as
# Stripe's account-level numbering). Both are gap-free, per mode.
TALLY_INVOICE_NUMBERING = os.environ.get("TALLY_INVOICE_NUMBERING", "customer")
if TALLY_INVOICE_NUMBERING not in ("customer", "account"):
    raise ImproperlyConfigured("TALLY_INVOICE_NUMBERING is customer or account")
TALLY_INVOICE_PREFIX = os.environ.get("TALLY_INVOICE_PREFIX", "TALLY")

# Customer pages: how long a link (dashboard "Open customer page", API
# billing_portal.session) stays valid, in seconds; default 7 days.
TALLY_CUSTOMER_PAGE_TTL = int(os.environ.get("TALLY_CUSTOMER_PAGE_TTL", str(7 * 86400)))
# Scheme and host for links made outside a request (emails), e.g.
# "https://billing.example.com"; requests use their own host.
TALLY_PUBLIC_URL = os.environ.get("TALLY_PUBLIC_URL", "").rstrip("/")

# Credits: email a customer this long before a grant with credits left expires
# (credits.services.notices); 0 turns the notice off.
TALLY_GRANT_EXPIRY_NOTICE = timedelta(
    hours=int(os.environ.get("TALLY_GRANT_EXPIRY_NOTICE_HOURS", str(7 * 24)))
)

# Webhooks (core.webhooks). Hosts that endpoint URLs may point at, as in
# ALLOWED_HOSTS (".example.com" matches subdomains); empty allows any host.
TALLY_WEBHOOK_ALLOWED_HOSTS = env_list("TALLY_WEBHOOK_ALLOWED_HOSTS", "")
# Networks (CIDR) that endpoint URLs may reach although not public: loopback,
# private, link-local and reserved addresses are refused otherwise (SSRF).
# `make run` allows loopback ("127.0.0.0/8,::1/128") for a receiver on the machine.
TALLY_WEBHOOK_ALLOWED_NETWORKS = env_list("TALLY_WEBHOOK_ALLOWED_NETWORKS", "")
TALLY_WEBHOOK_MAX_ENDPOINTS = int(os.environ.get("TALLY_WEBHOOK_MAX_ENDPOINTS", "16"))
# Seconds to connect to a receiver, and to wait between bytes of its answer.
TALLY_WEBHOOK_CONNECT_TIMEOUT = float(
    os.environ.get("TALLY_WEBHOOK_CONNECT_TIMEOUT", "5")
)
TALLY_WEBHOOK_READ_TIMEOUT = float(os.environ.get("TALLY_WEBHOOK_READ_TIMEOUT", "15"))
# Send a healthy endpoint's events one at a time, in commit order (see
# core/webhooks/__init__.py); off sends them side by side, for throughput.
TALLY_WEBHOOK_ORDERED = env_bool("TALLY_WEBHOOK_ORDERED", True)
# Unordered: how many workers may send one endpoint's events at once (its lanes).
TALLY_WEBHOOK_LANES = int(os.environ.get("TALLY_WEBHOOK_LANES", "4"))
# First attempts a worker claims at a time from a lane, sent one after another.
TALLY_WEBHOOK_BATCH_SIZE = int(os.environ.get("TALLY_WEBHOOK_BATCH_SIZE", "50"))
# Retries stop this long after an event; an endpoint failing every attempt for
# this long is disabled (and staff are emailed).
TALLY_WEBHOOK_RETRY_FOR = timedelta(
    hours=int(os.environ.get("TALLY_WEBHOOK_RETRY_HOURS", "72"))
)
TALLY_WEBHOOK_DISABLE_AFTER = timedelta(
    hours=int(os.environ.get("TALLY_WEBHOOK_DISABLE_AFTER_HOURS", "72"))
)
