"""The official stripe SDK: meters, v1 events, the v2 stream, cancels, summaries."""

from datetime import UTC, datetime, timedelta

import pytest


def _minute(moment: datetime) -> int:
    return int(moment.replace(second=0, microsecond=0).timestamp())


def _stream_client(stripe, token: str, live_server):
    return stripe.StripeClient(
        token,
        base_addresses={"api": live_server.url, "meter_events": live_server.url},
        max_network_retries=0,
    )


def test_meter_events_v1_v2_stream_cancel_and_summaries(
    stripe_sdk, stripe_client, live_server
):
    stripe = stripe_sdk
    customer = stripe.Customer.create(name="Jenny Rosen")
    meter = stripe.billing.Meter.create(
        display_name="Hypernian input tokens",
        event_name="hypernian_input_tokens",
        default_aggregation={"formula": "sum"},
    )
    assert isinstance(meter, stripe.billing.Meter)
    assert meter.status == "active"

    first = stripe.billing.MeterEvent.create(
        event_name="hypernian_input_tokens",
        payload={"stripe_customer_id": customer.id, "value": "100"},
        identifier="v1-a",
    )
    assert first.identifier == "v1-a"
    stripe.billing.MeterEvent.create(
        event_name="hypernian_input_tokens",
        payload={"stripe_customer_id": customer.id, "value": "40"},
        identifier="v1-b",
    )

    session = stripe_client.v2.billing.meter_event_session.create()
    assert session.object == "v2.billing.meter_event_session"
    streamer = _stream_client(stripe, session.authentication_token, live_server)
    streamer.v2.billing.meter_event_stream.create(
        {
            "events": [
                {
                    "event_name": "hypernian_input_tokens",
                    "identifier": f"stream-{index}",
                    "payload": {"stripe_customer_id": customer.id, "value": "5"},
                }
                for index in range(20)
            ]
        }
    )
    stripe_client.v2.billing.meter_events.create(
        {
            "event_name": "hypernian_input_tokens",
            "identifier": "v2-single",
            "payload": {"stripe_customer_id": customer.id, "value": "7"},
        }
    )

    adjustment = stripe.billing.MeterEventAdjustment.create(
        event_name="hypernian_input_tokens",
        type="cancel",
        cancel={"identifier": "v1-b"},
    )
    assert adjustment.cancel.identifier == "v1-b"
    v2_adjustment = stripe_client.v2.billing.meter_event_adjustments.create(
        {
            "event_name": "hypernian_input_tokens",
            "type": "cancel",
            "cancel": {"identifier": "stream-0"},
        }
    )
    assert v2_adjustment.status == "complete"

    now = datetime.now(UTC)
    summaries = stripe.billing.Meter.list_event_summaries(
        meter.id,
        customer=customer.id,
        start_time=_minute(now - timedelta(hours=1)),
        end_time=_minute(now + timedelta(minutes=2)),
    )
    assert [summary.aggregated_value for summary in summaries.data] == [
        100 + 19 * 5 + 7
    ]
    assert summaries.data[0].meter == meter.id

    assert stripe.billing.Meter.deactivate(meter.id).status == "inactive"
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe.billing.MeterEvent.create(
            event_name="hypernian_input_tokens",
            payload={"stripe_customer_id": customer.id, "value": "1"},
        )
    assert refused.value.code == "archived_meter"
    assert stripe.billing.Meter.reactivate(meter.id).status == "active"
    listed = stripe.billing.Meter.list(status="active")
    assert [item.id for item in listed.data] == [meter.id]


def test_sdk_sees_errors_with_param(stripe_sdk):
    stripe = stripe_sdk
    customer = stripe.Customer.create(name="Someone")
    stripe.billing.Meter.create(
        display_name="Calls",
        event_name="calls",
        default_aggregation={"formula": "count"},
    )
    stripe.billing.MeterEvent.create(
        event_name="calls",
        payload={"stripe_customer_id": customer.id, "value": "1"},
        identifier="dup",
    )
    with pytest.raises(stripe.InvalidRequestError) as duplicate:
        stripe.billing.MeterEvent.create(
            event_name="calls",
            payload={"stripe_customer_id": customer.id, "value": "1"},
            identifier="dup",
        )
    assert duplicate.value.code == "duplicate_meter_event"
    assert duplicate.value.param == "identifier"


def test_expired_stream_session_raises_the_sdk_error(stripe_sdk, live_server):
    stripe = stripe_sdk
    streamer = _stream_client(stripe, "mes_test_expired", live_server)
    with pytest.raises(stripe.TemporarySessionExpiredError):
        streamer.v2.billing.meter_event_stream.create(
            {"events": [{"event_name": "x", "payload": {"value": "1"}}]}
        )
