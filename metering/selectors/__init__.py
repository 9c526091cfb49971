"""Reads of the metering app: usage per period, per customer, summaries, series.

Usage is served from the hourly rollups. Only the partial hours at the edges of a
period that is not hour-aligned (at most two hours, one customer or one meter) are
read from raw events, through the ``(customer, timestamp)`` index; a period
is never answered by scanning its raw events.

Every value is a ``Decimal`` whole number in the meter's unit, computed with the
meter's formula over events with timestamp in ``[start, end)`` (UTC), cancelled
events excluded and ``event_time_window`` honoured (see ``metering.usage``). Values
are raw: a sum may be negative; invoices bill ``usage.billable_quantity(value)``.
"""

from metering.selectors.grouped import grouped_usage
from metering.selectors.periods import (
    Customers,
    meter_usage_by_customer,
    meter_usage_for_customers,
    meter_usage_for_period,
    meter_usage_for_periods,
)
from metering.selectors.received import (
    customers_with_events_received,
    meter_events_latest,
    meter_usage_received_after,
)
from metering.selectors.summaries import (
    Summary,
    customer_usage_series,
    meter_event_summaries,
    meter_usage_series,
)

__all__ = [
    "Customers",
    "Summary",
    "customer_usage_series",
    "customers_with_events_received",
    "grouped_usage",
    "meter_event_summaries",
    "meter_events_latest",
    "meter_usage_by_customer",
    "meter_usage_for_customers",
    "meter_usage_for_period",
    "meter_usage_for_periods",
    "meter_usage_received_after",
    "meter_usage_series",
]
