"""Core objects: API keys, idempotency records, test clocks, customers, events.

Django finds the models through these imports. The parts: ``base``
(``StripeObject``), ``api`` (keys, idempotency), ``customers`` (with test clocks
and portal sessions), ``events`` (with webhook endpoints and deliveries) and
``emails`` (the outbox).
"""

from core.models.api import (
    ApiKey,
    IdempotencyKey,
)
from core.models.balance import (
    CustomerBalanceTransaction,
)
from core.models.base import (
    StripeObject,
)
from core.models.customers import (
    MAX_INVOICE_SEQUENCE,
    Customer,
    PortalSession,
    TestClock,
)
from core.models.emails import (
    OutboundEmail,
)
from core.models.events import (
    AuditEntry,
    Event,
    WebhookDelivery,
    WebhookDeliveryAttempt,
    WebhookEndpoint,
)

__all__ = [
    "StripeObject",
    "ApiKey",
    "IdempotencyKey",
    "TestClock",
    "MAX_INVOICE_SEQUENCE",
    "Customer",
    "CustomerBalanceTransaction",
    "PortalSession",
    "AuditEntry",
    "Event",
    "WebhookEndpoint",
    "WebhookDelivery",
    "WebhookDeliveryAttempt",
    "OutboundEmail",
]
