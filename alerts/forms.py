"""The dashboard's "Create alert" form: title, meter, threshold, optional customer."""

from __future__ import annotations

from typing import Any

from django import forms

from alerts.services.alerts import CUSTOMER_PARAM, GTE_PARAM, MAX_GTE, METER_PARAM
from core.errors import TallyError
from core.models import Customer
from metering.models import Meter

# Service ``param`` → the form field that shows the error.
_FIELD_OF_PARAM = {
    "title": "title",
    METER_PARAM: "meter",
    GTE_PARAM: "gte",
    CUSTOMER_PARAM: "customer",
}


class AlertForm(forms.Form):
    title = forms.CharField(
        max_length=256, help_text="Shown in the dashboard and in the emails."
    )
    meter = forms.ModelChoiceField(
        queryset=Meter.objects.filter(status=Meter.Status.ACTIVE).order_by(
            "display_name", "pk"
        ),
        help_text="The usage to watch.",
    )
    gte = forms.IntegerField(
        label="Threshold",
        min_value=1,
        max_value=MAX_GTE,
        help_text="Fires when the usage reported after the alert is created reaches "
        "this value (in the meter's unit).",
    )
    customer = forms.ModelChoiceField(
        queryset=Customer.objects.filter(deleted=False).order_by("name", "pk"),
        required=False,
        empty_label="All customers (each one individually)",
        help_text="Fires once per customer.",
    )

    def alert_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``alert_create`` (without ``now``)."""
        data = self.cleaned_data
        return {
            "title": data["title"],
            "meter_id": data["meter"].pk,
            "gte": data["gte"],
            "customer": data["customer"],
        }

    def add_service_error(self, error: TallyError) -> None:
        """Show a service's refusal next to the field its ``param`` names."""
        self.add_error(_FIELD_OF_PARAM.get(error.param or ""), error.message)
