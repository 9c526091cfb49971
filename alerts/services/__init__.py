"""Writes of the alerts app; the API, dashboard, Beat jobs and clocks call these.

- Usage alerts: ``alert_create``, ``alert_activate / _deactivate / _archive``;
  credit balance alerts: ``credit_balance_alert_create``.
- Evaluation: ``alerts_evaluate`` (fires ``alert_trigger`` once per customer);
  ``usage_changes_evaluate`` as usage arrives.
- Billing thresholds: ``billing_thresholds_evaluate`` (calls billing's
  ``subscription_invoice_threshold`` through ``subscription_threshold_invoice``).
- Test clocks: ``clock_next_due`` / ``clock_evaluate`` (the time handler).
"""

from alerts.services.alerts import (
    alert_activate,
    alert_archive,
    alert_create,
    alert_deactivate,
)
from alerts.services.clocks import clock_evaluate, clock_next_due
from alerts.services.credit_alerts import (
    credit_balance_alert_create,
    credit_balance_alerts_evaluate,
)
from alerts.services.evaluation import alerts_evaluate
from alerts.services.firing import alert_trigger
from alerts.services.realtime import usage_changes_evaluate
from alerts.services.thresholds import (
    billing_thresholds_evaluate,
    subscription_threshold_invoice,
    threshold_check,
)

__all__ = [
    "alert_activate",
    "alert_archive",
    "alert_create",
    "alert_deactivate",
    "alert_trigger",
    "alerts_evaluate",
    "billing_thresholds_evaluate",
    "clock_evaluate",
    "credit_balance_alert_create",
    "credit_balance_alerts_evaluate",
    "clock_next_due",
    "subscription_threshold_invoice",
    "threshold_check",
    "usage_changes_evaluate",
]
