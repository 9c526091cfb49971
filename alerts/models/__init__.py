"""The models of ``alerts``, by subdomain; Django finds them through these imports.

- ``alerts``: ``Alert`` and ``AlertTrigger`` (usage and credit balance alerts).
- ``progress``: ``UsageCounter``, ``UsageMark``, ``AlertCursor`` and
  ``ClockEvaluation`` (usage counted as it arrives, test clocks evaluated once
  per moment).
- ``thresholds``: ``ThresholdInvoice`` (billing-threshold invoices).
- ``entitlements``: ``ActiveEntitlement`` and ``CustomerAccess`` (what a customer may
  use now, as the check endpoint answers it).
- ``limits``: ``UsageLimit`` and ``UsageLimitCrossing`` (features cut for a period).
"""

from alerts.models.alerts import (
    MAX_ALERTS_PER_METER_AND_CUSTOMER,
    Alert,
    AlertTrigger,
)
from alerts.models.entitlements import ActiveEntitlement, CustomerAccess
from alerts.models.limits import UsageLimit, UsageLimitCrossing
from alerts.models.progress import (
    AlertCursor,
    ClockEvaluation,
    UsageCounter,
    UsageMark,
)
from alerts.models.thresholds import ThresholdInvoice

__all__ = [
    "MAX_ALERTS_PER_METER_AND_CUSTOMER",
    "ActiveEntitlement",
    "Alert",
    "AlertCursor",
    "AlertTrigger",
    "ClockEvaluation",
    "CustomerAccess",
    "ThresholdInvoice",
    "UsageCounter",
    "UsageLimit",
    "UsageLimitCrossing",
    "UsageMark",
]
