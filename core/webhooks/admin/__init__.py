"""Dashboard → Developers → Webhooks: endpoints, their deliveries, the email outbox.

Importing this package registers the three admins (``endpoints``, ``deliveries``,
``outbox``).
"""

from core.webhooks.admin.deliveries import (
    DELIVERY_BADGES,
    WebhookDeliveryAdmin,
)
from core.webhooks.admin.endpoints import (
    RECENT_DELIVERIES,
    ROLL_CHOICES,
    WebhookEndpointAdmin,
    WebhookEndpointForm,
    endpoint_health,
)
from core.webhooks.admin.outbox import (
    OutboundEmailAdmin,
)

__all__ = [
    "DELIVERY_BADGES",
    "WebhookDeliveryAdmin",
    "RECENT_DELIVERIES",
    "ROLL_CHOICES",
    "endpoint_health",
    "WebhookEndpointForm",
    "WebhookEndpointAdmin",
    "OutboundEmailAdmin",
]
