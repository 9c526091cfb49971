"""``/v1`` endpoints of the core app: customers, test clocks, events."""

from __future__ import annotations

from django.db.models import Q
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from core import clock
from core.api import serializers as s
from core.api.base import StripeView, deleted, get_or_404
from core.api.pagination import filter_range
from core.models import Customer, Event, TestClock
from core.selectors import events_filter_delivery_success
from core.services import customers, test_clocks


def _customer(customer_id: str) -> Customer:
    return get_or_404(Customer.objects.filter(deleted=False), customer_id, "customer")


class CustomerListView(StripeView):
    @extend_schema(
        operation_id="ListCustomers",
        parameters=[s.CustomerListParams],
        responses=s.CustomerSerializer(many=True),
    )
    def get(self, request):
        params = self.parse(request, s.CustomerListParams)
        rows = Customer.objects.filter(deleted=False).select_related("test_clock")
        if "test_clock" in params:
            rows = rows.filter(test_clock_id=params["test_clock"])
        else:
            rows = rows.filter(test_clock__isnull=True)
        if "email" in params:
            rows = rows.filter(email=params["email"])
        rows = filter_range(rows, "created", params.get("created"))
        return self.render_list(request, rows, params, object_name="customer")

    @extend_schema(
        operation_id="CreateCustomer",
        request=s.CustomerCreateParams,
        responses=s.CustomerSerializer,
    )
    def post(self, request):
        params = self.parse(request, s.CustomerCreateParams)
        test_clock = None
        if "test_clock" in params:
            test_clock = get_or_404(
                TestClock.objects.all(),
                params.pop("test_clock"),
                "test_helpers.test_clock",
                param="test_clock",
            )
        customer = customers.customer_create(params=params, test_clock=test_clock)
        return self.render(customer, params)


class CustomerDetailView(StripeView):
    @extend_schema(
        operation_id="RetrieveCustomer",
        parameters=[s.ApiParams],
        responses=s.CustomerSerializer,
    )
    def get(self, request, customer_id):
        params = self.parse(request, s.ApiParams)
        customer = get_or_404(Customer.objects.all(), customer_id, "customer")
        return self.render(customer, params)

    @extend_schema(
        operation_id="UpdateCustomer",
        request=s.CustomerParams,
        responses=s.CustomerSerializer,
    )
    def post(self, request, customer_id):
        params = self.parse(request, s.CustomerParams)
        customer = customers.customer_update(
            customer=_customer(customer_id), params=params
        )
        return self.render(customer, params)

    @extend_schema(operation_id="DeleteCustomer", responses=s.CustomerSerializer)
    def delete(self, request, customer_id):
        self.parse(request, s.ApiParams)
        customer = customers.customer_delete(customer=_customer(customer_id))
        return Response(deleted(customer.id, "customer"))


class TestClockListView(StripeView):
    @extend_schema(
        operation_id="ListTestClocks",
        parameters=[s.ListParams],
        responses=s.TestClockSerializer(many=True),
    )
    def get(self, request):
        params = self.parse(request, s.ListParams)
        return self.render_list(
            request,
            TestClock.objects.all(),
            params,
            object_name="test_helpers.test_clock",
        )

    @extend_schema(
        operation_id="CreateTestClock",
        request=s.TestClockCreateParams,
        responses=s.TestClockSerializer,
    )
    def post(self, request):
        params = self.parse(request, s.TestClockCreateParams)
        test_clock = test_clocks.test_clock_create(
            frozen_time=params["frozen_time"],
            name=params.get("name", ""),
            now=clock.now(),
        )
        return self.render(test_clock, params)


def _test_clock(test_clock_id: str) -> TestClock:
    return get_or_404(TestClock.objects.all(), test_clock_id, "test_helpers.test_clock")


class TestClockDetailView(StripeView):
    @extend_schema(
        operation_id="RetrieveTestClock",
        parameters=[s.ApiParams],
        responses=s.TestClockSerializer,
    )
    def get(self, request, test_clock_id):
        params = self.parse(request, s.ApiParams)
        return self.render(_test_clock(test_clock_id), params)

    @extend_schema(operation_id="DeleteTestClock", responses=s.TestClockSerializer)
    def delete(self, request, test_clock_id):
        self.parse(request, s.ApiParams)
        test_clocks.test_clock_delete(test_clock=_test_clock(test_clock_id))
        return Response(deleted(test_clock_id, "test_helpers.test_clock"))


class TestClockAdvanceView(StripeView):
    @extend_schema(
        operation_id="AdvanceTestClock",
        request=s.TestClockAdvanceParams,
        responses=s.TestClockSerializer,
    )
    def post(self, request, test_clock_id):
        params = self.parse(request, s.TestClockAdvanceParams)
        test_clock = test_clocks.test_clock_advance(
            test_clock=_test_clock(test_clock_id), frozen_time=params["frozen_time"]
        )
        return self.render(test_clock, params)


class EventListView(StripeView):
    @extend_schema(
        operation_id="ListEvents",
        parameters=[s.EventListParams],
        responses=s.EventSerializer(many=True),
    )
    def get(self, request):
        params = self.parse(request, s.EventListParams)
        rows = Event.objects.all()
        if params.get("type"):
            rows = rows.filter(_type_filter(params["type"]))
        if params.get("types"):
            condition = Q()
            for event_type in params["types"]:
                condition |= _type_filter(event_type)
            rows = rows.filter(condition)
        rows = filter_range(rows, "created", params.get("created"))
        if "delivery_success" in params:
            rows = events_filter_delivery_success(
                rows, success=params["delivery_success"]
            )
        return self.render_list(request, rows, params, object_name="event")


def _type_filter(event_type: str) -> Q:
    """``invoice.*`` matches every invoice event; otherwise an exact type."""
    if event_type.endswith(".*"):
        return Q(type__startswith=event_type[:-1])
    return Q(type=event_type)


class EventDetailView(StripeView):
    @extend_schema(
        operation_id="RetrieveEvent",
        parameters=[s.ApiParams],
        responses=s.EventSerializer,
    )
    def get(self, request, event_id):
        params = self.parse(request, s.ApiParams)
        return self.render(get_or_404(Event.objects.all(), event_id, "event"), params)
