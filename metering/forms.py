"""Dashboard forms: new meter, rename, send a test event, usage chart filters."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from django import forms

from core.form_fields import CustomerField
from core.models import Customer
from metering.models import Meter

MAX_HOURLY_DAYS = 31
MAX_DAILY_DAYS = 366


class MeterForm(forms.Form):
    display_name = forms.CharField(max_length=250, help_text="Not shown to customers.")
    # Fixed once the meter exists: refuse spaces and punctuation that no sender
    # would type twice the same way.
    event_name = forms.RegexField(
        regex=r"^[A-Za-z0-9_.-]+$",
        max_length=100,
        help_text="Meter events with this name count on this meter: letters, digits,"
        " _ - and . only, e.g. api_requests. It cannot be changed later.",
        error_messages={
            "invalid": "Use only letters, digits, underscores (_), hyphens (-) and"
            " dots (.), with no spaces."
        },
    )
    formula = forms.ChoiceField(
        label="Aggregation",
        choices=[
            ("sum", "Sum of values"),
            ("count", "Count of events"),
            ("last", "Last value in the period"),
            ("max", "Largest value in the period"),
            ("unique_count", "Distinct values of a dimension (e.g. active users)"),
            ("time_weighted_sum", "Value × hours held (e.g. GB-hours)"),
        ],
    )
    dimension_payload_keys = forms.CharField(
        required=False,
        max_length=1100,
        label="Dimensions",
        help_text="Optional payload keys that split usage, comma-separated, e.g. "
        "model, region. Prices can bill one segment; fixed once created.",
    )
    unique_payload_key = forms.CharField(
        required=False,
        max_length=100,
        label="Counted dimension",
        help_text="For distinct values: the dimension whose values are counted.",
    )
    customer_payload_key = forms.CharField(
        max_length=100,
        initial="stripe_customer_id",
        label="Customer key",
        help_text="Payload key that holds the customer id.",
    )
    value_payload_key = forms.CharField(
        max_length=100,
        initial="value",
        label="Value key",
        help_text="Payload key that holds the usage value.",
    )
    event_time_window = forms.ChoiceField(
        required=False,
        label="Pre-aggregated per",
        choices=[("", "No window"), ("hour", "Hour"), ("day", "Day")],
        help_text="Only the last event received in each window counts.",
    )

    def meter_kwargs(self) -> dict:
        data = self.cleaned_data
        return {
            "display_name": data["display_name"],
            "event_name": data["event_name"],
            "formula": data["formula"],
            "customer_payload_key": data["customer_payload_key"],
            "value_payload_key": data["value_payload_key"],
            "event_time_window": data["event_time_window"] or None,
            "dimension_payload_keys": [
                key.strip()
                for key in data["dimension_payload_keys"].split(",")
                if key.strip()
            ],
            "unique_payload_key": data["unique_payload_key"] or None,
        }


class RenameForm(forms.Form):
    display_name = forms.CharField(
        max_length=250,
        widget=forms.TextInput(attrs={"aria-label": "New display name of the meter"}),
    )


class TestEventForm(forms.Form):
    """Seed 001's "Test-Zählerereignis senden": customer, value, optional time."""

    __test__ = False

    customer = CustomerField(
        queryset=Customer.objects.filter(deleted=False).order_by("name", "id"),
        help_text="Whose usage the event records.",
    )
    value = forms.IntegerField(help_text="A whole number; negative corrects usage.")
    timestamp = forms.DateTimeField(
        required=False,
        label="Time (UTC)",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"],
        help_text="Empty: now (the customer's test clock time, if any).",
    )

    dimensions = forms.CharField(
        required=False,
        max_length=1000,
        help_text="Optional dimension values, e.g. model=large, region=eu.",
    )

    def clean_timestamp(self):
        moment = self.cleaned_data.get("timestamp")
        return moment.astimezone(UTC) if moment else None

    def clean_dimensions(self) -> dict[str, str]:
        found = {}
        for part in self.cleaned_data["dimensions"].split(","):
            if not part.strip():
                continue
            key, sep, value = part.partition("=")
            if not sep or not key.strip():
                raise forms.ValidationError("Write each value as key=value.")
            found[key.strip()] = value.strip()
        return found

    def event_kwargs(self, meter: Meter) -> dict:
        data = self.cleaned_data
        return {
            "event_name": meter.event_name,
            "payload": {
                **data["dimensions"],
                meter.customer_payload_key: data["customer"].pk,
                meter.value_payload_key: str(data["value"]),
            },
            "timestamp": data["timestamp"],
        }


class UsageFilterForm(forms.Form):
    """Which usage the chart shows: a customer or all, a period, per day or hour."""

    customer = CustomerField(
        queryset=Customer.objects.order_by("name", "id"),
        required=False,
        empty_label="All customers",
    )
    start = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(
        widget=forms.DateInput(attrs={"type": "date"}), help_text="Inclusive."
    )
    granularity = forms.ChoiceField(choices=[("day", "Per day"), ("hour", "Per hour")])

    @classmethod
    def initial_for(cls, today) -> dict:
        return {
            "start": today - timedelta(days=29),
            "end": today,
            "granularity": "day",
        }

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end:
            if end < start:
                self.add_error("end", "The end is before the start.")
                return data
            days = (end - start).days + 1
            limit = (
                MAX_HOURLY_DAYS if data.get("granularity") == "hour" else MAX_DAILY_DAYS
            )
            if days > limit:
                self.add_error("end", f"Show at most {limit} days at this granularity.")
        return data

    def period(self) -> tuple[datetime, datetime]:
        """The chosen days as a half-open UTC range."""
        data = self.cleaned_data
        start = datetime.combine(data["start"], time(), tzinfo=UTC)
        end = datetime.combine(data["end"], time(), tzinfo=UTC) + timedelta(days=1)
        return start, end
