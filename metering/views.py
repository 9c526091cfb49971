"""Dashboard pages of meters, served inside the Django admin.

New meter; the meter page (status with deactivate/reactivate, rename, a usage chart
per day or hour for one customer or all over a chosen period, the latest events with
"Cancel", and seed 001's "Send test event" form), with the chosen customer's usage
so far from the billing app (``core.dashboard.meter_usage``), which also draws the
customer page's usage panel: it knows the billing periods. Each page parses, calls
one service or selector, and renders; the admin class in ``metering.admin`` routes
here and checks permissions.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.admin.utils import quote
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.http import urlencode

from core import clock, dashboard
from core.admin_pages import admin_page
from core.errors import TallyError
from core.models import Customer
from metering import charts, selectors, services, totals
from metering.api.serializers import event_payload
from metering.forms import MeterForm, RenameForm, TestEventForm, UsageFilterForm
from metering.models import Meter, MeterEvent

LATEST_EVENTS = 25
# The page has two customer pickers (chart filter, test event): keep ids apart.
TEST_EVENT_PREFIX = "event"


def meter_url(meter: Meter, **query) -> str:
    # The admin quotes ids in its URLs ("_" becomes "_5F") and unquotes them back.
    url = reverse("admin:metering_meter_change", args=[quote(meter.pk)])
    return f"{url}?{urlencode(query)}" if query else url


def _service_error(form, error: TallyError) -> None:
    """Show a service refusal on the field it is about, else on the form."""
    fields = {
        "event_name": "event_name",
        "display_name": "display_name",
        "timestamp": "timestamp",
        "value_settings[event_payload_key]": "value_payload_key",
        "default_aggregation[unique_payload_key]": "unique_payload_key",
        "event_time_window": "event_time_window",
    }
    field = fields.get(error.param or "")
    if error.param and error.param.startswith("dimension_payload_keys"):
        field = "dimension_payload_keys"
    if error.param and error.param.startswith("payload["):
        field = "customer" if "customer" in form.fields else None
        if error.code in ("payload_invalid_value", "meter_event_value_too_many_digits"):
            field = "value"
    form.add_error(field if field in form.fields else None, error.message)


def meter_create(request, *, model_admin):
    """New meter: name, event name, aggregation, payload keys, optional window."""
    form = MeterForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            meter = services.meter_create(**form.meter_kwargs(), now=clock.now())
        except TallyError as error:
            _service_error(form, error)
        else:
            messages.success(request, f"Created meter {meter.display_name}.")
            return HttpResponseRedirect(meter_url(meter))
    return admin_page(
        request, model_admin, "metering/meter_create.html", "New meter", form=form
    )


def _chosen_customer(request) -> Customer | None:
    """The customer of ``?customer=``, with its test clock."""
    customer_id = request.GET.get("customer")
    if not customer_id:
        return None
    return Customer.objects.select_related("test_clock").filter(pk=customer_id).first()


def _chart(meter: Meter, request, customer: Customer | None):
    """The usage filter form and the chart it asks for.

    Days end at the chosen customer's today (its test clock's), so a clocked
    customer's usage is in the default range.
    """
    now = clock.now_for_customer(customer) if customer else clock.now()
    defaults = {
        **UsageFilterForm.initial_for(now.date()),
        "customer": request.GET.get("customer", ""),
    }
    form = UsageFilterForm(request.GET if "start" in request.GET else defaults)
    if not form.is_valid():
        return form, None
    start, end = form.period()
    granularity = form.cleaned_data["granularity"]
    customer = form.cleaned_data["customer"]
    if customer is None and totals.totals_kept_for(meter):
        series = totals.meter_totals_series(
            meter=meter, start=start, end=end, grouping_window=granularity
        )
    else:
        series = selectors.meter_usage_series(
            meter=meter,
            customer_id=customer.pk if customer else None,
            start=start,
            end=end,
            grouping_window=granularity,
        )
    return form, charts.bar_chart(series, hourly=granularity == "hour")


def _by_dimension(meter: Meter, request, filter_form) -> dict | None:
    """Usage of the chart's period per value of one dimension (``?group_by=``),
    with each row's share for the table's bars; None for meters without any."""
    if not meter.dimension_keys or not filter_form.is_valid():
        return None
    key = request.GET.get("group_by")
    if key not in meter.dimension_keys:
        key = meter.dimension_keys[0]
    start, end = filter_form.period()
    customer = filter_form.cleaned_data["customer"]
    rows = selectors.grouped_usage(
        meter=meter,
        customer_id=customer.pk if customer else None,
        start=start,
        end=end,
        grouping_window=None,
        group_by=[key],
        segment=None,
    )
    largest = max((abs(value) for *_, value in rows), default=0) or 1
    return {
        "key": key,
        "keys": meter.dimension_keys,
        "rows": [
            {
                "value": dimensions[key] or "(none)",
                "usage": value,
                "share": int(abs(value) * 100 / largest),
            }
            for _, _, dimensions, value in rows
        ],
    }


def _latest_events(meter: Meter, customer_id: str | None) -> list[dict]:
    return [
        {"event": event, "payload": event_payload(event)}
        for event in selectors.meter_events_latest(
            meter=meter, customer_id=customer_id, limit=LATEST_EVENTS
        )
    ]


def meter_detail(request, meter_id: str, *, model_admin, test_event_form=None):
    """The meter page."""
    meter = get_object_or_404(Meter, pk=meter_id)
    customer = _chosen_customer(request)
    filter_form, chart = _chart(meter, request, customer)
    customer_id = customer.pk if customer else None
    return admin_page(
        request,
        model_admin,
        "metering/meter_detail.html",
        meter.display_name,
        meter=meter,
        filter_form=filter_form,
        chart=chart,
        by_dimension=_by_dimension(meter, request, filter_form),
        shows_total=meter.formula in (Meter.Formula.SUM, Meter.Formula.COUNT)
        and meter.event_time_window is None,
        events=_latest_events(meter, customer_id),
        customer=customer,
        period_usage=customer
        and dashboard.meter_usage(
            meter=meter, customer=customer, now=clock.now_for_customer(customer)
        ),
        rename_form=RenameForm(initial={"display_name": meter.display_name}),
        test_event_form=test_event_form
        or TestEventForm(initial={"customer": customer_id}, prefix=TEST_EVENT_PREFIX),
        can_change=model_admin.has_change_permission(request),
    )


def meter_rename(request, meter_id: str, *, model_admin):
    meter = get_object_or_404(Meter, pk=meter_id)
    form = RenameForm(request.POST)
    if form.is_valid():
        services.meter_update(meter=meter, params=form.cleaned_data, now=clock.now())
        messages.success(request, "Renamed the meter.")
    else:
        messages.error(request, "The name must be 1–250 characters.")
    return HttpResponseRedirect(meter_url(meter))


def meter_deactivate(request, meter_id: str, *, model_admin):
    return _status_change(request, meter_id, services.meter_deactivate, "Deactivated")


def meter_reactivate(request, meter_id: str, *, model_admin):
    return _status_change(request, meter_id, services.meter_reactivate, "Reactivated")


def _status_change(request, meter_id: str, service, done: str):
    meter = get_object_or_404(Meter, pk=meter_id)
    try:
        meter = service(meter=meter, now=clock.now())
    except TallyError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"{done} {meter.display_name}.")
    return HttpResponseRedirect(meter_url(meter))


def meter_send_test_event(request, meter_id: str, *, model_admin):
    """Record one event through the same service as the API."""
    meter = get_object_or_404(Meter, pk=meter_id)
    form = TestEventForm(request.POST, prefix=TEST_EVENT_PREFIX)
    if form.is_valid():
        try:
            event = services.meter_event_create(
                **form.event_kwargs(meter), now=clock.now()
            )
        except TallyError as error:
            _service_error(form, error)
        else:
            messages.success(
                request,
                f"Recorded {event.value} for {form.cleaned_data['customer']} "
                f"at {event.timestamp:%Y-%m-%d %H:%M:%S} UTC.",
            )
            return HttpResponseRedirect(meter_url(meter))
    return meter_detail(
        request, meter_id, model_admin=model_admin, test_event_form=form
    )


def meter_event_cancel(request, meter_id: str, event_id: str, *, model_admin):
    """Cancel one event from the list: it stops counting."""
    meter = get_object_or_404(Meter, pk=meter_id)
    event = get_object_or_404(MeterEvent, pk=event_id, meter=meter)
    try:
        services.meter_event_cancel(
            event_name=event.event_name, identifier=event.identifier, now=clock.now()
        )
    except TallyError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"Cancelled event {event.identifier}.")
    return HttpResponseRedirect(meter_url(meter))
